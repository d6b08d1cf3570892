/* 「授業をはじめる」: live progress of the whole-class server start (was inline; CSP allows no inline script). */
(function () {
  "use strict";
  var box = document.getElementById("prestart");
  var labels = {ready: "起動済み", starting: "起動中", queued: "順番待ち", failed: "失敗", not_started: "未起動"};
  function show(p) {
    document.getElementById("count-ready").textContent = p.ready;
    document.getElementById("count-pending").textContent = p.pending;
    document.getElementById("count-failed").textContent = p.failed;
    document.getElementById("bar").value = p.ready;
    var err = document.getElementById("hub-error");
    err.hidden = !(p.failure || p.hub_error);
    err.textContent = p.failure || p.hub_error || "";
    p.students.forEach(function (s) {
      var row = box.querySelector('tr[data-name="' + CSS.escape(s.name) + '"] td');
      if (row) { row.textContent = labels[s.state] + (s.error ? "（" + s.error + "）" : ""); }
    });
    var done = p.finished && p.pending === 0;
    document.getElementById("state").textContent = done ? "起動の処理は終わりました。" : "起動しています…";
    return done;
  }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) { if (!show(p)) { setTimeout(poll, 2000); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
