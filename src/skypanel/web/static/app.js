// The little JavaScript the panel needs beyond htmx: the phone-width menu and auto-submitting selects.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-nav-toggle]");
  if (toggle) {
    const open = document.body.toggleAttribute("data-nav-open");
    document.querySelectorAll("[data-nav-toggle]").forEach((el) => el.setAttribute("aria-expanded", String(open)));
  }
});
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select) select.form.requestSubmit();
});
