/* Behaviour every page shares, without inline script (the Content-Security-Policy allows none: issue 15).
   [data-print] buttons print the page; forms marked [data-no-submit] are never sent (settings panels). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) { event.preventDefault(); window.print(); }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches("form[data-no-submit]")) event.preventDefault();
  });
})();
