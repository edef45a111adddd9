// The scan input of every page. Keyboard-wedge scanners type into the focused field and
// press Enter, so the field marked data-scan must hold the focus whenever the user is not
// working another control; Tab as a scanner's end key submits too.

const REFOCUS_MS = 150;

function scanField() {
  return document.querySelector("[data-scan]");
}

function userIsElsewhere(field) {
  const active = document.activeElement;
  return active && active !== field && active !== document.body &&
    active.matches("input, select, textarea, button, a");
}

function keepFocus(field) {
  const refocus = () => {
    if (!userIsElsewhere(field)) field.focus({ preventScroll: true });
  };
  field.addEventListener("blur", () => setTimeout(refocus, REFOCUS_MS));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refocus();
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("input, select, textarea, button, a")) refocus();
  });
  refocus();
}

function submitOnTab(field) {
  field.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && field.value.trim() !== "" && field.form) {
      event.preventDefault();
      field.form.requestSubmit();
    }
  });
}

const field = scanField();
if (field) {
  keepFocus(field);
  submitOnTab(field);
}
