// The interval editor's preview (inside the editor's form, which exists only
// while it is open): while the user types, the server says what
// Save would do (its canonical form and the next three runs) without doing it.
// The page keeps no interval grammar of its own: a refused value shows the
// same message Save would give.

import { field } from "./cards.js";
import { setTime } from "./times.js";

const DELAY_MS = 250;
const HINT = "Type an interval such as 5m or 1h30m.";

// card -> { ask(name, text, {signal}), timer, controller }
const previews = new WeakMap();

// Called for each new editor form of the card.
export function wirePreview(card, ask) {
  const form = field(card, "interval-editor");
  if (!form || !ask) return;
  previews.set(card, { ask, timer: 0, controller: null });
  form.elements.interval.addEventListener("input", () => requestPreview(card, DELAY_MS));
}

// Ask now (delay 0, e.g. when the editor opens) or once typing pauses.
export function requestPreview(card, delay = 0) {
  const state = previews.get(card);
  if (!state) return;
  cancel(state);
  const form = field(card, "interval-editor");
  if (!form) return;
  field(form, "interval-preview").removeAttribute("aria-busy");
  const text = form.elements.interval.value.trim();
  if (!text) {
    show(card, { hint: HINT });
    return;
  }
  state.timer = setTimeout(() => ask(card, state, text), delay);
}

export function stopPreview(card) {
  const state = previews.get(card);
  if (!state) return;
  cancel(state);
  field(card, "interval-preview")?.removeAttribute("aria-busy");
  show(card, {});
}

function cancel(state) {
  clearTimeout(state.timer);
  state.controller?.abort();
  state.controller = null;
}

async function ask(card, state, text) {
  const controller = new AbortController();
  state.controller = controller;
  const box = field(card, "interval-preview");
  box.setAttribute("aria-busy", "true");
  try {
    const answer = await state.ask(card.dataset.job, text, { signal: controller.signal });
    if (!controller.signal.aborted) show(card, { answer });
  } catch (error) {
    if (error.name === "AbortError" || controller.signal.aborted) return;
    if (error.status === 422) show(card, { refusal: error.message });
    else show(card, { hint: `No preview: ${error.message}` });
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      box.removeAttribute("aria-busy");
    }
  }
}

function show(card, { answer, refusal, hint }) {
  const box = field(card, "interval-preview");
  if (!box) return; // the editor has closed meanwhile
  const text = field(card, "preview-text");
  const runs = field(card, "preview-runs");
  box.classList.toggle("preview--refused", Boolean(refusal));
  runs.replaceChildren();
  if (!answer) {
    text.textContent = refusal ?? hint ?? "";
    box.dataset.state = refusal ? "refused" : "hint";
    return;
  }
  box.dataset.state = "ok";
  const canonical = document.createElement("strong");
  canonical.className = "interval";
  canonical.dataset.field = "preview-interval";
  canonical.textContent = answer.interval;
  if (answer.paused) {
    text.replaceChildren("Saves as ", canonical, ". The job is paused: no runs until it resumes.");
    return;
  }
  text.replaceChildren("Saves as ", canonical, ". Next runs:");
  for (const at of answer.next_runs) {
    const item = document.createElement("li");
    const time = document.createElement("time");
    setTime(time, at, "moment");
    item.append(time);
    runs.append(item);
  }
}
