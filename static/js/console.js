// Small glue for htmx; no inline scripts (the CSP allows only files from this origin).
(function () {
  "use strict";
  function showError(text) {
    var box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var msg = doc.querySelector("p");
    showError((msg && msg.textContent) || ("Request failed (" + xhr.status + ")."));
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The console did not answer. Check your connection and try again.");
  });
  function trigger(elt) {
    return (elt && elt.getAttribute && elt.getAttribute("hx-trigger")) || "";
  }
  // Each swap remembers, by its own request (its XMLHttpRequest: htmx gives each event a fresh detail),
  // where focus was: the focused element's id, else the nearest container with an id (a tick's item).
  var focusBefore = new WeakMap();
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var a = document.activeElement, xhr = evt.detail && evt.detail.xhr;
    if (!xhr || !a || a === document.body) return;
    var box = a.closest && a.closest("li[id], tr[id], form[id], section[id], div[id]");
    focusBefore.set(xhr, {id: a.id || null, box: box ? box.id : null});
  });
  // After the swap settles: one live region says what changed (its message, or the first error beside a
  // field, or the new state of the item acted on), and focus never falls to <body>.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var detail = evt.detail || {}, target = detail.target, back = detail.xhr && focusBefore.get(detail.xhr);
    var fresh = target && target.id ? document.getElementById(target.id) || target : target;
    var announcer = document.getElementById("announcer");
    // A poll repeats itself: never said. A panel refreshing on an event says only the item that was acted
    // on (a checklist tick answers by refreshing the checklist); an answer to a click says its message.
    var how = trigger(detail.elt);
    if (announcer && fresh && fresh.querySelector && !/every /.test(how)) {
      var said = /from:body/.test(how) ? null : fresh.querySelector(".flash, small.error, .error");
      if (!said && !/from:body/.test(how) && fresh.matches && fresh.matches(".flash, .error")) said = fresh;
      var box = back && back.box && document.getElementById(back.box);
      var words = said ? said.textContent : "";
      if (!words.trim() && box && fresh.contains(box) && box.matches("li, tr")) {
        var copy = box.cloneNode(true);
        copy.querySelectorAll("form, button, .tick").forEach(function (e) { e.remove(); });
        words = (box.classList.contains("done") ? "Done: " : box.classList.contains("open") ? "Not done: " : "")
          + copy.textContent;
      }
      words = words.replace(/\s+/g, " ").trim().slice(0, 300);
      if (words) {
        announcer.textContent = "";
        announcer.textContent = words;
      }
    }
    var a = document.activeElement;
    if (!back || (a && a !== document.body && document.contains(a))) return;
    var el = back.id && document.getElementById(back.id);
    var container = back.box && document.getElementById(back.box);
    if (!el && container) {
      el = container.querySelector("button:not([disabled]), [href], input:not([type=hidden]), select, textarea") || container;
    }
    if (!el) return;
    if (!el.matches("button, [href], input, select, textarea, [tabindex]")) el.setAttribute("tabindex", "-1");
    el.focus({preventScroll: true});
  });
  // Unsaved edits are not dropped silently: a link followed (a boosted "Continue: …" included) while a
  // form that saves on submit holds changes asks first. Fields that save themselves (hx-post) and GET
  // filter forms are not guarded; a submitted form is clean again.
  var dirty = new Set();
  function guarded(form) {
    return form && (form.getAttribute("method") || "").toLowerCase() === "post" && !form.hasAttribute("data-no-guard");
  }
  document.addEventListener("input", function (evt) {
    var field = evt.target, form = field && field.form;
    if (guarded(form) && !field.hasAttribute("hx-post")) dirty.add(form);
  });
  document.addEventListener("submit", function (evt) { dirty.delete(evt.target); }, true);
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("a[href]");
    if (!link || link.getAttribute("href").charAt(0) === "#" || link.hasAttribute("download") || link.target === "_blank") return;
    var unsaved = Array.from(dirty).filter(function (form) { return document.contains(form); });
    if (!unsaved.length) return;
    if (window.confirm("Some changes on this page are not saved. Leave without saving them?")) {
      dirty.clear();
    } else {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
  // A table that scrolls sideways in its own box (on a phone) must be reachable by keyboard to scroll:
  // it joins the tab order while it overflows, and leaves it when it fits again.
  function scrollersFocusable() {
    document.querySelectorAll(".table, .table-scroll").forEach(function (el) {
      var overflows = el.scrollWidth > el.clientWidth + 1;
      if (overflows && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("data-scroll-focus", "");
      } else if (!overflows && el.hasAttribute("data-scroll-focus")) {
        el.removeAttribute("tabindex");
        el.removeAttribute("data-scroll-focus");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", scrollersFocusable);
  document.addEventListener("htmx:afterSettle", scrollersFocusable);
  window.addEventListener("resize", scrollersFocusable);
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });
})();
