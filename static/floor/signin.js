// Signing in on the page itself: scan a badge (wherever the focus is) and type its PIN, or
// type a name and its password. Used by the sign-in page, and by a floor page whose session
// ended while idle, which then goes on where it was.

import { call, freshToken, refusalOf, setToken } from "./api.js";
import { play } from "./feedback.js";
import { captureScans, scannerSettings } from "./scanner.js";

// A scanner may send the symbology's AIM identifier (]C0) before a badge.
const AIM = /^\][A-Za-z][0-9A-Za-z]/;

export function signInForm(form, onSignedIn) {
  const pattern = new RegExp(`^(?:${form.dataset.badgePattern})$`);
  const pinRequired = Boolean(form.dataset.pinRequired);
  const code = form.querySelector("[name=code]");
  const error = form.querySelector("[data-signin-error]");
  const restart = form.querySelector("[data-signin-restart]");
  let step = "who";

  const show = (name) => {
    step = name;
    for (const part of form.querySelectorAll("[data-signin-step]")) {
      const here = part.dataset.signinStep === name;
      part.hidden = !here;
      for (const input of part.querySelectorAll("input")) input.disabled = !here && input !== code;
    }
    code.readOnly = name !== "who";
    restart.hidden = name === "who";
    for (const who of form.querySelectorAll("[data-signin-who]")) who.textContent = code.value;
    const input = form.querySelector(`[data-signin-step="${name}"] input`);
    input.focus({ preventScroll: true });
    if (name !== "who") input.value = "";
  };
  const say = (message) => {
    error.textContent = message || "";
    error.hidden = !message;
  };
  const reset = () => {
    code.value = "";
    say("");
    show("who");
  };

  const submit = async () => {
    const who = code.value.trim();
    if (!who) {
      say("Scan your badge or type your name.");
      play("bad");
      return;
    }
    const badge = pattern.test(who);
    let body;
    if (step === "who") {
      if (badge && pinRequired) return show("pin");
      if (!badge) return show("password");
      body = { badge: who };
    } else if (step === "pin") {
      body = { badge: who, pin: form.querySelector("[name=pin]").value };
    } else {
      body = { name: who, password: form.querySelector("[name=password]").value };
    }
    let answer;
    try {
      if (!(await freshToken()).body) throw new Error("no session");
      answer = await call("POST", "/api/session", body);
    } catch {
      say("The service does not answer: check the Wi-Fi, then press Next again.");
      play("bad");
      return;
    }
    if (answer.status === 200) {
      say("");
      setToken(answer.body.csrf_token);
      play("good");
      onSignedIn(answer.body.user);
      return;
    }
    say(refusalOf(answer));
    play("bad");
    if (step === "pin" && answer.status === 401) show("pin"); // a wrong PIN: type it again
    else if (step === "password" && answer.status === 401) show("password");
    else reset();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  restart.addEventListener("click", (event) => {
    event.preventDefault();
    reset();
  });
  return {
    // A burst of keys while signing in: a badge starts over with it; a PIN or a password
    // typed as fast as a scanner (a keypad, a test) goes to its step. Anything else is not
    // for the sign-in (on a floor page, a scan kept for after it), unless this is the
    // sign-in page, where it is the name typed.
    scanned(text) {
      const badge = text.replace(AIM, "");
      if (pattern.test(badge)) {
        reset();
        code.value = badge;
        submit();
        return true;
      }
      const pin = form.querySelector("[name=pin]");
      const password = form.querySelector("[name=password]");
      if (step === "pin" && /^\d+$/.test(text) && text.length <= (pin.maxLength > 0 ? pin.maxLength : 12)) {
        pin.value = text;
      } else if (step === "password" && document.activeElement === password) {
        password.value = text;
      } else if (step === "who" && !form.closest("dialog")) {
        code.value = text;
      } else {
        return false;
      }
      submit();
      return true;
    },
    reset,
    focus: () => show(step),
  };
}

const form = document.querySelector("form[data-signin]");
if (form && !form.closest("dialog")) {
  const next = form.querySelector("[name=next]")?.value || "/";
  const safe = next.startsWith("/") && !next.startsWith("//") ? next : "/";
  const signin = signInForm(form, () => window.location.assign(safe));
  captureScans({
    ...scannerSettings(),
    typedBox: form.querySelector("[name=code]"),
    onScan: (text) => signin.scanned(text),
  });
  if (document.body.dataset.outcome) play(document.body.dataset.outcome);
  signin.focus();
}
