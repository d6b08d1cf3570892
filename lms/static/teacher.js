// Live view of a class taking a reading test: poll GET /api/v1/assignments/{id}/live every 5 s and
// update the rows in place; resume / reset / close through the JSON API (session cookie + CSRF header).
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) return;
  var id = root.dataset.assignment;
  var csrf = root.dataset.csrf;
  var message = document.getElementById("live-message");
  var timer = null;
  var resumable = (root.dataset.resumable || "").split(" ");
  var resettable = (root.dataset.resettable || "").split(" ");

  function say(text) { message.textContent = text; }

  function render(data) {
    Object.keys(data.counts).forEach(function (state) {
      var el = root.querySelector('.count[data-state="' + state + '"]');
      if (el) el.textContent = data.counts[state];
    });
    data.students.forEach(function (s) {
      var row = root.querySelector('tr[data-student="' + s.student_id + '"]');
      if (!row) return;
      row.className = "state-" + s.state;
      row.querySelector(".badge").textContent = s.label;
      var name = row.querySelector(".live-name");
      if (name && s.state === "finished" && s.attempt_id && !name.querySelector("a")) {
        var link = document.createElement("a");  // the child's results, once there are some
        link.href = "/results/" + s.attempt_id; link.textContent = name.textContent;
        name.textContent = ""; name.appendChild(link);
      }
      row.querySelectorAll("button[data-attempt]").forEach(function (b) {
        if (s.attempt_id) b.dataset.attempt = s.attempt_id;
        var fits = (b.dataset.action === "resume" ? resumable : resettable).indexOf(s.state) >= 0;
        b.hidden = !fits;  // actions only where they apply
      });
    });
    document.getElementById("assignment-status").textContent = data.status === "open" ? "実施中" : "終了";
    document.getElementById("close-all").disabled = data.status !== "open";
    var t = new Date(data.server_time);
    document.getElementById("updated-at").textContent = t.toLocaleTimeString("ja-JP") + " 現在";
  }

  function poll() {
    fetch("/api/v1/assignments/" + id + "/live", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(render)
      .catch(function () { say("状況を取得できませんでした。通信を確かめています…"); })
      .finally(function () { timer = setTimeout(poll, 5000); });
  }

  function post(url, done) {
    fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf, Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        say(res.ok ? done : (res.body.detail || "操作できませんでした。"));
        clearTimeout(timer); poll();
      })
      .catch(function () { say("通信できませんでした。もう一度お試しください。"); });
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    if (button.id === "close-all") {
      if (confirm("全員のテストを終了します。解答中の児童生徒もここで終わりになります。よろしいですか？")) {
        post("/api/v1/assignments/" + id + "/close", "テストを終了しました。");
      }
    } else if (button.dataset.action === "reset") {
      if (confirm("この児童生徒の解答を取り消して、最初からやり直しにします。よろしいですか？")) {
        post("/api/v1/attempts/" + button.dataset.attempt + "/reset", "やり直しにしました。");
      }
    } else if (button.dataset.action === "resume") {
      post("/api/v1/attempts/" + button.dataset.attempt + "/resume", "再開できるようにしました。");
    }
  });
  timer = setTimeout(poll, 5000);
})();
