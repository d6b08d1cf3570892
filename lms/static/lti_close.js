// LTI Dynamic Registration 1.0 §3.6: tell the portal that opened the registration (a window or an iframe)
// that it is finished, so it can close it and show the new tool.
(function () {
  const message = { subject: "org.imsglobal.lti.close" };
  const target = window.opener || (window.parent !== window ? window.parent : null);
  if (target) {
    target.postMessage(message, "*");
  }
})();
