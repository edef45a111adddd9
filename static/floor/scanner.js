// The page owns the scanner. A keyboard-wedge scanner types its code as a burst of keys a few
// milliseconds apart and ends it with Enter or Tab; wherever the focus is, the burst is held
// back from the field it would land in and handed over as one scan. Keys that come at a
// person's pace are given back to where they were typed, so a quantity is only ever typed.

const GS = "\x1d";
// Scanners send a key every 2 to 20 ms; people rarely under 50 ms.
const BURST_MS = 35;
// A scan has at least this many characters; fewer keys in a hurry are a person's.
const MIN_SCAN = 4;
// Keys held this long with no other key are a person's: they go where they were typed.
const SETTLE_MS = 60;
// A burst with no key for this long is whole, Enter or not.
const NO_END_KEY_MS = 800;

function editable(element) {
  return element && element.matches &&
    element.matches("input:not([type=hidden]):not([readonly]):not([type=checkbox]), textarea");
}

function insert(target, text, fallback) {
  const field = editable(target) ? target : fallback;
  if (!field) return;
  field.focus({ preventScroll: true });
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? field.value.length;
  field.setRangeText(text, start, end, "end");
  field.dispatchEvent(new Event("input", { bubbles: true }));
}

export function entryOf(times) {
  if (times.length < MIN_SCAN) return "keyboard";
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  return gaps.reduce((a, b) => a + b, 0) / gaps.length <= BURST_MS ? "scanner" : "keyboard";
}

// The scanners' settings from config.toml, which every page carries.
export function scannerSettings() {
  const data = document.body.dataset;
  return { prefix: data.prefix || "", suffix: data.suffix || "", standin: data.standin || "" };
}

// A few keys given back to a field just before a burst are the burst's own first keys, late
// because the handheld was busy: they are taken back out of the field.
const LATE_HEAD_MS = 400;

// onScan(text, "scanner") for each burst, its configured prefix and suffix taken off; typed
// keys go to their field, or to `typedBox` when no field had the focus.
export function captureScans({ onScan, typedBox, prefix = "", suffix = "", standin = "" }) {
  let held = [];
  let timer = null;
  let given = null; // the keys last given back: {field, text, end, time}

  const text = () => held.map((k) => k.key).join("");
  const isScan = () => (prefix && text().startsWith(prefix)) ||
    entryOf(held.map((k) => k.time)) === "scanner";
  const give = () => {
    if (!held.length) return;
    const field = editable(held[0].target) ? held[0].target : typedBox;
    for (const k of held) insert(k.target, k.key, typedBox);
    given = field && { field, text: text(), end: field.selectionEnd, time: held[held.length - 1].time };
    held = [];
  };
  const takeBackHead = () => {
    if (!given || !held.length || given.text.length >= MIN_SCAN) return "";
    const { field, text: head, end, time } = given;
    given = null;
    if (held[0].time - time > LATE_HEAD_MS) return "";
    if (field.value.slice(end - head.length, end) !== head) return "";
    field.setRangeText("", end - head.length, end, "end");
    field.dispatchEvent(new Event("input", { bubbles: true }));
    return head;
  };
  const emit = () => {
    let code = takeBackHead() + text();
    if (prefix && code.startsWith(prefix)) code = code.slice(prefix.length);
    if (suffix && code.endsWith(suffix)) code = code.slice(0, -suffix.length);
    if (standin) code = code.split(standin).join(GS);
    held = [];
    onScan(code, "scanner");
  };

  const onKey = (event, target) => {
    if (event.isComposing || event.altKey || event.metaKey) return;
    const gs = event.ctrlKey && (event.key === "]" || event.code === "BracketRight");
    if (event.ctrlKey && !gs) return;
    if (event.key === "Enter" || event.key === "Tab") {
      clearTimeout(timer);
      if (held.length && isScan()) {
        event.preventDefault();
        event.stopPropagation();
        emit();
      } else if (!editable(target) && (held.length || (given && given.field === typedBox))) {
        // Keys aimed at no field, then Enter: a code, slow or typed (a busy handheld slows
        // even a scanner's keys down), sent as one.
        event.preventDefault();
        event.stopPropagation();
        const code = (given && given.field === typedBox ? typedBox.value : "") + text();
        typedBox.value = "";
        held = [];
        given = null;
        if (code.trim()) onScan(code.trim(), "keyboard");
      } else {
        give();
        given = null; // a person's Enter: what they typed is theirs
      }
      return;
    }
    const key = gs ? GS : (event.key.length === 1 ? event.key : null);
    if (key === null) return; // arrows, Backspace, Shift: left alone
    event.preventDefault();
    event.stopPropagation();
    held.push({ key, time: event.timeStamp, target });
    clearTimeout(timer);
    if (suffix && text().endsWith(suffix)) {
      emit();
      return;
    }
    timer = setTimeout(() => {
      if (held.length < MIN_SCAN || !isScan()) {
        give();
        return;
      }
      // A burst paused (the handheld was busy drawing): its Enter is still to come. Only a
      // scanner set to send no end key leaves it at that: then the pause ends the scan.
      timer = setTimeout(emit, NO_END_KEY_MS);
    }, SETTLE_MS);
  };

  // Keys that came while the page was still loading (static/floor/early.js kept them).
  const early = window.earlyKeys;
  if (early) {
    window.removeEventListener("keydown", early.listener, true);
    window.earlyKeys = null;
    const noop = () => {};
    for (const key of early.keys) {
      const replay = { ...key, preventDefault: noop, stopPropagation: noop };
      if (key.key === "Enter" || key.key === "Tab") {
        clearTimeout(timer);
        if (held.length && isScan()) emit();
        else give();
      } else {
        onKey(replay, document.activeElement);
      }
    }
  }
  window.addEventListener("keydown", (event) => onKey(event, document.activeElement), true);
}
