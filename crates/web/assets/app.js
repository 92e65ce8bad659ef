// Anliegen workspace: keyboard shortcuts, live updates (SSE), presence, drafts.
// Progressive enhancement: every page works without this script.
(function () {
  "use strict";
  var body = document.body;
  var page = body.getAttribute("data-page");
  var caseRef = body.getAttribute("data-case");
  var csrfInput = document.querySelector('input[name="csrf"]');
  var csrf = csrfInput ? csrfInput.value : "";

  function post(url, data, beacon) {
    var form = new URLSearchParams();
    form.set("csrf", csrf);
    Object.keys(data).forEach(function (k) { form.set(k, data[k]); });
    if (beacon && navigator.sendBeacon) {
      navigator.sendBeacon(url, new Blob([form.toString()], { type: "application/x-www-form-urlencoded" }));
      return Promise.resolve();
    }
    return fetch(url, { method: "POST", body: form, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" } });
  }

  function fetchDoc(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.status === 401) { throw new Error("session"); }
        return r.text();
      })
      .then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
  }

  // Replaces a part of the page with its fresh version — not while the agent is in it (focus or
  // unsaved choices), so nobody loses their place or their input.
  function swap(doc, selector) {
    var fresh = doc.querySelector(selector), old = document.querySelector(selector);
    if (!fresh || !old) { return; }
    if (old.contains(document.activeElement) && document.activeElement !== document.body) { return; }
    if (old.getAttribute("data-dirty") === "1") { return; }
    old.replaceWith(fresh);
  }

  function toast(text) {
    var t = document.getElementById("toast");
    if (!t) { return; }
    t.textContent = text;
    setTimeout(function () { t.textContent = ""; }, 4000);
  }

  function typingTarget(e) {
    var el = e.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // ---- queue: selection with j/k, open with o/Enter --------------------------------------
  var selected = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr")); }
  function select(i) {
    var r = rows();
    if (!r.length) { return; }
    i = Math.max(0, Math.min(r.length - 1, i));
    r.forEach(function (row) { row.classList.remove("selected"); row.removeAttribute("aria-selected"); });
    r[i].classList.add("selected");
    r[i].setAttribute("aria-selected", "true");
    r[i].scrollIntoView({ block: "nearest" });
    selected = i;
    var status = document.getElementById("toast");
    if (status) {
      var subject = r[i].querySelector(".subject a");
      status.textContent = r[i].getAttribute("data-ref") + (subject ? " – " + subject.textContent : "");
      setTimeout(function () { status.textContent = ""; }, 1500);
    }
    try { sessionStorage.setItem("anliegen.sel", r[i].getAttribute("data-ref")); } catch (e) { /* private mode */ }
  }
  function restoreSelection() {
    var ref = null;
    try { ref = sessionStorage.getItem("anliegen.sel"); } catch (e) { /* private mode */ }
    var r = rows();
    for (var i = 0; i < r.length; i++) {
      if (r[i].getAttribute("data-ref") === ref) { r[i].classList.add("selected"); selected = i; return; }
    }
    selected = -1;
  }

  // ---- case: composer modes -------------------------------------------------------------
  var composer = document.getElementById("composer");
  var textarea = document.getElementById("body");
  function mode(kind) {
    var radio = document.getElementById(kind === "note" ? "kind-note" : "kind-reply");
    if (radio) { radio.checked = true; }
    if (composer) { composer.classList.toggle("note-mode", kind === "note"); }
    if (textarea) { textarea.focus(); }
  }

  function keysOff() {
    try { return localStorage.getItem("anliegen.keys") === "off"; } catch (e) { return false; }
  }
  var keysBox = document.getElementById("keys-off");
  if (keysBox) {
    keysBox.checked = keysOff();
    keysBox.addEventListener("change", function () {
      try { localStorage.setItem("anliegen.keys", keysBox.checked ? "off" : "on"); } catch (e) { /* ignore */ }
    });
  }
  var helpButton = document.getElementById("help-button");
  if (helpButton) {
    helpButton.hidden = false;
    helpButton.addEventListener("click", function () {
      var h = document.getElementById("help");
      if (h && h.showModal) { h.showModal(); }
    });
  }
  var props = document.getElementById("props");
  if (props) {
    props.addEventListener("change", function () { props.setAttribute("data-dirty", "1"); });
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (typingTarget(e)) {
      if (e.key === "Escape") { e.target.blur(); }
      return;
    }
    if (keysOff()) { return; }
    var help = document.getElementById("help");
    switch (e.key) {
      case "?":
        if (help && help.showModal) { help.showModal(); }
        break;
      case "/":
        var box = document.getElementById("search-q");
        if (!box) { return; }
        box.focus();
        box.select();
        break;
      case "j":
        if (page === "queue") { select(selected + 1); } else { return; }
        break;
      case "k":
        if (page === "queue") { select(selected - 1); } else { return; }
        break;
      case "o":
      case "Enter":
        if (page !== "queue") { return; }
        // Enter on a link or button keeps its own meaning.
        if (e.key === "Enter" && document.activeElement && document.activeElement !== document.body) { return; }
        var r = rows();
        if (selected >= 0 && r[selected]) { window.location.href = "/cases/" + r[selected].getAttribute("data-ref"); }
        else { return; }
        break;
      case "r":
        if (page !== "case") { return; }
        mode("reply");
        break;
      case "n":
        if (page !== "case") { return; }
        mode("note");
        break;
      case "a":
        var assignee = document.getElementById("assignee");
        if (page !== "case" || !assignee) { return; }
        assignee.focus();
        break;
      case "u":
        if (page !== "case") { return; }
        window.location.href = "/cases";
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  // ---- global search: results as you type ---------------------------------------------------
  var searchBox = document.getElementById("search-q");
  var suggest = document.getElementById("search-suggest");
  if (searchBox && suggest) {
    var searchTimer = null, searchSeq = 0;
    var hideSuggest = function () {
      suggest.hidden = true;
      searchBox.setAttribute("aria-expanded", "false");
    };
    var options = function () { return Array.prototype.slice.call(suggest.querySelectorAll('[role="option"]')); };
    searchBox.addEventListener("input", function () {
      clearTimeout(searchTimer);
      var q = searchBox.value;
      if (q.trim().length < 2) { hideSuggest(); return; }
      searchTimer = setTimeout(function () {
        var seq = ++searchSeq;
        fetchDoc("/search/suggest?q=" + encodeURIComponent(q)).then(function (doc) {
          if (seq !== searchSeq) { return; }
          var list = doc.getElementById("search-suggest-list");
          suggest.innerHTML = "";
          if (list) { suggest.appendChild(document.importNode(list, true)); }
          suggest.hidden = false;
          searchBox.setAttribute("aria-expanded", "true");
        }).catch(function () { hideSuggest(); });
      }, 120);
    });
    searchBox.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { hideSuggest(); return; }
      if (e.key === "ArrowDown") {
        var o = options();
        if (o.length) { e.preventDefault(); o[0].focus(); }
      }
    });
    suggest.addEventListener("keydown", function (e) {
      var o = options(), i = o.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < o.length - 1) { e.preventDefault(); o[i + 1].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); if (i > 0) { o[i - 1].focus(); } else { searchBox.focus(); } }
      else if (e.key === "Escape") { hideSuggest(); searchBox.focus(); }
    });
    document.addEventListener("click", function (e) {
      if (!suggest.contains(e.target) && e.target !== searchBox) { hideSuggest(); }
    });
  }

  // ---- drafts and presence on a case ------------------------------------------------------
  if (page === "case" && composer && textarea) {
    var key = "anliegen.draft." + (body.getAttribute("data-agent") || "") + "." + caseRef;
    var kindOf = function () {
      var n = document.getElementById("kind-note");
      return n && n.checked ? "note" : "reply";
    };
    composer.querySelectorAll('input[name="kind"]').forEach(function (r) {
      r.addEventListener("change", function () { composer.classList.toggle("note-mode", kindOf() === "note"); });
    });
    composer.classList.toggle("note-mode", kindOf() === "note");
    if (!textarea.value) {
      try {
        var kept = JSON.parse(localStorage.getItem(key) || "null");
        if (kept && kept.body) { textarea.value = kept.body; mode(kept.kind); }
      } catch (e) { /* ignore */ }
    }
    var saveTimer = null, typingSent = 0, idleTimer = null;
    textarea.addEventListener("input", function () {
      try { localStorage.setItem(key, JSON.stringify({ kind: kindOf(), body: textarea.value })); } catch (e) { /* full */ }
      clearTimeout(saveTimer);
      saveTimer = setTimeout(function () {
        post("/cases/" + caseRef + "/draft", { kind: kindOf(), body: textarea.value });
      }, 1500);
      var now = Date.now();
      if (now - typingSent > 3000) {
        typingSent = now;
        post("/cases/" + caseRef + "/presence", { state: "typing" });
      }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(function () {
        typingSent = 0;
        post("/cases/" + caseRef + "/presence", { state: "viewing" });
      }, 5000);
    });
    composer.addEventListener("submit", function () {
      try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
    });
    post("/cases/" + caseRef + "/presence", { state: "viewing" });
    setInterval(function () {
      if (!typingSent) { post("/cases/" + caseRef + "/presence", { state: "viewing" }); }
    }, 10000);
    window.addEventListener("pagehide", function () {
      post("/cases/" + caseRef + "/presence", { state: "left" }, true);
    });

    var older = document.getElementById("load-older");
    if (older) {
      older.addEventListener("click", function (e) {
        e.preventDefault();
        var link = e.currentTarget;
        fetchDoc(link.href).then(function (doc) {
          var list = document.getElementById("entries");
          var fresh = doc.getElementById("entries");
          if (!list || !fresh) { return; }
          var existing = {};
          list.querySelectorAll("[data-contact]").forEach(function (li) { existing[li.id] = true; });
          var items = Array.prototype.slice.call(fresh.children).filter(function (li) { return !existing[li.id] || !li.id; });
          items.reverse().forEach(function (li) { list.insertBefore(li, list.firstChild); });
          var next = doc.getElementById("load-older");
          if (next) { link.href = next.href; } else { link.parentNode.remove(); }
        });
      });
    }
  }

  // ---- live updates ------------------------------------------------------------------------
  var live = body.getAttribute("data-live");
  if (live && window.EventSource && !/[?&]before=/.test(location.search)) {
    // `since`: the newest event the page was rendered with; the stream first says whether the
    // page missed anything between rendering and connecting (or while it was disconnected).
    var since = body.getAttribute("data-since");
    var params = [];
    if (live === "case") { params.push("case=" + encodeURIComponent(caseRef)); }
    if (since) { params.push("since=" + encodeURIComponent(since)); }
    var url = "/live" + (params.length ? "?" + params.join("&") : "");
    var es = new EventSource(url);
    var pending = null;
    // At most one refresh per interval, however many events arrive (a throttle, not a
    // debounce: a steady stream of events must not starve the page).
    var refresh = function () {
      if (pending) { return; }
      pending = setTimeout(function () {
        pending = null;
        fetchDoc(location.pathname + location.search).then(function (doc) {
          swap(doc, "nav.queues");
          if (live === "queue") {
            swap(doc, "#queue-body");
            restoreSelection();
          } else {
            swap(doc, "#entries");
            swap(doc, ".case-head .meta");
            swap(doc, "#props");
            swap(doc, "#sla");
            // The agent now sees the newest contact: a reply is no longer written over it.
            var seen = doc.querySelector('#composer input[name="seen"]');
            var mine = document.querySelector('#composer input[name="seen"]');
            if (seen && mine) { mine.value = seen.value; }
          }
          body.setAttribute("data-live-seq", String(Date.now()));
        }).catch(function () { /* offline or signed out: the next event retries */ });
      }, live === "queue" ? 1000 : 300);
    };
    es.addEventListener("queue", refresh);
    es.addEventListener("case", refresh);
    es.addEventListener("presence", function (e) {
      var el = document.getElementById("presence");
      if (!el) { return; }
      var others = [];
      try { others = JSON.parse(e.data); } catch (err) { others = []; }
      if (!others.length) { el.hidden = true; el.textContent = ""; return; }
      var parts = others.map(function (o) {
        return (el.getAttribute(o.typing ? "data-typing" : "data-viewing") || "{name}").replace("{name}", o.name);
      });
      el.textContent = parts.join(" · ");
      el.hidden = false;
    });
  }

  // Signing out leaves no draft in this browser for the next person.
  var logout = document.querySelector('form[action="/logout"]');
  if (logout) {
    logout.addEventListener("submit", function () {
      try {
        Object.keys(localStorage).forEach(function (k) {
          if (k.indexOf("anliegen.draft.") === 0) { localStorage.removeItem(k); }
        });
      } catch (e) { /* ignore */ }
    });
  }

  // ---- SLA countdowns ---------------------------------------------------------------------
  // Counted from the server's clock at render time, in the page's words.
  var de = (document.documentElement.lang || "de").indexOf("de") === 0;
  function span(secs) {
    var d = Math.floor(secs / 86400), h = Math.floor(secs % 86400 / 3600), m = Math.floor(secs % 3600 / 60);
    var u = de ? { d: " T.", h: " Std.", m: " Min." } : { d: " d", h: " h", m: " min" };
    if (!d && !h) { return Math.max(m, 1) + u.m; }
    if (!d) { return h + u.h + (m ? " " + m + u.m : ""); }
    return d + u.d + (h ? " " + h + u.h : "");
  }
  function countdowns() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      if (!el.dataset.offset) { el.dataset.offset = String(Number(el.getAttribute("data-now")) - Date.now()); }
      var now = Date.now() + Number(el.dataset.offset);
      var left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      var text = left >= 0 ? (de ? "noch " + span(left) : span(left) + " left")
        : (de ? "seit " + span(-left) + " überfällig" : span(-left) + " overdue");
      if (el.textContent !== text) { el.textContent = text; }
      el.classList.toggle("overdue", left < 0);
    });
  }
  countdowns();
  setInterval(countdowns, 15000);

  if (page === "queue") { restoreSelection(); }
  if (window.location.hash && page === "case") {
    var target = document.querySelector(window.location.hash);
    if (target) { target.scrollIntoView({ block: "center" }); }
  }
  window.anliegen = { toast: toast };
})();
