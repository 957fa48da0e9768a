/**
 * Helpers only the staff desks use (the supervisor's and the admin's): a clock, the alert
 * sound, short ids. Kept out of ui.js, which the seeker's phone loads on its first visit
 * (issue #21's byte budget, tests/web/test_slow_network.py).
 */

/** Seconds → "m:ss" (negative → "-m:ss"). */
export function clock(seconds) {
  const sign = seconds < 0 ? "-" : "";
  const abs = Math.abs(Math.round(seconds));
  const m = Math.floor(abs / 60);
  const s = String(abs % 60).padStart(2, "0");
  return `${sign}${m}:${s}`;
}

let audioContext = null;

/** Make sound possible later: browsers only allow audio after a user gesture. */
export function unlockAudio() {
  try {
    if (!audioContext) audioContext = new AudioContext();
    if (audioContext.state === "suspended") audioContext.resume();
  } catch {
    audioContext = null;
  }
}

/** A short two-tone alert made in WebAudio (no audio files). */
export function beep({ times = 3 } = {}) {
  if (!audioContext) return;
  const start = audioContext.currentTime + 0.05;
  for (let i = 0; i < times; i += 1) {
    for (const [offset, frequency] of [[0, 880], [0.18, 660]]) {
      const at = start + i * 0.6 + offset;
      const osc = audioContext.createOscillator();
      const gain = audioContext.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
      osc.connect(gain).connect(audioContext.destination);
      osc.start(at);
      osc.stop(at + 0.17);
    }
  }
}

/** A short, stable label for an opaque id (for staff screens only). */
export function shortId(id) {
  return String(id || "").slice(0, 6);
}
