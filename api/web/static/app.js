// The web app's only script, and nothing depends on it: a page works without JavaScript.
// It keeps a filter form's changes one keystroke away (Enter submits) and focuses the first
// problem shown after a refused event, so a keyboard or screen-reader user lands on it.
document.addEventListener("DOMContentLoaded", () => {
  const refused = document.querySelector("[data-focus-first]");
  if (refused) { refused.setAttribute("tabindex", "-1"); refused.focus(); }
});
