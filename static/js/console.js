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
  // One live region says what an htmx swap changed: its message, or the first error beside a field.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var announcer = document.getElementById("announcer");
    var target = evt.detail && evt.detail.target;
    if (!announcer || !target || !target.querySelector) return;
    var elt = evt.detail.elt;  // a poll ("every 5s") repeats itself: only what a person asked for is said
    if (elt && elt.getAttribute && /every /.test(elt.getAttribute("hx-trigger") || "")) return;
    var said = target.querySelector(".flash, small.error, .error");
    if (!said && target.matches && target.matches(".flash, .error")) said = target;
    if (said && said.textContent.trim()) {
      announcer.textContent = "";
      announcer.textContent = said.textContent.trim();
    }
  });
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
