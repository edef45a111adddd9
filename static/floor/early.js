// Loaded first and at once: keys that arrive while the page and its script are still loading
// (a scan started as the page opens) are kept, with their times, for the page's scanner
// (scanner.js) to read, instead of being lost or typed into a field.
(() => {
  const keys = [];
  const listener = (event) => {
    if (event.isComposing || event.altKey || event.metaKey) return;
    keys.push({ key: event.key, code: event.code, ctrlKey: event.ctrlKey, timeStamp: event.timeStamp });
    event.preventDefault();
  };
  window.earlyKeys = { keys, listener };
  window.addEventListener("keydown", listener, true);
})();
