/* Behaviour every page shares, kept out of the templates: the content security policy allows
   scripts from this site's files only (no inline <script>, no onclick=; docs/SECURITY.md). */
(function () {
  "use strict";

  // <button data-confirm="question"> in a form: asks before the form is sent.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Progress bars: the width comes from data-progress (a style attribute would be inline CSS).
  function drawProgress(root) {
    root.querySelectorAll(".progress-bar[data-progress]").forEach(function (bar) {
      bar.style.width = bar.getAttribute("data-progress") + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawProgress(document); });
  document.body.addEventListener("htmx:load", function (event) { drawProgress(event.target); });
})();
