// The scanner set-up page: records exactly what the scanner types for each test code (every
// key, control characters included, and the time between keys), then asks the service what
// that says about the scanner's settings.
//
// The capture field is not a data-scan field, so scan.js leaves it alone; this script takes
// every key itself (preventDefault) so that nothing the browser or a script does to typed
// text can hide what the scanner sent.

// A scan that ends with neither Enter nor Tab is over after this much silence.
const QUIET_MS = 600;
// Named keys that stand for a control character a scanner may send.
const NAMED = { Escape: "\x1b", Backspace: "\b" };
const MODIFIERS = new Set(["Shift", "Control", "Alt", "AltGraph", "Meta", "CapsLock", "NumLock"]);

const root = document.querySelector("[data-setup]");
const field = document.getElementById("capture");
const prompt = document.getElementById("prompt");
const progress = document.getElementById("progress");
const results = document.getElementById("results");
const items = [...document.querySelectorAll(".sheet [data-code]")];

// Each code printed at its true size; the width is set here because the page's security
// policy allows no style attribute in the page itself.
for (const image of document.querySelectorAll(".sheet img[data-width-mm]")) {
  image.style.width = `${image.dataset.widthMm}mm`;
}

let captures = [];
let current = null;
let silence = null;

// Ctrl+@ .. Ctrl+_ are the control characters 0..31: a GS sent as Ctrl+] becomes "\x1d".
function controlCharacter(key) {
  const code = key.toUpperCase().charCodeAt(0);
  return key.length === 1 && code >= 64 && code <= 95 ? String.fromCharCode(code - 64) : null;
}

function begin() {
  clearTimeout(silence);
  const item = items[captures.length];
  items.forEach((each, i) => {
    each.dataset.state = i < captures.length ? "done" : i === captures.length ? "current" : "";
  });
  if (!item) return;
  current = { code: item.dataset.code, text: "", end_key: "", gaps_ms: [], last: null };
  prompt.textContent = `Scan code ${captures.length + 1} of ${items.length}: ${item.dataset.title}`;
  field.value = "";
  field.focus({ preventScroll: true });
}

function record(characters, time) {
  if (!current || !characters) return;
  for (const character of characters) {
    if (current.last !== null) current.gaps_ms.push(Math.round((time - current.last) * 10) / 10);
    current.last = time;
    current.text += character;
  }
  clearTimeout(silence);
  silence = setTimeout(() => finish(""), QUIET_MS);
}

function finish(endKey) {
  clearTimeout(silence);
  if (!current || (endKey && !current.text)) return; // an end key with nothing before it
  const { last, ...capture } = current;
  captures.push({ ...capture, end_key: endKey });
  progress.textContent = `Code ${captures.length}: ${capture.text.length} characters received.`;
  current = null;
  begin();
  if (captures.length === items.length) send();
}

field.addEventListener("keydown", (event) => {
  if (!current || event.isComposing || MODIFIERS.has(event.key)) return;
  // Alt+numpad codes and text from an input method arrive as input events instead.
  if (event.altKey || event.key === "Unidentified" || event.key === "Process") return;
  event.preventDefault();
  if (event.key === "Enter" || event.key === "Tab") finish(event.key);
  else if (event.ctrlKey) record(controlCharacter(event.key), event.timeStamp);
  else if (event.key.length === 1) record(event.key, event.timeStamp);
  else record(NAMED[event.key], event.timeStamp);
});

// Characters no key produced (an input method, a character missing from the keyboard).
field.addEventListener("input", (event) => {
  record(event.data, event.timeStamp);
  field.value = "";
});

function show(answer) {
  const list = results.querySelector("[data-testid=findings]");
  list.replaceChildren(...answer.findings.map((finding) => {
    const li = document.createElement("li");
    li.className = finding.severity;
    li.dataset.topic = finding.topic;
    li.textContent = finding.message;
    return li;
  }));
  const table = results.querySelector("[data-testid=readings]");
  table.replaceChildren();
  for (const reading of answer.readings) {
    const row = table.insertRow();
    row.insertCell().textContent = reading.title;
    row.insertCell().textContent = reading.received + (reading.as_printed ? " ✓" : "");
  }
  results.querySelector("[data-testid=settings]").textContent = answer.settings;
  results.hidden = false;
  prompt.textContent = "All codes scanned.";
  results.scrollIntoView();
}

async function send() {
  prompt.textContent = "Reading the scans…";
  const token = document.querySelector("meta[name=csrf-token]").content;
  let message;
  try {
    const response = await fetch(root.dataset.diagnoseUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      credentials: "same-origin",
      body: JSON.stringify({ captures }),
    });
    if (response.ok) return show(await response.json());
    const answer = await response.json().catch(() => null);
    message = answer && answer.error ? answer.error.message : `The service answered ${response.status}: sign in again and start again.`;
  } catch {
    message = "The service does not answer: check the network and start again.";
  }
  prompt.textContent = message;
}

function restart() {
  captures = [];
  results.hidden = true;
  progress.textContent = "";
  begin();
}

root.addEventListener("click", (event) => {
  const action = event.target.closest("[data-action]")?.dataset.action;
  if (action === "skip" && current) {
    current.text = "";
    finish("");
    field.focus({ preventScroll: true });
  } else if (action === "restart") {
    restart();
  } else if (action === "print") {
    window.print();
  }
});

results.addEventListener("click", async (event) => {
  if (!event.target.closest("[data-action=copy]")) return;
  const text = results.querySelector("[data-testid=settings]").textContent;
  try {
    await navigator.clipboard.writeText(text);
    event.target.textContent = "Copied";
  } catch {
    // No clipboard on a plain-HTTP page: select the text for the person to copy.
    getSelection().selectAllChildren(results.querySelector("[data-testid=settings]"));
  }
});

// A tap on the page (not on a control) gives the capture field its focus back.
document.addEventListener("click", (event) => {
  if (current && !event.target.closest("button, a, input, pre")) field.focus({ preventScroll: true });
});

restart();

// The prefix check: what the scanner typed into the box, read when it sends Enter.
const check = document.querySelector("[data-prefix-check]");
if (check) {
  const box = check.querySelector("#prefix-check");
  const result = check.querySelector("[data-testid=prefix-result]");
  box.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const text = box.value;
    const { prefix, suffix } = check.dataset;
    box.value = "";
    if (!text) return;
    const starts = text.startsWith(prefix);
    const ends = !suffix || text.endsWith(suffix);
    result.textContent = starts && ends
      ? `Set: the scan came as ${prefix}…${suffix}, and the pages will take the prefix off.`
      : `Not set: the scan began with "${text.slice(0, 3)}", not "${prefix}". Program the scanner as above, then scan again.`;
    result.className = starts && ends ? "message good" : "message bad";
  });
}
