/* GIGA reading-test runner: one item per screen, answers saved on the device first, sent in order with
   retries, "保存しました" only after the server's acknowledgement. No framework; see lms/reading/runner/README.md. */
(function () {
  "use strict";
  var root = document.getElementById("runner");
  if (!root) return;
  var $ = function (id) { return document.getElementById(id); };
  var cfg = root.dataset;
  var RETRY_MIN = Number(cfg.retryMs || 1000), RETRY_MAX = 15000;
  // A 500 that repeats for one answer is a server bug that this answer sets off: after this many tries it
  // is set aside (kept on the device, no longer sent) so that the answers after it go through. 502/503/504,
  // 429 and network errors mean "not now": those are retried until they succeed (issue 15).
  var MAX_SERVER_ERRORS = Number(cfg.maxServerErrors || 5);
  // Belt: a page left on the wait screen this long with nothing arriving asks the server again (drain(),
  // then the attempt's state), so that no interleaving of acks, state reads and failures can leave it waiting
  // for nothing.
  var STALL_MS = Number(cfg.stallMs || 20000);
  // A request with no answer this long is given up and counts as a network error (then retried): after a
  // Wi-Fi drop a request can hang on a dead connection, and the page sends one answer at a time.
  var FETCH_TIMEOUT_MS = Number(cfg.fetchTimeoutMs || 30000);
  var S = { attempt: null, queue: [], shown: null, shownAt: 0, pos: 0, expected: 0, offset: 0, deadline: null,
            done: {}, spoke: false, sending: false, backoff: RETRY_MIN, timer: null, finished: false,
            lastEvent: null, acked: {}, items: {}, stored: {}, readAloud: cfg.readAloud === "1", stopped: false,
            serverErrors: {}, needState: false, waitingSince: 0 };

  /* ---- device storage: IndexedDB, else localStorage ------------------------------------------------ */
  var Store = (function () {
    var LS = "giga-runner-outbox", dbp = null, useLS = !window.indexedDB;
    function open() {
      if (!dbp) dbp = new Promise(function (ok, fail) {
        var r = indexedDB.open("giga-runner", 1);
        r.onupgradeneeded = function () { r.result.createObjectStore("outbox", { keyPath: "id" }); };
        r.onsuccess = function () { ok(r.result); };
        r.onerror = function () { fail(r.error); };
      });
      return dbp;
    }
    function run(mode, fn) {
      return open().then(function (db) {
        return new Promise(function (ok, fail) {
          var t = db.transaction("outbox", mode), req = fn(t.objectStore("outbox"));
          t.oncomplete = function () { ok(req && req.result); };
          t.onerror = t.onabort = function () { fail(t.error); };
        });
      });
    }
    var mem = null;  // last resort (storage full or blocked): keep the answers in this page's memory
    function lsAll() { try { return mem || JSON.parse(localStorage.getItem(LS) || "[]"); } catch (e) { return []; } }
    function lsSet(list) { try { if (!mem) { localStorage.setItem(LS, JSON.stringify(list)); return; } } catch (e) { /* full */ } mem = list; }
    function viaLS(fn) { return function (arg) {
      if (useLS) return Promise.resolve(fn(arg));
      return idb[fn.name](arg).catch(function () { useLS = true; return fn(arg); });
    }; }
    var idb = {
      put: function (rec) { return run("readwrite", function (s) { return s.put(rec); }); },
      del: function (id) { return run("readwrite", function (s) { return s.delete(id); }); },
      all: function () { return run("readonly", function (s) { return s.getAll(); }); }
    };
    return {
      put: viaLS(function put(rec) { lsSet(lsAll().filter(function (r) { return r.id !== rec.id; }).concat([rec])); }),
      del: viaLS(function del(id) { lsSet(lsAll().filter(function (r) { return r.id !== id; })); }),
      all: viaLS(function all() { return lsAll(); }),
      pending: function (attempt) {
        return this.all().then(function (list) {
          return (list || []).filter(function (r) { return r.attempt === attempt && !r.parked; })
            .sort(function (a, b) { return a.seq - b.seq; });
        });
      }
    };
  })();

  /* ---- practice mode and the child's words ------------------------------------------------------------ */
  var PRACTICE = cfg.mode === "practice", HEARTBEAT_MS = Number(cfg.heartbeatMs || 30000);
  // The child's words (小学生 / 中学生) with ruby by their level, from the page (lms/reading/runner/words.py).
  var WORDS = {};
  try { WORDS = JSON.parse(document.getElementById("runner-words").textContent); } catch (e) { WORDS = {}; }
  function fill(s, vars) { return String(s).replace(/\{(\w+)\}/g, function (_, k) { return vars && k in vars ? vars[k] : ""; }); }
  function put(el, keyOrText, vars) {  // a message key (ruby HTML) or a server sentence (plain text)
    var w = WORDS[keyOrText];
    if (w) { el.innerHTML = fill(w.html, vars); el.dataset.text = fill(w.text, vars); }
    else { el.textContent = keyOrText; el.dataset.text = keyOrText; }
  }

  /* ---- server calls ---------------------------------------------------------------------------------- */
  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRF-Token"] = cfg.csrf;
      init.body = JSON.stringify(body || {});
    }
    var ctl = window.AbortController ? new AbortController() : null, timer = null;
    if (ctl) { init.signal = ctl.signal; timer = setTimeout(function () { ctl.abort(); }, FETCH_TIMEOUT_MS); }
    return fetch("/api/v1" + path, init).then(function (r) {
      clearTimeout(timer);  // the response has come: its body is read without the limit
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(data.detail || r.statusText); e.status = r.status; throw e; }
        return data;
      });
    }, function (e) { clearTimeout(timer); throw e; });
  }
  function message(e) { return typeof e.message === "string" && e.status ? e.message : ""; }

  /* ---- status line (live region) -------------------------------------------------------------------- */
  function status(text, kind) { var el = $("status"); put(el, text); el.className = "status " + (kind || ""); }
  function showSaved() {
    if (!S.lastEvent) return;
    if (S.acked[S.lastEvent]) status("saved", "ok");
    else status("pending", "pending");
  }

  /* ---- the clock belongs to the server -------------------------------------------------------------- */
  function adopt(data) {
    if (data.server_time) S.offset = Date.parse(data.server_time) - Date.now();
    if (data.deadline_at !== undefined) S.deadline = data.deadline_at ? Date.parse(data.deadline_at) : null;
    if (data.expected_length) S.expected = data.expected_length;
  }
  function tick() {
    var el = $("timer");
    if (!S.deadline) { el.hidden = true; return; }
    var left = Math.max(0, Math.round((S.deadline - (Date.now() + S.offset)) / 1000));
    el.hidden = false;
    put(el, "remaining", { m: Math.floor(left / 60), s: ("0" + (left % 60)).slice(-2) });
    if (left === 0 && !S.finished && !S.stopped) {
      S.stopped = true; S.queue = []; S.shown = null; screen("wait");
      status("time_up", "pending"); drain();
    }
  }

  /* ---- screens ---------------------------------------------------------------------------------------- */
  function screen(name) {
    ["loading", "item", "wait", "done", "error", "feedback"].forEach(function (n) {
      var el = $(n === "item" ? "item-form" : "screen-" + n);
      if (el) el.hidden = n !== name;  // the feedback screen exists in practice only
    });
  }
  function fail(text) {
    if (S.pos > 0) put($("error-heading"), "error_heading_mid");  // the page's heading is about starting
    put($("error-text"), text); screen("error"); $("error-heading").focus();
  }

  function optionHtml(item, o, multi) {
    var pic = o.svg ? '<span class="pic" role="img" aria-label="' + esc(o.alt || "") + '">' + o.svg + "</span>" : "";
    return '<label class="option' + (o.svg ? " picture" : "") + '"><input type="' + (multi ? "checkbox" : "radio") +
      '" name="answer" value="' + esc(o.id) + '">' + pic +
      '<span class="text">' + (o.html || (o.svg ? "" : esc(o.id))) + "</span></label>";
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }

  function render(item) {
    S.shown = item; S.spoke = false; S.shownAt = performance.now(); S.waitingSince = 0;
    var multi = item.format === "select_all";
    var vertical = item.writing_mode === "vertical";
    put($("item-number"), S.expected ? "item_number" : "item_number_open", { n: S.pos + 1, m: S.expected });
    var st = $("stimulus");
    st.innerHTML = item.stimulus_html || "";
    st.className = "stimulus" + (vertical ? " vertical" : "");
    // the stimulus's picture: named once by the wrapper's label, the drawing hidden from screen readers
    var fig = $("figure"), figure = item.figure;
    fig.hidden = !figure;
    fig.innerHTML = figure ? figure.svg : "";
    if (figure) fig.setAttribute("aria-label", figure.alt || ""); else fig.removeAttribute("aria-label");
    fig.querySelectorAll("svg").forEach(function (svg) { svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false"); });
    var cmp = $("compare");
    cmp.hidden = !item.compare_html;
    $("compare-text").innerHTML = item.compare_html || "";
    $("stimulus-label").hidden = !item.compare_html;
    $("instruction").innerHTML = item.instruction_html || "";
    var box = $("options");
    box.className = "options " + (item.format || "");
    box.setAttribute("role", multi ? "group" : "radiogroup");
    box.innerHTML = (item.options || []).map(function (o) { return optionHtml(item, o, multi); }).join("");
    box.querySelectorAll("svg").forEach(function (svg) { svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false"); });
    $("read-aloud").hidden = !(S.readAloud && window.speechSynthesis && item.speech);
    screen("item");
    $("item-number").focus();
  }

  function showNext() {
    if (S.finished) return;
    // The server's maximum length is reached: wait for its acknowledgement (which ends the test) rather
    // than show a prefetched item the server would refuse.
    var atMax = S.expected && S.pos >= S.expected;  // S.pos counts answers before a reload too
    var next = atMax && S.lastEvent && !S.acked[S.lastEvent] ? null : S.queue.shift();
    while (next && S.done[next.item_id]) next = S.queue.shift();
    if (next) { render(next); return; }
    var entering = S.shown || $("screen-wait").hidden;
    S.shown = null;
    screen("wait");
    if (entering) { S.waitingSince = Date.now(); $("wait-heading").focus(); }
  }

  /* ---- answering -------------------------------------------------------------------------------------- */
  function chosen() {
    return Array.prototype.map.call($("options").querySelectorAll("input:checked"), function (i) { return i.value; });
  }
  function submit(ev) {
    ev.preventDefault();
    var item = S.shown;
    if (!item) return;
    var answer = chosen();
    if (!answer.length) { status("choose", "warn"); return; }
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : fallbackUuid();
    var body = {
      client_event_id: id, item_id: item.item_id, answer: answer,
      response_time_ms: Math.round(performance.now() - S.shownAt), position: S.pos,
      accommodations: accommodations(), device_hint: deviceHint()
    };
    S.done[item.item_id] = true;
    S.lastEvent = id;
    S.pos += 1;
    Store.put({ id: id, attempt: S.attempt, seq: Date.now() * 1000 + (S.pos % 1000), body: body }).then(function () {
      showSaved();
      drain();
    }, function () { status("store_failed", "warn"); drain(); });
    if (window.speechSynthesis) speechSynthesis.cancel();
    if (PRACTICE) waitForFeedback(item, answer); else showNext();
  }

  /* ---- practice: right or wrong and the explanation after each item ---------------------------------- */
  function waitForFeedback(item, answer) {
    S.feedbackFor = item.item_id; S.held = null;
    put($("feedback-result"), "checking");
    $("feedback-result").className = "feedback-result";
    $("feedback-key").hidden = true;
    $("feedback-explanation").innerHTML = "";
    $("feedback-read-aloud").hidden = true;
    screen("feedback");
    $("feedback-result").focus();
  }
  function loadFeedback(itemId) {
    api("GET", "/attempts/" + S.attempt + "/feedback/" + encodeURIComponent(itemId)).then(function (fb) {
      if (S.feedbackFor !== itemId) return;
      var ok = fb.correct;
      put($("feedback-result"), ok ? "right" : "wrong");
      $("feedback-result").className = "feedback-result " + (ok ? "right" : "wrong");
      $("feedback-key-text").innerHTML = (fb.key_html || []).join("、");
      $("feedback-key").hidden = false;
      $("feedback-explanation").innerHTML = fb.explanation_html || "";
      S.explanationSpeech = fb.explanation_speech || "";
      $("feedback-read-aloud").hidden = !(S.readAloud && window.speechSynthesis && S.explanationSpeech);
      $("feedback-result").focus();
    }, function (e) {
      if (S.feedbackFor !== itemId) return;
      put($("feedback-result"), message(e) || "feedback_failed");
    });
  }
  function afterFeedback() {
    if (window.speechSynthesis) speechSynthesis.cancel();
    var held = S.held;
    S.feedbackFor = null; S.held = null; S.shown = null;
    if (held) afterAck(held); else showNext();
  }
  function speakExplanation() {
    var ss = window.speechSynthesis;
    if (!ss || !S.explanationSpeech) return;
    if (ss.speaking) { ss.cancel(); return; }
    var u = new SpeechSynthesisUtterance(S.explanationSpeech);
    u.lang = "ja-JP"; u.rate = 0.9; ss.speak(u);
  }

  /* ---- heartbeat: the live view tells a slow reader (page open) from a lost device ------------------- */
  function heartbeat() {
    if (S.attempt && !S.finished && !S.stopped) api("POST", "/attempts/" + S.attempt + "/heartbeat", {}).catch(function () {});
  }
  function fallbackUuid() {
    var b = new Uint8Array(16); crypto.getRandomValues(b); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function accommodations() {
    var p = prefs();
    var a = { text_size: p.size, background: p.bg };
    if (S.spoke) a.read_aloud = true;
    return a;
  }
  function deviceHint() {
    return (navigator.platform || "") + " " + screen_size() + (/CrOS/.test(navigator.userAgent) ? " ChromeOS" : "");
  }
  function screen_size() { return window.screen ? window.screen.width + "x" + window.screen.height : ""; }

  /* ---- sending the local queue, in order ------------------------------------------------------------- */
  function drain() {
    if (S.sending || !S.attempt) return;
    S.sending = true;
    clearTimeout(S.timer);
    Store.pending(S.attempt).then(function (list) {
      if (!list.length) {
        S.sending = false;
        if (S.stopped && !S.finished) finish();
        else if (S.finished || S.feedbackFor) return;
        // nothing left to send: the state is wanted (an earlier read failed), or there is nothing to show
        else if (S.needState || (!S.shown && !S.queue.length)) resync();
        else if (!S.shown) showNext();  // held back until the newest answer's ack, which has come
        return;
      }
      var rec = list[0], body = {}, k;
      for (k in rec.body) body[k] = rec.body[k];
      body.known = known();  // the ack then carries only the payloads this page does not hold yet
      return api("POST", "/attempts/" + S.attempt + "/answers", body).then(function (ack) {
        S.acked[ack.ack || rec.id] = true;
        S.stored[rec.body.item_id] = true;  // the server will not plan this item again
        S.backoff = RETRY_MIN;
        return Store.del(rec.id).then(function () {
          S.sending = false;
          if (PRACTICE && rec.body.item_id === S.feedbackFor) loadFeedback(rec.body.item_id);
          afterAck(ack);  // every acknowledged answer brings a fresh plan: use it before saying "saved"
          showSaved();
          if (!S.finished) drain();
        });
      }, function (e) {
        S.sending = false;
        if (e.status === 500) {
          S.serverErrors[rec.id] = (S.serverErrors[rec.id] || 0) + 1;
          if (S.serverErrors[rec.id] >= MAX_SERVER_ERRORS) {
            rec.parked = true; settled(rec);
            return Store.put(rec).then(function () {
              status("この答えはサーバーが受け取れませんでした。先生に知らせてください。つぎの問題にすすみます。", "warn");
              resync();
            });
          }
        }
        if (!e.status || e.status >= 500 || e.status === 429) { retryLater(); return; }
        if (e.status === 401 || (e.status === 403 && !S.finished)) {
          status("サインインが切れました。答えはこの端末に残っています。もう一度サインインしてください。", "warn");
          return;
        }
        if (e.status === 409) {  // time over / closed / finished: the server decides; else an item answered twice
          settled(rec);
          return Store.del(rec.id).then(function () { resync(message(e)); });
        }
        // 400/404/413/422 (any other 4xx): final, this answer can never be stored; say so, drop it, go on
        settled(rec);
        return Store.del(rec.id).then(function () { status(message(e) || "答えを送れませんでした。", "warn"); resync(); });
      });
    }).catch(function () { S.sending = false; retryLater(); });
  }
  // An answer the server will never acknowledge (refused, or set aside): the page no longer waits for its
  // ack (the last item's screen waits for the newest answer's ack before showing more, see showNext).
  function settled(rec) { if (rec.id === S.lastEvent) S.lastEvent = null; }
  function retryLater() {
    if (S.lastEvent && !S.acked[S.lastEvent]) showSaved();
    clearTimeout(S.timer);
    S.timer = setTimeout(drain, S.backoff * (0.75 + Math.random() / 2));
    S.backoff = Math.min(RETRY_MAX, S.backoff * 2);
  }
  function resync(why) {  // ask the server where the attempt stands and take its plan
    S.needState = false;
    api("GET", "/attempts/" + S.attempt).then(function (data) {
      adopt(data);
      if (data.status !== "in_progress") { closed(data.status === "submitted" ? "" : why); return; }
      afterAck(data);
      // still nothing to show (the plan names only answers not yet stored here or there): ask again after
      // the backoff rather than at once, which would loop without a pause
      if (!S.shown && !S.finished && !S.stopped && !S.feedbackFor) { S.needState = true; retryLater(); }
      else drain();
    }, function (e) {
      // a refusal (401, 403, 404, or 400: a state the server cannot read) is final: say so, do not wait
      if (e.status && e.status < 500 && e.status !== 408 && e.status !== 429) { fail(message(e) || "cannot_continue"); return; }
      S.needState = true;  // the network or a busy server: ask again after the backoff (drain() does)
      retryLater();
    });
  }
  function watchdog() {  // the belt (STALL_MS): a wait screen that nothing has ended asks again
    if (!S.attempt || S.finished || S.stopped || S.shown || S.feedbackFor || $("screen-wait").hidden) return;
    if (!S.waitingSince) { S.waitingSince = Date.now(); return; }  // a wait begun by another path
    if (Date.now() - S.waitingSince < STALL_MS) return;
    S.waitingSince = Date.now(); S.needState = true;
    drain();
  }
  function keep(items) { (items || []).forEach(function (it) { S.items[it.item_id] = it; }); }
  function known() {  // payloads this page holds, but for answers the server has stored (its limit is 64)
    return Object.keys(S.items).filter(function (id) { return !S.stored[id]; }).slice(-64);
  }
  function afterAck(ack) {  // an ack (queue ids + the payloads we lacked) or a full state (items only)
    if (ack.position !== undefined && ack.position > S.pos) S.pos = ack.position;
    if (S.feedbackFor) { S.held = ack; return; }  // practice: the child reads the explanation first
    if (ack.finished) { closed(""); return; }
    if (S.stopped) return;
    keep(ack.items);
    var ids = ack.queue || (ack.items || []).map(function (it) { return it.item_id; });
    var shownId = S.shown && S.shown.item_id;
    var todo = ids.filter(function (id) { return !S.done[id] && id !== shownId; });
    if (todo.some(function (id) { return !S.items[id]; })) { resync(); return; }  // a payload we never got
    S.queue = todo.map(function (id) { return S.items[id]; });
    if (!S.shown) {
      if (S.queue.length) showNext();
      else if (!ids.length) finish();
    }
  }

  /* ---- finishing -------------------------------------------------------------------------------------- */
  function finish() {
    if (S.finished) return;
    S.finished = true;
    api("POST", "/attempts/" + S.attempt + "/finish", {}).then(done, function (e) {
      if (e.status && e.status < 500 && e.status !== 429) { done({}); return; }
      S.finished = false; status("finish_failed", "pending");
      setTimeout(finish, S.backoff); S.backoff = Math.min(RETRY_MAX, S.backoff * 2);
    });
  }
  function done(data) {
    S.finished = true; S.shown = null;
    $("results-link").href = "/results/" + S.attempt;
    if (S.note) put($("done-text"), "kept");
    screen("done");
    status(S.note || "saved", S.note ? "warn" : "ok");
    $("done-heading").focus();
  }
  function closed(text) {  // the server ended the attempt: what is still queued here can no longer count
    S.queue = []; S.shown = null; S.stopped = true; S.note = text;
    Store.pending(S.attempt).then(function (list) {
      return Promise.all(list.map(function (r) { return Store.del(r.id); }));
    }).then(finish, finish);
  }

  /* ---- start or resume -------------------------------------------------------------------------------- */
  // localStorage throws in a portal's iframe when the browser blocks third-party storage (LTI, issue 23):
  // the test still runs, without the device-side memory of the attempt and the preferences.
  function lsGet(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }
  function lsPut(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* blocked or full */ } }
  function begin() {
    screen("loading");
    var key = "giga-runner-attempt-" + cfg.assignmentId, known = lsGet(key);
    var first = known ? api("GET", "/attempts/" + known).catch(function () { return null; }) : Promise.resolve(null);
    first.then(function (data) {
      if (data && data.status === "in_progress") return data;
      return api("POST", "/assignments/" + cfg.assignmentId + "/start", {});
    }).then(function (data) {
      S.attempt = data.attempt_id;
      lsPut(key, String(data.attempt_id));
      adopt(data);
      if (data.accommodations && data.accommodations.read_aloud) S.readAloud = true;
      S.pos = data.position || 0;
      if (data.status === "submitted" || data.status === "expired") {
        closed(data.status === "expired" ? "time_over" : ""); return;
      }
      var answered = {};
      (data.answered || []).forEach(function (id) { answered[id] = true; });
      return Store.pending(S.attempt).then(function (list) {
        var drop = list.filter(function (r) { return answered[r.id]; });
        list.forEach(function (r) { if (!answered[r.id]) { S.done[r.body.item_id] = true; S.pos += 1; S.lastEvent = r.id; } });
        return Promise.all(drop.map(function (r) { return Store.del(r.id); }));
      }).then(function () {
        keep(data.items);
        S.queue = (data.items || []).slice();
        if (!S.queue.length && !Object.keys(S.done).length) { finish(); return; }
        showNext();
        showSaved();
        drain();
      });
    }).catch(function (e) {
      fail(message(e) || "start_failed");
    });
  }

  /* ---- preferences: text size and background colour, kept on the device ------------------------------ */
  function prefs() {
    var p = {};
    try { p = JSON.parse(lsGet("giga-runner-prefs") || "{}"); } catch (e) { p = {}; }
    return { size: p.size || (cfg.largeText === "1" ? "large" : "normal"), bg: p.bg || "white" };
  }
  function applyPrefs() {
    var p = prefs();
    root.dataset.size = p.size; root.dataset.bg = p.bg;
    document.body.dataset.bg = p.bg;
    document.querySelectorAll("#prefs input").forEach(function (i) { i.checked = p[i.name] === i.value; });
  }
  function savePref(ev) {
    var p = prefs(); p[ev.target.name] = ev.target.value;
    lsPut("giga-runner-prefs", JSON.stringify(p)); applyPrefs();
  }

  /* ---- read-aloud: the stored kana readings, a ja-JP voice when there is one -------------------------- */
  function speak() {
    var ss = window.speechSynthesis, item = S.shown;
    if (!ss || !item || !item.speech) return;
    if (ss.speaking) { ss.cancel(); return; }
    var sp = item.speech, parts = [sp.stimulus, sp.figure, sp.compare, sp.instruction];
    var opts = sp.options;
    if (opts && typeof opts === "object") parts = parts.concat(Array.isArray(opts) ? opts : Object.keys(opts).map(function (k) { return opts[k]; }));
    var u = new SpeechSynthesisUtterance(parts.filter(Boolean).join("。"));
    u.lang = "ja-JP";
    var voice = ss.getVoices().filter(function (v) { return /^ja/i.test(v.lang); })[0];
    if (voice) u.voice = voice;
    u.rate = 0.9;
    ss.speak(u);
    S.spoke = true;
  }

  /* ---- keyboard: arrows move within the options (checkboxes too), Enter answers ----------------------- */
  function keys(ev) {
    var t = ev.target;
    if (!t || t.name !== "answer") return;
    if (ev.key === "Enter") { ev.preventDefault(); $("item-form").requestSubmit ? $("item-form").requestSubmit() : submit(ev); return; }
    if (t.type !== "checkbox") return;  // radio groups move natively
    var all = Array.prototype.slice.call($("options").querySelectorAll("input"));
    var step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[ev.key];
    if (!step) return;
    ev.preventDefault();
    all[(all.indexOf(t) + step + all.length) % all.length].focus();
  }

  $("item-form").addEventListener("submit", submit);
  $("item-form").addEventListener("keydown", keys);
  $("read-aloud").addEventListener("click", speak);
  $("retry-start").addEventListener("click", begin);
  if (PRACTICE) {
    $("feedback-next").addEventListener("click", afterFeedback);
    $("feedback-read-aloud").addEventListener("click", speakExplanation);
  }
  setInterval(heartbeat, HEARTBEAT_MS);
  $("prefs").addEventListener("change", savePref);
  window.addEventListener("online", function () { S.backoff = RETRY_MIN; drain(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) drain(); });
  window.GigaRunner = { state: S, drain: drain };  // for tests and the teacher's troubleshooting
  applyPrefs();
  setInterval(tick, 1000);
  setInterval(watchdog, Math.min(5000, STALL_MS));
  begin();
})();
