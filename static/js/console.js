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
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });
})();
