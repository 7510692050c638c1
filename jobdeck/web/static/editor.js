// The inline interval editor of a card: prefilled input, a preview of what
// Save would do (preview.js), Save (or Enter), Cancel (or Escape). A refused
// value shows the server's message inline and leaves the job as it was.
//
// The form exists only while it is open, built from <template
// id="interval-editor">: a page of a thousand cards carries no thousand forms
// (the browser's autofill scans every form on a page, at a cost per form).

import { button, field } from "./cards.js";
import { requestPreview, stopPreview, wirePreview } from "./preview.js";

// card -> { save, onSaved, onFailure, preview }
const wiring = new WeakMap();

export function isEditorOpen(card) {
  const form = field(card, "interval-editor");
  return Boolean(form) && !form.hidden;
}

export function openEditor(card, currentInterval) {
  const form = field(card, "interval-editor") ?? buildEditor(card);
  const input = form.elements.interval;
  input.value = currentInterval;
  showEditorError(card, "");
  form.hidden = false;
  button(card, "interval").setAttribute("aria-expanded", "true");
  input.focus();
  input.select();
  requestPreview(card);
}

export function closeEditor(card) {
  const form = field(card, "interval-editor");
  if (!form) return;
  const hadFocus = form.contains(document.activeElement);
  stopPreview(card);
  form.remove();
  const toggle = button(card, "interval");
  toggle.setAttribute("aria-expanded", "false");
  if (hadFocus) toggle.focus();
}

export function showEditorError(card, message) {
  const form = field(card, "interval-editor");
  if (!form) return;
  const error = field(form, "interval-error");
  const input = form.elements.interval;
  error.textContent = message;
  error.hidden = !message;
  if (message) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", errorId(card, error));
  } else {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

function errorId(card, error) {
  if (!error.id) error.id = `interval-error-${card.dataset.job}`;
  return error.id;
}

function setSaving(form, saving) {
  button(form, "save").disabled = saving;
  form.elements.interval.readOnly = saving;
  form.setAttribute("aria-busy", String(saving));
}

// Wire one card's editor. `save(name, text)` returns a promise of the job or
// throws an ApiError; `onSaved(job)` shows the new state; `preview(name,
// text, {signal})` answers what Save would do.
export function wireEditor(card, options) {
  if (button(card, "interval")) wiring.set(card, options);
}

function buildEditor(card) {
  const form = document.getElementById("interval-editor").content.firstElementChild.cloneNode(true);
  field(card, "action-error").before(form);
  const options = wiring.get(card);
  wirePreview(card, options.preview);
  // A new value makes the refusal of the old one moot.
  form.elements.interval.addEventListener("input", () => showEditorError(card, ""));
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    closeEditor(card);
  });
  button(form, "cancel-edit").addEventListener("click", () => closeEditor(card));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await submit(card, form, options);
  });
  return form;
}

async function submit(card, form, { save, onSaved, onFailure }) {
  const text = form.elements.interval.value;
  setSaving(form, true);
  try {
    const job = await save(card.dataset.job, text);
    onSaved(job);
    closeEditor(card);
  } catch (error) {
    if (!onFailure(error)) {
      stopPreview(card);
      showEditorError(card, error.message);
    }
  } finally {
    setSaving(form, false);
  }
}
