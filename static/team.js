// The team pages: copy a link (an invitation or a reset-password link) to the clipboard.
(function () {
  "use strict";

  function copied(button) {
    var label = button.textContent;
    button.textContent = gettext("Copied");
    setTimeout(function () { button.textContent = label; }, 1500);
  }

  function copyOldWay(button, input, text) {
    // Plain http, or the clipboard refused: copy the selected input, else let the person copy it by hand.
    if (input && document.execCommand("copy")) copied(button);
    else window.prompt(gettext("Copy the link:"), text);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-from]");
    if (!button) return;
    var input = button.dataset.copyFrom ? document.getElementById(button.dataset.copyFrom) : null;
    var text = input ? input.value : button.dataset.copy;
    if (input) { input.focus(); input.select(); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { copied(button); },
        function () { copyOldWay(button, input, text); }
      );
    } else {
      copyOldWay(button, input, text);
    }
  });
})();
