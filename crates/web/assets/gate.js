// Sportello's waiting room (EUPL-1.2). Solves the proof of work of crates/gate/src/pow.rs and polls the queue.
//
// A solution for challenge token c (its ASCII bytes) is a 64-bit nonce such that SHA-256(c || nonce as 8
// little-endian bytes) begins with at least `difficulty` zero bits. The page works without this script: it then
// waits instead of computing, and refreshes itself.
(function () {
  "use strict";
  var gate = document.getElementById("gate");
  if (!gate) { return; }
  var english = document.documentElement.lang === "en";
  var text = function (it, en) { return english ? en : it; };

  function leadingZeroBits(bytes) {
    var bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { bits += 8; continue; }
      var b = bytes[i];
      while ((b & 0x80) === 0) { bits++; b <<= 1; }
      return bits;
    }
    return bits;
  }

  async function solve(token, difficulty) {
    var prefix = new TextEncoder().encode(token);
    var buffer = new Uint8Array(prefix.length + 8);
    buffer.set(prefix, 0);
    var view = new DataView(buffer.buffer);
    for (var nonce = 0; nonce < Number.MAX_SAFE_INTEGER; nonce++) {
      // Little-endian u64: low 32 bits, then high 32 bits.
      view.setUint32(prefix.length, nonce % 4294967296, true);
      view.setUint32(prefix.length + 4, Math.floor(nonce / 4294967296), true);
      var digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
      if (leadingZeroBits(digest) >= difficulty) { return nonce; }
    }
    throw new Error("no solution");
  }

  function show(id, value) {
    var element = document.getElementById(id);
    if (element) { element.textContent = value; }
  }

  function eta(seconds) {
    var minutes = Math.ceil(seconds / 60);
    if (minutes <= 1) { return text("meno di un minuto", "less than a minute"); }
    return text("circa " + minutes + " minuti", "about " + minutes + " minutes");
  }

  // Where to go once admitted: a path on this site, checked here too, whatever the page says. Browsers drop tabs
  // and line breaks from URLs ("/\t/host" becomes "//host", another origin), so anything but printable ASCII, a
  // backslash, or a start other than a single "/" sends the visitor home instead.
  function sameSite(path) {
    return typeof path === "string" && /^\/(?![\/\\])[!-~]*$/.test(path) && path.indexOf("\\") < 0;
  }
  var back = sameSite(gate.dataset.back) ? gate.dataset.back : "/";
  var stateUrl = gate.dataset.state;

  async function poll() {
    var response;
    try {
      response = await fetch(stateUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (e) {
      setTimeout(poll, 5000);
      return;
    }
    var body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    if (body.admitted) { window.location.assign(back); return; }
    if (body.state === "waiting") {
      if (body.position != null) { show("gate-position-number", String(body.position)); }
      if (body.eta_seconds != null) { show("gate-eta", eta(body.eta_seconds)); }
    } else if (body.state !== "pre_queue") {
      // Closed, in maintenance, or the place was lost: the page explains it.
      window.location.reload();
      return;
    }
    var seconds = body.refresh_seconds || Number(response.headers.get("Retry-After")) || 15;
    setTimeout(poll, seconds * 1000);
  }

  async function enter() {
    var token = gate.dataset.token;
    var difficulty = Number(gate.dataset.difficulty || 0);
    var nonce = await solve(token, difficulty);
    show("gate-progress", text("Calcolo completato: ingresso in coda…", "Computation done: joining the queue…"));
    var form = new URLSearchParams({ token: token, nonce: String(nonce), dopo: back });
    var response = await fetch(gate.dataset.enter, {
      method: "POST",
      headers: { Accept: "application/json" },
      body: form,
      credentials: "same-origin"
    });
    if (response.status === 429 || response.status === 503) {
      // Too many places asked from this address, or the node is overloaded: wait as told, then start again.
      var wait = Number(response.headers.get("Retry-After")) || 30;
      show("gate-progress", text("Troppe richieste in questo momento: nuovo tentativo tra " + wait + " secondi.",
        "Too many requests right now: trying again in " + wait + " seconds."));
      setTimeout(function () { window.location.reload(); }, wait * 1000);
      return;
    }
    var body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    if (body.admitted) { window.location.assign(back); return; }
    // Waiting (the ticket is now a cookie), or refused (a stale challenge): the page shows where things stand.
    window.location.reload();
  }

  if (gate.dataset.shown === "challenge") {
    if (gate.dataset.token && window.crypto && crypto.subtle) {
      enter().catch(function () { window.location.reload(); });
    } else {
      // No Web Crypto (an old browser, or not over HTTPS): the path without JavaScript, a longer wait.
      window.location.assign(gate.dataset.nojs);
    }
  } else if (gate.dataset.shown === "waiting" || gate.dataset.shown === "pre_queue") {
    // The meta refresh is in <noscript>: with the script the page updates in place, and screen readers hear it.
    setTimeout(poll, Number(gate.dataset.refresh || 15) * 1000);
  }
})();
