// The little JavaScript the panel needs beyond htmx: the phone-width menu, auto-submitting selects and bar widths.
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
// The branding accent colour comes as <meta name="accent-color"> (no inline <style>: a page
// swapped in by htmx would bring one with another request's nonce, which the policy refuses).
const accent = document.querySelector('meta[name="accent-color"]');
if (accent && /^#[0-9a-fA-F]{6}$/.test(accent.content)) {
  document.documentElement.style.setProperty("--accent", accent.content);
}
// Bar widths come as data-width="<percent>" (inline style attributes are refused by the
// Content-Security-Policy); set through the CSSOM, which the policy allows, also in htmx swaps.
function applyWidths(root) {
  root.querySelectorAll("[data-width]").forEach((el) => {
    const percent = parseFloat(el.dataset.width);
    el.style.width = (Number.isFinite(percent) ? percent : 0) + "%";
  });
}
if (window.htmx) htmx.onLoad(applyWidths);
else applyWidths(document);
