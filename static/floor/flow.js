// A floor flow's page. The page owns the scanner: each scan, wherever the focus was, and each
// button becomes an event with a client-made id, kept in IndexedDB (outbox.js) and sent in
// order to /api/floor/<flow>; the answer redraws the flow's panel without a reload. Offline,
// or signed out while idle, the events wait (and the page says so) and go out in order once
// the network or the person is back, each applied once by its id. An event the service
// refuses changes nothing; one refused after waiting is listed for the worker to look at.

import { call, currentToken, freshToken, refusalOf } from "./api.js";
import { play } from "./feedback.js";
import * as outbox from "./outbox.js";
import { captureScans, scannerSettings } from "./scanner.js";
import { signInForm } from "./signin.js";

const root = document.querySelector("[data-flow]");
const flow = root.dataset.flow;
const panel = root.querySelector("[data-panel]");
const message = root.querySelector("[data-message]");
const queueLine = root.querySelector("[data-queue]");
const refusedBox = root.querySelector("[data-refused]");
const refusedList = root.querySelector("[data-refused-list]");
const typedBox = root.querySelector("[data-typed-code]");
const dialog = root.querySelector("[data-signin-dialog]");

// Retry a lost connection after these many milliseconds, then every last one.
const RETRY_MS = [250, 500, 1000, 2000, 4000];
// A server error on one event is tried this often before the event is set aside as refused.
const SERVER_TRIES = 3;

let user = document.body.dataset.user;
let waiting = []; // events not answered yet, oldest first
let sending = false;
let offline = false;
let signedOut = false;
let misses = 0;
let answered = 0;
let loaded = false; // the events kept from before this page go first

function say(text, outcome) {
  message.textContent = text;
  message.className = `message ${outcome}`;
  message.hidden = !text;
}

function describe(event) {
  if (event.body.scan) return `Scan ${event.body.scan.code.replaceAll("\x1d", " ")}`;
  return `${event.body.action.name} (${event.flow})`;
}

function showQueue() {
  const mine = waiting.filter((e) => e.user === user);
  const others = waiting.length - mine.length;
  const parts = [];
  if (offline) parts.push(`No connection: ${mine.length} waiting here, sent when it is back.`);
  else if (signedOut) parts.push(`Signed out: ${mine.length} waiting for you to sign in.`);
  else if (mine.length > 1) parts.push(`Sending ${mine.length}…`);
  if (others) parts.push(`${others} of another person wait for them to sign in here.`);
  queueLine.textContent = parts.join(" ");
  queueLine.hidden = parts.length === 0;
  queueLine.classList.toggle("offline", offline || signedOut);
  root.dataset.waiting = String(mine.length);
}

// Everything waiting was made before a pause: its answers are not the worker's last scan.
function markWaiting() {
  for (const event of waiting) event.replay = true;
}

function enqueue(body) {
  const event = { scan_id: outbox.newId(), flow, user, body, made: Date.now(), replay: offline || signedOut };
  waiting.push(event);
  event.saved = outbox.add({ scan_id: event.scan_id, flow, user, body, made: event.made })
    .then((seq) => { event.seq = seq; })
    .catch(() => { /* private mode without IndexedDB: the page still sends it */ });
  showQueue();
  pump();
}

// Answered: out of the queue at once, and out of IndexedDB after (a copy left there by a
// closed tab is sent again and answered as before, by its id).
function forget(event) {
  waiting = waiting.filter((e) => e !== event);
  event.saved.then(() => event.seq !== undefined && outbox.remove(event.seq)).catch(() => {});
}

// The panel drawn anew, keeping what the worker is typing and where.
function swap(html) {
  const kept = new Map();
  for (const field of panel.querySelectorAll("input[id], select[id]")) {
    if (field.dataset.dirty) kept.set(field.id, field.value);
  }
  const opened = [...panel.querySelectorAll("details[id][open]")].map((d) => d.id);
  const focused = panel.contains(document.activeElement) ? document.activeElement.id : "";
  panel.innerHTML = html;
  for (const [id, value] of kept) {
    const field = document.getElementById(id);
    if (field && panel.contains(field)) {
      field.value = value;
      field.dataset.dirty = "1";
    }
  }
  for (const id of opened) document.getElementById(id)?.setAttribute("open", "");
  if (focused) document.getElementById(focused)?.focus({ preventScroll: true });
  follow();
}

function answer(event, body) {
  answered += 1;
  root.dataset.answered = String(answered);
  if (event.flow !== flow) return;
  swap(body.panel);
  say(body.message, body.outcome);
  message.dataset.scanId = event.scan_id;
  if (!event.replay) play(body.outcome);
}

