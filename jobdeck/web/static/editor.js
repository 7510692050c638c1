// The inline interval editor of a card: prefilled input, Save (or Enter),
// Cancel (or Escape). A refused value shows the server's message inline and
// leaves the job as it was.

import { button, field } from "./cards.js";

export function isEditorOpen(card) {
  const form = field(card, "interval-editor");
  return Boolean(form) && !form.hidden;
}

export function openEditor(card, currentInterval) {
  const form = field(card, "interval-editor");
  const input = form.elements.interval;
  input.value = currentInterval;
  showEditorError(card, "");
  form.hidden = false;
  button(card, "interval").setAttribute("aria-expanded", "true");
  input.focus();
  input.select();
}

export function closeEditor(card) {
  const form = field(card, "interval-editor");
  if (form.hidden) return;
  const hadFocus = form.contains(document.activeElement);
  form.hidden = true;
  showEditorError(card, "");
  const toggle = button(card, "interval");
  toggle.setAttribute("aria-expanded", "false");
  if (hadFocus) toggle.focus();
}

export function showEditorError(card, message) {
  const error = field(card, "interval-error");
  const input = field(card, "interval-editor").elements.interval;
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

function setSaving(card, saving) {
  const form = field(card, "interval-editor");
  button(card, "save").disabled = saving;
  form.elements.interval.readOnly = saving;
  form.setAttribute("aria-busy", String(saving));
}

// Wire one card's editor. `save(name, text)` returns a promise of the job or
// throws an ApiError; `onSaved(job)` shows the new state.
export function wireEditor(card, { save, onSaved, onFailure }) {
  const form = field(card, "interval-editor");
  if (!form) return;

  form.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    closeEditor(card);
  });
  button(card, "cancel-edit").addEventListener("click", () => closeEditor(card));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await submit(card, { save, onSaved, onFailure });
  });
}

async function submit(card, { save, onSaved, onFailure }) {
  const form = field(card, "interval-editor");
  const text = form.elements.interval.value;
  setSaving(card, true);
  try {
    const job = await save(card.dataset.job, text);
    onSaved(job);
    closeEditor(card);
  } catch (error) {
    if (!onFailure(error)) showEditorError(card, error.message);
  } finally {
    setSaving(card, false);
  }
}
