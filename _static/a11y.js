// Accessibility fixes to the theme's markup, found by axe-core (tests/test_accessibility.py).
// Each is a small DOM change made as the page loads, so the theme's templates stay its own.
document.addEventListener("DOMContentLoaded", () => {
  // The search buttons show "Search Ctrl+K" but are named "Search": a speech-input user says
  // what they see, so the name includes the visible text.
  document.querySelectorAll(".search-button__button[aria-label]").forEach((button) => {
    const shown = button.innerText.replace(/\s+/g, " ").trim();
    const label = button.getAttribute("aria-label");
    if (shown && !label.toLowerCase().includes(shown.toLowerCase())) button.setAttribute("aria-label", `${label}: ${shown}`);
  });
  // The colour-mode button shows only icons whose titles ("Light", "Dark") differ from its
  // aria-label: the icons are hidden from assistive technology and the button is named by
  // its title instead.
  document.querySelectorAll(".theme-switch-button[aria-label]").forEach((button) => {
    button.querySelectorAll("i").forEach((icon) => icon.setAttribute("aria-hidden", "true"));
    button.setAttribute("title", button.getAttribute("aria-label"));
    button.removeAttribute("aria-label");
  });
  // The sidebar's logo and title sit outside every landmark: they are the way home.
  document.querySelectorAll(".sidebar-primary-items__start > .sidebar-primary-item:first-child").forEach((item) => {
    if (!item.closest("nav, [role=navigation], header, main, footer, aside")) {
      item.setAttribute("role", "navigation");
      item.setAttribute("aria-label", "Home");
    }
  });
  // The bibliography is a role=list whose entries carry the deprecated doc-biblioentry role.
  document.querySelectorAll(".citation-list[role=list] > [role=doc-biblioentry]").forEach((entry) => {
    entry.setAttribute("role", "listitem");
  });
});