function refuse(event, text) {
  answered += 1;
  root.dataset.answered = String(answered);
  play("bad");
  // Seen at once when it was the last thing done; listed when it waited, or others follow.
  if (!event.replay) {
    say(text, "bad");
    message.dataset.scanId = event.scan_id;
  }
  if (event.replay || waiting.some((e) => e.user === user)) {
    const item = document.createElement("li");
    const what = document.createElement("b");
    what.textContent = describe(event);
    const why = document.createElement("span");
    why.textContent = ` ${text} `;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "secondary";
    dismiss.textContent = "Seen";
    dismiss.addEventListener("click", () => {
      item.remove();
      refusedBox.hidden = !refusedList.children.length;
    });
    item.append(what, why, dismiss);
    refusedList.append(item);
    refusedBox.hidden = false;
  }
}

function retryLater(text) {
  if (!offline) markWaiting();
  offline = true;
  if (text) say(text, "bad");
  showQueue();
  const wait = RETRY_MS[Math.min(misses, RETRY_MS.length - 1)];
  misses += 1;
  clearTimeout(retryLater.timer);
  retryLater.timer = setTimeout(pump, wait);
}

function signedOutNow() {
  if (!signedOut) markWaiting();
  signedOut = true;
  showQueue();
  if (!dialog.open) {
    dialog.showModal();
    signin.reset();
    play("warn");
  }
}

async function pump() {
  if (sending || !loaded) return;
  sending = true;
  let serverErrors = 0;
  let csrfTries = 0;
  try {
    for (;;) {
      const event = waiting.find((e) => e.user === user);
      if (!event || signedOut) break;
      let reply;
      try {
        reply = await call("POST", `/api/floor/${event.flow}`, { scan_id: event.scan_id, ...event.body });
      } catch {
        retryLater("");
        break;
      }
      if (reply.status === 401) {
        signedOutNow();
        break;
      }
      const code = reply.body && reply.body.error && reply.body.error.code;
      if (reply.status === 400 && code === "csrf_failed" && csrfTries < 2) {
        csrfTries += 1;
        await freshToken().catch(() => {});
        continue;
      }
      if (reply.status === 500 && serverErrors + 1 < SERVER_TRIES) {
        serverErrors += 1;
        continue;
      }
      if (reply.status >= 502 || reply.status === 429 || reply.status === 408) {
        retryLater("The service is busy or restarting: what you scan waits here.");
        break;
      }
      if (offline) {
        offline = false;
        say("Connected again: sending what waited.", "warn");
      }
      misses = 0;
      serverErrors = 0;
      csrfTries = 0;
      forget(event);
      if (reply.status === 200) answer(event, reply.body);
      else refuse(event, refusalOf(reply));
      showQueue();
    }
  } finally {
    sending = false;
    showQueue();
  }
}

// What a button sends: the fields of its panel part, and its own data-values-* settings.
function valuesOf(element) {
  const values = {};
  const part = element.closest("[data-values]");
  if (part) {
    for (const field of part.querySelectorAll("[data-field]")) {
      values[field.dataset.field] = field.value;
      delete field.dataset.dirty;
    }
  }
  for (const [key, value] of Object.entries(element.dataset)) {
    if (key.startsWith("values") && key.length > 6) values[key[6].toLowerCase() + key.slice(7)] = value;
  }
  return values;
}

function act(name, element) {
  enqueue({ action: { name, values: valuesOf(element) } });
}

panel.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action]");
  if (!button || !panel.contains(button)) return;
  event.preventDefault();
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  act(button.dataset.action, button);
});

// A typed value that is its own step (a count, the units in hand) is sent when it is
// committed: Enter or leaving the field. Enter in any other field sends nothing at all.
function commit(field) {
  // A box left empty says nothing (counts are refused without one, never taken as 0).
  if (field.dataset.sent === field.value || !field.value.trim()) return;
  field.dataset.sent = field.value;
  act(field.dataset.change, field);
}

// A typed value replaces the one shown: its old figure is selected on entering the field.
panel.addEventListener("focusin", (event) => {
  if (event.target.matches("input[data-change]")) event.target.select();
});
panel.addEventListener("input", (event) => {
  event.target.dataset.dirty = "1";
});
panel.addEventListener("change", (event) => {
  const field = event.target.closest("[data-change]");
  if (field) commit(field);
});
panel.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !event.target.matches("input")) return;
  event.preventDefault();
  if (event.target.matches("[data-change]")) commit(event.target);
});

// A code typed by hand (a torn label): sent as typed when Enter is pressed in its box.
typedBox.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const code = typedBox.value.trim();
  if (!code) return;
  typedBox.value = "";
  enqueue({ scan: { code, entry: "keyboard" } });
});

