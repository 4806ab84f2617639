// Small behaviours htmx does not cover. Keep it small.
document.addEventListener("click", function (event) {
  var toggle = event.target.closest("[data-theme-toggle]");
  if (!toggle) return;
  var root = document.documentElement;
  var next = root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
  root.setAttribute("data-bs-theme", next);
  localStorage.setItem("theme", next);
});
