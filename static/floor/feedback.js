// What a worker cannot miss: the screen fills with the outcome's colour, a distinct sound
// plays and the handheld vibrates. Green is only ever "done as you meant".

const sounds = {
  good: [[1320, 0.08]],
  warn: [[660, 0.12], [0, 0.05], [660, 0.12]],
  bad: [[220, 0.18], [0, 0.06], [220, 0.18], [0, 0.06], [220, 0.18]],
};
const buzz = { good: [40], warn: [80, 60, 80], bad: [150, 60, 150, 60, 150] };
let audio = null;

function tones(outcome) {
  try {
    audio = audio || new AudioContext();
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
    // No audio before the first touch on some browsers: the colour and vibration remain.
  }
}

export function play(outcome) {
  if (!sounds[outcome]) return;
  // Recorded on the page, so a test (or a curious supervisor) can see what was played.
  document.body.dataset.played = outcome;
  if (navigator.vibrate) navigator.vibrate(buzz[outcome]);
  tones(outcome);
  const flash = document.querySelector("[data-flash]");
  // A refusal stays in view its whole time: a good scan right after it does not hide it.
  if (flash && !(outcome === "good" && !flash.hidden && !flash.classList.contains("good"))) {
    flash.className = `flash ${outcome}`;
    flash.hidden = false;
    clearTimeout(play.timer);
    play.timer = setTimeout(() => { flash.hidden = true; }, outcome === "good" ? 350 : 900);
  }
}
