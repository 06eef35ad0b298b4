// Progressive enhancement only: every page works without this file.
// "获取校验码" counts down while the server would refuse a new code anyway.
(function () {
  function countdown(button) {
    var left = parseInt(button.getAttribute("data-wait") || "0", 10);
    if (!left || button.dataset.counting) return;
    var label = button.textContent;
    button.dataset.counting = "1";
    button.disabled = true;
    var tick = function () {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        delete button.dataset.counting;
        return;
      }
      button.textContent = label + " (" + left + ")";
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  }
  function scan(root) {
    var buttons = (root || document).querySelectorAll("button[data-wait]");
    for (var i = 0; i < buttons.length; i++) countdown(buttons[i]);
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (event) { scan(event.target); });
})();
