/* troth cookie consent: dependency-free banner driven by the policy (GET /consent/banner-config).
 * Necessary cookies always on, the rest off until chosen; reject is as easy as accept; scripts
 * <script type="text/plain" data-category="..."> run only after consent; cookies of refused or
 * withdrawn categories are deleted; a new policy version asks again; Global Privacy Control
 * (navigator.globalPrivacyControl) is honoured and shown. Every decision is POSTed to the ledger.
 * Any element with [data-troth-open] reopens the settings. API: window.trothConsent.
 * troth may run on another origin than the page (data-config="https://troth.example/...", and
 * the page's origin passed to `troth serve --allow-origin`): its endpoint is resolved against
 * the config URL and requests carry credentials, so troth's visitor cookie goes with them.
 */
(function () {
  "use strict";
  var STORE = "troth_consent";
  var me = document.currentScript;
  var configUrl = new URL(
    (me && me.getAttribute("data-config")) || "/consent/banner-config", document.baseURI
  ).href;
  var cfg = null;
  var dialog = null;
  var lastFocus = null;
  var gpc = navigator.globalPrivacyControl === true;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }

  function readStored() {
    var m = document.cookie.match(/(?:^|;\s*)troth_consent=([^;]*)/);
    if (!m) { return null; }
    try { return JSON.parse(decodeURIComponent(m[1])); } catch (e) { return null; }
  }

  function writeStored(choices) {
    var value = encodeURIComponent(JSON.stringify({ v: cfg.policy_version, c: choices, g: gpc }));
    document.cookie = STORE + "=" + value + "; path=/; max-age=15552000; SameSite=Lax";
  }

  function deleteCookie(name) {
    var host = location.hostname;
    var domains = ["", host, "." + host];
    var parts = host.split(".");
    if (parts.length > 2) { domains.push("." + parts.slice(-2).join(".")); }
    domains.forEach(function (d) {
      document.cookie = name + "=; path=/; max-age=0" + (d ? "; domain=" + d : "");
    });
  }

  function gpcOff(cat) { return gpc && cat.gpc_off; }

  function apply(choices) {
    cfg.categories.forEach(function (cat) {
      var on = cat.required || choices[cat.id] === true;
      if (on) {
        var blocked = document.querySelectorAll(
          'script[type="text/plain"][data-category="' + cat.id + '"]');
        Array.prototype.forEach.call(blocked, function (old) {
          var s = document.createElement("script");
          Array.prototype.forEach.call(old.attributes, function (a) {
            if (a.name !== "type") { s.setAttribute(a.name, a.value); }
          });
          s.setAttribute("data-troth-active", "1");
          if (!old.src) { s.text = old.text; }
          old.parentNode.replaceChild(s, old);
        });
      } else {
        cat.cookies.forEach(function (c) { deleteCookie(c.name); });
      }
    });
    document.documentElement.setAttribute("data-troth-consent", JSON.stringify(choices));
  }

  function post(choices) {
    return fetch(new URL(cfg.endpoint, configUrl).href, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ policy_version: cfg.policy_version, choices: choices, gpc: gpc })
    }).then(function (r) {
      document.documentElement.setAttribute("data-troth-posted", String(r.status));
      return r;
    }).catch(function () {
      document.documentElement.setAttribute("data-troth-posted", "error");
    });
  }

  function decide(choices) {
    cfg.categories.forEach(function (cat) {
      if (cat.required) { choices[cat.id] = true; }
      if (gpcOff(cat)) { choices[cat.id] = false; }
    });
    writeStored(choices);
    apply(choices);
    close();
    return post(choices);
  }

  function all(value) {
    var c = {};
    cfg.categories.forEach(function (cat) { c[cat.id] = cat.required ? true : value; });
    return c;
  }

  function fromBoxes() {
    var c = {};
    cfg.categories.forEach(function (cat) {
      var box = document.getElementById("troth-cat-" + cat.id);
      c[cat.id] = cat.required ? true : !!(box && box.checked);
    });
    return c;
  }

  function close() {
    if (dialog) { dialog.remove(); dialog = null; }
    if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
  }

  function open() {
    if (dialog) { dialog.querySelector("button").focus(); return; }
    lastFocus = document.activeElement;
    var stored = readStored();
    var current = stored && stored.v === cfg.policy_version ? stored.c : {};
    dialog = el("div", { "class": "troth-banner", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "troth-title", "aria-describedby": "troth-text", id: "troth-banner" });
    dialog.appendChild(el("h2", { id: "troth-title", tabindex: "-1" }, "Cookies on this site"));
    var text = cfg.organisation + " uses necessary cookies to run this site. With your " +
      "permission we also use the cookies below. You can change your choice at any time.";
    dialog.appendChild(el("p", { id: "troth-text" }, text));
    if (gpc) {
      dialog.appendChild(el("p", { id: "troth-gpc-note", "class": "troth-gpc", role: "status" },
        "Your browser sends a Global Privacy Control signal: we do not sell or share your " +
        "data or use it for targeted ads, whatever you choose here."));
    }
    var list = el("fieldset", { "class": "troth-cats" });
    list.appendChild(el("legend", {}, "Cookie categories"));
    cfg.categories.forEach(function (cat) {
      var row = el("div", { "class": "troth-cat" });
      var box = el("input", { type: "checkbox", id: "troth-cat-" + cat.id, name: cat.id,
        "aria-describedby": "troth-desc-" + cat.id });
      box.checked = cat.required || (current[cat.id] === true && !gpcOff(cat));
      if (cat.required || gpcOff(cat)) { box.disabled = true; }
      row.appendChild(box);
      row.appendChild(el("label", { "for": "troth-cat-" + cat.id }, cat.name));
      var names = cat.cookies.map(function (c) { return c.name; }).join(", ");
      var desc = cat.description + (names ? " Cookies: " + names + "." : "") +
        (gpcOff(cat) ? " Off: Global Privacy Control." : "");
      row.appendChild(el("p", { id: "troth-desc-" + cat.id, "class": "troth-desc" }, desc));
      list.appendChild(row);
    });
    dialog.appendChild(list);
    var buttons = el("div", { "class": "troth-buttons" });
    var reject = el("button", { type: "button", id: "troth-reject", "class": "troth-btn" },
      "Reject all");
    var save = el("button", { type: "button", id: "troth-save", "class": "troth-btn" },
      "Save choices");
    var accept = el("button", { type: "button", id: "troth-accept", "class": "troth-btn" },
      "Accept all");
    reject.addEventListener("click", function () { decide(all(false)); });
    save.addEventListener("click", function () { decide(fromBoxes()); });
    accept.addEventListener("click", function () { decide(all(true)); });
    [reject, save, accept].forEach(function (b) { buttons.appendChild(b); });
    dialog.appendChild(buttons);
    dialog.addEventListener("keydown", function (ev) {
      if (ev.key !== "Tab") { return; }
      var f = dialog.querySelectorAll("button, input:not([disabled])");
      var first = f[0], last = f[f.length - 1];
      if (ev.shiftKey && document.activeElement === first) { last.focus(); ev.preventDefault(); }
      else if (!ev.shiftKey && document.activeElement === last) { first.focus(); ev.preventDefault(); }
    });
    document.body.appendChild(dialog);
    reject.focus();
  }

  function start(config) {
    cfg = config;
    var stored = readStored();
    var gpcNow = document.getElementById("gpc-state");
    if (gpcNow) { gpcNow.textContent = gpc ? "Global Privacy Control: on" : ""; }
    if (stored && stored.v === cfg.policy_version) {
      apply(stored.c);
    } else {
      apply(all(false));
      open();
    }
    document.addEventListener("click", function (ev) {
      var t = ev.target;
      if (t && t.closest && t.closest("[data-troth-open]")) { open(); }
    });
    document.documentElement.setAttribute("data-troth-ready", "1");
  }

  window.trothConsent = {
    open: function () { if (cfg) { open(); } },
    get: function () { var s = readStored(); return s ? s.c : null; },
    gpc: gpc
  };
  fetch(configUrl, { credentials: "include" })
    .then(function (r) { return r.json(); })
    .then(start);
})();
