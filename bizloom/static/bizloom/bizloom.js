// Small progressive enhancements; pages work without them.
document.addEventListener("click", function (event) {
  const toggle = event.target.closest("[data-toggle='sidebar']");
  if (!toggle) return;
  const sidebar = document.getElementById("sidebar");
  const open = sidebar.classList.toggle("open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});
document.addEventListener("keydown", function (event) {
  if (event.key === "Escape") {
    const popup = document.getElementById("search-popup");
    if (popup) popup.innerHTML = "";
  }
});
