/* The QR sign-in card scanner (/login/card): the camera's picture is decoded in the browser, never sent.
   BarcodeDetector where the browser has it (ChromeOS, Android, macOS); elsewhere jsQR (npm "jsqr", served
   from /static/vendor: no CDN, the CSP's script-src 'self' holds). A decoded GIGA-CARD code fills the form
   and sends it; the typed code is the fallback when there is no camera or it is refused. */
(function () {
  "use strict";
  var PREFIX = "GIGA-CARD:";
  var video = document.getElementById("scanner-video");
  var status = document.getElementById("scan-status");
  var form = document.getElementById("card-form");
  var input = document.getElementById("card-code");
  if (!video || !form || !input) return;
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var detector = null;
  var done = false;

  function say(text) { if (status) status.textContent = text; }

  function found(text) {
    if (done || typeof text !== "string" || text.indexOf(PREFIX) !== 0) return false;
    done = true;
    input.value = text.slice(PREFIX.length);
    say("カードを よみとりました。ログインしています…");
    var stream = video.srcObject;
    if (stream && stream.getTracks) stream.getTracks().forEach(function (t) { t.stop(); });
    form.submit();
    return true;
  }

  function decodeWithJsQR() {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h || typeof window.jsQR !== "function") return;
    canvas.width = w; canvas.height = h;
    context.drawImage(video, 0, 0, w, h);
    var image = context.getImageData(0, 0, w, h);
    var result = window.jsQR(image.data, w, h, { inversionAttempts: "dontInvert" });
    if (result) found(result.data);
  }

  function tick() {
    if (done) return;
    if (video.readyState < 2) { window.setTimeout(tick, 200); return; }
    if (detector) {
      detector.detect(video).then(function (codes) {
        for (var i = 0; i < codes.length; i++) if (found(codes[i].rawValue)) return;
      }).catch(function () { /* a frame that could not be read: try the next */ })
        .then(function () { window.setTimeout(tick, 200); });
      return;
    }
    decodeWithJsQR();
    window.setTimeout(tick, 250);
  }

  function loadJsQR() {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = "/static/vendor/jsQR.js";
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function chooseDecoder() {
    if ("BarcodeDetector" in window && window.BarcodeDetector.getSupportedFormats) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") >= 0) {
          detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return null;
        }
        return loadJsQR();
      }).catch(loadJsQR);
    }
    return loadJsQR();
  }

  function noCamera() {
    say("カメラが つかえません。したに カードの コードを いれてね。");
    input.focus();
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { noCamera(); return; }
  chooseDecoder().then(function () {
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false });
  }).then(function (stream) {
    video.srcObject = stream;
    return video.play();
  }).then(function () {
    say("カードの QRコードを カメラに むけてね。");
    video.setAttribute("data-scanning", "1");
    tick();
  }).catch(noCamera);
})();
