// The LTI browser binding through the portal's storage (1EdTech "LTI Client Side postMessages"; the tool's side
// is lms/lti/binding.py). The login page stores its random value in the portal's frame (lti.put_data) before it
// goes on to the portal's sign-in; where the launch's cookie did not come back, the confirm page reads the value
// back (lti.get_data) and posts it to /lti/launch/confirm. Messages go to the portal's origin only, and only
// answers from that origin with our message_id count.
(function () {
  "use strict";
  const box = document.getElementById("lti-storage");
  if (!box) {
    return;
  }
  const data = box.dataset;
  const hub = window.opener || window.parent;

  function frameNamed(name) {
    if (name && name !== "_parent") {
      try {
        if (hub.frames[name]) {
          return hub.frames[name];
        }
      } catch (error) {
        // no frame by that name: the portal's window itself
      }
    }
    return hub;
  }

  function send(target, origin, message, waitMs) {
    return new Promise(function (resolve, reject) {
      const id = "giga-" + Array.from(crypto.getRandomValues(new Uint32Array(4))).join("-");
      const timer = setTimeout(function () {
        window.removeEventListener("message", onMessage);
        reject(new Error("timeout"));
      }, waitMs);
      function onMessage(event) {
        const answer = event.data;
        if (!answer || answer.message_id !== id || answer.subject !== message.subject + ".response") {
          return;
        }
        if (origin !== "*" && event.origin !== origin) {
          return;
        }
        clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        if (answer.error) {
          reject(answer.error);
        } else {
          resolve(answer);
        }
      }
      window.addEventListener("message", onMessage);
      target.postMessage(Object.assign({ message_id: id }, message), origin);
    });
  }

  // lti.capabilities may name the frame answering a message; else the login's lti_storage_target
  async function storageFrame(subject) {
    try {
      const capabilities = await send(hub, "*", { subject: "lti.capabilities" }, 1000);
      const listed = (capabilities.supported_messages || []).find(function (m) {
        return m && m.subject === subject;
      });
      if (listed && listed.frame) {
        return frameNamed(listed.frame);
      }
    } catch (error) {
      // a portal without lti.capabilities: lti_storage_target names the frame
    }
    return frameNamed(data.target);
  }

  async function put() {
    try {
      const frame = await storageFrame("lti.put_data");
      await send(frame, data.platformOrigin, { subject: "lti.put_data", key: data.key, value: data.value }, 2000);
    } catch (error) {
      // the cookie may still carry the binding
    }
    window.location.replace(data.next);
  }

  async function get() {
    const form = document.getElementById("lti-confirm");
    let value = "";
    try {
      const frame = await storageFrame("lti.get_data");
      const answer = await send(frame, data.platformOrigin, { subject: "lti.get_data", key: data.key }, 2000);
      value = typeof answer.value === "string" ? answer.value : "";
    } catch (error) {
      // nothing stored: the server refuses with a page saying what to do
    }
    form.elements.namedItem("value").value = value;
    form.submit();
  }

  if (data.mode === "put") {
    put();
  } else {
    get();
  }
})();
