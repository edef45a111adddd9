// The scan input of every page.
//
// Keyboard-wedge scanners type into the focused field and end with Enter or Tab, so the field
// marked data-scan keeps the focus whenever the user is not working another control. The
// module tells a scanner burst from a person typing by the time between keys, turns the GS
// separator (sent as Ctrl+] by most wedges) or the configured stand-in into ASCII 29, gives
// each scan a client-made id so a retried request is applied once, plays a good or bad sound
// with a vibration for the outcome the page shows, and offers the camera where there is one.

const REFOCUS_MS = 150;
// Scanners type a key every 2 to 20 ms; people rarely under 50 ms.
const BURST_MS = 35;
const GS = "\x1d";

const sounds = { good: [[1320, 0.08]], bad: [[220, 0.18], [0, 0.06], [220, 0.18]] };
const buzz = { good: [40], bad: [120, 60, 120] };

function newScanId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function play(outcome) {
  // Recorded on the page, so a test (or a curious supervisor) can see what was played.
  document.body.dataset.played = outcome;
  if (navigator.vibrate) navigator.vibrate(buzz[outcome]);
  try {
    const audio = new AudioContext();
    let at = audio.currentTime;
    for (const [hertz, seconds] of sounds[outcome]) {
      if (hertz) {
        const tone = audio.createOscillator();
        tone.type = outcome === "good" ? "sine" : "square";
        tone.frequency.value = hertz;
        tone.connect(audio.destination);
        tone.start(at);
        tone.stop(at + seconds);
      }
      at += seconds;
    }
  } catch {
    // No audio before the first touch on some browsers: the vibration and colour remain.
  }
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
    if (!event.target.closest("input, select, textarea, button, a, label")) refocus();
  });
  refocus();
}

function insertAtCursor(field, text) {
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? field.value.length;
  field.value = field.value.slice(0, start) + text + field.value.slice(end);
  field.selectionStart = field.selectionEnd = start + text.length;
}

function hidden(form, name) {
  let input = form.querySelector(`input[type=hidden][name="${name}"]`);
  if (!input) {
    input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    form.append(input);
  }
  return input;
}

function watchKeys(field, standin) {
  let times = [];
  field.addEventListener("focus", () => { times = []; });
  field.addEventListener("keydown", (event) => {
    if (event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) {
      event.preventDefault();
      insertAtCursor(field, GS);
    } else if ((event.key === "Tab" || event.key === "Enter") && field.value.trim() !== "") {
      event.preventDefault();
      submitScan(field, times);
      times = [];
      return;
    }
    if (event.key.length === 1 || event.key === "Unidentified") {
      if (field.value === "") times = [];
      times.push(event.timeStamp);
    }
  });
  if (standin) {
    field.addEventListener("input", () => {
      if (field.value.includes(standin)) field.value = field.value.split(standin).join(GS);
    });
  }
}

// How the scan was entered: a scanner's burst, or a person typing.
export function entryOf(times) {
  if (times.length < 4) return "keyboard";
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  return mean <= BURST_MS ? "scanner" : "keyboard";
}

function submitScan(field, times, entry) {
  const form = field.form;
  if (!form || form.dataset.sending) return;
  hidden(form, "entry").value = entry || entryOf(times);
  // One id per scan: a resubmission of this same form (a retry) carries the same id.
  const id = hidden(form, "scan_id");
  if (!id.value) id.value = newScanId();
  form.dataset.sending = "1";
  form.requestSubmit();
}

async function decodePhoto(file) {
  const body = new FormData();
  body.append("image", file);
  const token = document.querySelector("meta[name=csrf-token]").content;
  const response = await fetch("/api/barcodes/decode", {
    method: "POST", body, headers: { "X-CSRFToken": token }, credentials: "same-origin",
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error ? answer.error.message : "The photo was refused.");
  return answer.codes;
}

async function detectLive(field, button) {
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

function offerCamera(field) {
  const button = field.form && field.form.querySelector("[data-camera]");
  if (!button) return;
  const picker = document.createElement("input");
  picker.type = "file";
  picker.accept = "image/*";
  picker.capture = "environment";
  picker.hidden = true;
  picker.dataset.photo = "";
  button.after(picker);
  const use = (text) => {
    field.value = text;
    submitScan(field, [], "camera");
  };
  const fail = (message) => {
    play("bad");
    field.setCustomValidity(message);
    field.reportValidity();
    setTimeout(() => field.setCustomValidity(""), 3000);
  };
  picker.addEventListener("change", async () => {
    if (!picker.files.length) return;
    try {
      const codes = await decodePhoto(picker.files[0]);
      if (codes.length) use(codes[0].text);
      else fail("No barcode found in the photo; fill the frame with the code and try again.");
    } catch (error) {
      fail(error.message);
    }
    picker.value = "";
  });
  button.hidden = false;
  button.addEventListener("click", async () => {
    // The live detector needs a secure page and a browser that has one; else take a photo.
    if ("BarcodeDetector" in window && window.isSecureContext && navigator.mediaDevices) {
      try {
        use(await detectLive(field, button));
        return;
      } catch {
        // No camera permission or no detector for these formats: fall back to a photo.
      }
    }
    picker.click();
  });
}

const field = document.querySelector("[data-scan]");
if (field) {
  keepFocus(field);
  watchKeys(field, field.dataset.gsStandin || document.body.dataset.gsStandin || "");
  offerCamera(field);
}
if (document.body.dataset.outcome) play(document.body.dataset.outcome);