const signin = signInForm(dialog.querySelector("form[data-signin]"), (who) => {
  if (who.name !== user) {
    // Another person: their own place in the flow, their own waiting scans.
    window.location.reload();
    return;
  }
  signedOut = false;
  dialog.close();
  say("Signed in again: going on where you were.", "warn");
  showQueue();
  pump();
});
dialog.addEventListener("cancel", (event) => event.preventDefault()); // Escape keeps it open

captureScans({
  ...scannerSettings(),
  typedBox,
  onScan: (code, entry) => {
    if (dialog.open && signin.scanned(code)) return;
    enqueue({ scan: { code, entry } });
    if (dialog.open) say(`Kept ${code}: it goes through once you sign in.`, "warn");
  },
});

// The camera: the live detector where the browser has one, else a photo the service reads.
async function decodePhoto(file) {
  const body = new FormData();
  body.append("image", file);
  const response = await fetch("/api/barcodes/decode", {
    method: "POST", body, headers: { "X-CSRFToken": currentToken() }, credentials: "same-origin",
  });
  const reply = { status: response.status, body: await response.json().catch(() => null) };
  if (response.status !== 200) throw new Error(refusalOf(reply));
  return reply.body.codes;
}

async function detectLive(button) {
  const detector = new BarcodeDetector();
  const video = document.createElement("video");
  video.className = "camera";
  video.setAttribute("playsinline", "");
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.srcObject = stream;
  button.after(video);
  await video.play();
  const stop = () => { stream.getTracks().forEach((t) => t.stop()); video.remove(); };
  for (;;) {
    const found = await detector.detect(video);
    if (found.length) {
      stop();
      return found[0].rawValue;
    }
    await new Promise((resolve) => setTimeout(resolve, 120));
  }
}

function offerCamera() {
  const button = root.querySelector("[data-camera]");
  const picker = document.createElement("input");
  picker.type = "file";
  picker.accept = "image/*";
  picker.capture = "environment";
  picker.hidden = true;
  picker.dataset.photo = "";
  button.after(picker);
  const use = (code) => enqueue({ scan: { code, entry: "camera" } });
  picker.addEventListener("change", async () => {
    if (!picker.files.length) return;
    try {
      const codes = await decodePhoto(picker.files[0]);
      if (codes.length) use(codes[0].text);
      else {
        say("No barcode found in the photo: fill the frame with the code and try again.", "bad");
        play("bad");
      }
    } catch (error) {
      say(error.message, "bad");
      play("bad");
    }
    picker.value = "";
  });
  button.hidden = false;
  button.addEventListener("click", async () => {
    if ("BarcodeDetector" in window && window.isSecureContext && navigator.mediaDevices) {
      try {
        use(await detectLive(button));
        return;
      } catch {
        // No permission, or no detector for these formats: a photo instead.
      }
    }
    picker.click();
  });
}

// A pack station's page follows its bench: what the station's own scanner did (through the
// station agent) redraws the panel, and the scale's reading fills an untouched weight field.
async function follow() {
  const bench = panel.querySelector("[data-bench]");
  clearTimeout(follow.timer);
  if (!bench) return;
  follow.timer = setTimeout(async () => {
    try {
      if (!waiting.length && !signedOut) {
        const reply = await call("GET", `/pack/bench/${encodeURIComponent(bench.dataset.bench)}.json`);
        if (reply.status === 200) {
          const state = reply.body;
          const moved = String(state.version) !== bench.dataset.version;
          const failed = state.failing > Number(bench.dataset.failing || 0);
          if (moved || String(state.failing) !== (bench.dataset.failing || "0")) {
            const view = await call("GET", `/api/floor/${flow}`);
            if (view.status === 200) {
              swap(view.body.panel);
              if (moved && state.outcome) {
                say(state.message, state.outcome);
                play(state.outcome);
              } else if (failed) {
                say("A label did not print: print it on another printer, or try again.", "bad");
                play("bad");
              }
              return;
            }
          }
          const weight = panel.querySelector("[data-field=weight_kg]");
          if (weight && !weight.dataset.dirty && state.scale_g !== null) {
            weight.value = (state.scale_g / 1000).toFixed(3);
          }
        }
      }
    } catch {
      // The network hiccupped: the next tick asks again.
    }
    follow();
  }, 500);
}

window.addEventListener("online", () => { misses = 0; pump(); });
offerCamera();
follow();
outbox.all().then((kept) => {
  // Left by a reload, a closed tab or a sign-out: sent first, in the order they were made.
  const known = new Set(waiting.map((e) => e.scan_id));
  const earlier = kept.filter((e) => !known.has(e.scan_id))
    .map((e) => ({ ...e, replay: true, saved: Promise.resolve() }));
  waiting = [...earlier, ...waiting];
}).catch(() => {}).finally(() => {
  loaded = true;
  if (root.dataset.station) enqueue({ action: { name: "station", values: { station: root.dataset.station } } });
  showQueue();
  pump();
});
showQueue();
