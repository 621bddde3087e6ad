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
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });
})();
