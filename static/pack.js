// A pack station's page follows its bench: when the station's USB scanner (through the
// station agent) does something, the page shows it; the scale's reading fills the weight
// field until the packer types a weight of their own.
const bench = document.querySelector("[data-bench]");
const weight = document.getElementById("weight");
let typed = false;
if (weight) weight.addEventListener("input", () => { typed = true; });

async function follow() {
  try {
    const answer = await fetch(`/pack/bench/${encodeURIComponent(bench.dataset.bench)}.json`,
      { credentials: "same-origin", cache: "no-store" });
    if (answer.redirected || answer.status === 401) {
      // Signed out (idle): show the sign-in page instead of following a bench unseen.
      window.location.reload();
      return;
    }
    if (answer.ok) {
      const state = await answer.json();
      if (String(state.version) !== bench.dataset.version) {
        const page = state.order ? `/pack/${state.order}` : bench.dataset.page;
        window.location.assign(`${page}?bench=${state.version}`);
        return;
      }
      if (weight && !typed && state.scale_g !== null) {
        weight.value = (state.scale_g / 1000).toFixed(3);
        weight.dataset.fromScale = "";
      }
    }
  } catch (error) {
    // The service is restarting or the network hiccupped: try again at the next tick.
  }
  setTimeout(follow, 500);
}

if (bench) setTimeout(follow, 500);
