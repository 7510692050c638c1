// The controls on a card: Run now, Cancel run, Pause/Resume, Pause for a
// while (its dialog), Interval (with its editor), Reset to the default
// interval, and History and audit (the detail panel).

import { api } from "./api.js";
import { showActionError } from "./cards.js";
import { closeEditor, isEditorOpen, openEditor, wireEditor } from "./editor.js";

// Buttons that must not send twice: disabled on the click, before any answer.
const DISABLED_AT_ONCE = new Set(["run", "cancel"]);

// board: the Board; onUnauthorized(): the session is gone; openDetail(job,
// opener) and openPauseMenu(job, opener) open those dialogs.
export function cardControls(board, { onUnauthorized, openDetail, openPauseMenu }) {
  const handled = (error) => {
    if (error.status !== 401) return false;
    onUnauthorized();
    return true;
  };

  async function act(card, kind, call) {
    const name = card.dataset.job;
    card.dataset.pending = kind;
    board.redraw(name);
    showActionError(card, "");
    try {
      const body = await call(name);
      board.showJob(body.job);
      return true;
    } catch (error) {
      if (!handled(error)) showActionError(card, error.message);
      return false;
    } finally {
      delete card.dataset.pending;
      board.redraw(name);
    }
  }

  const handlers = {
    run: (card) => act(card, "run", api.runJob),
    cancel: async (card) => {
      // The run asked to stop: Cancel stays disabled until it has ended.
      card.dataset.cancelling = board.job(card.dataset.job)?.running_since ?? "";
      if (!(await act(card, "cancel", api.cancelJob))) {
        delete card.dataset.cancelling;
        board.redraw(card.dataset.job);
      }
    },
    pause: (card) => {
      const paused = board.job(card.dataset.job)?.paused;
      return act(card, "pause", paused ? api.resumeJob : api.pauseJob);
    },
    "reset-interval": (card) => act(card, "reset", api.resetInterval),
    interval: (card) => {
      if (isEditorOpen(card)) closeEditor(card);
      else openEditor(card, board.job(card.dataset.job)?.interval ?? "");
    },
    "pause-menu": (card, control) => {
      showActionError(card, "");
      openPauseMenu(board.job(card.dataset.job), control);
    },
    details: (card, control) => openDetail(board.job(card.dataset.job), control),
  };

  function onClick(event) {
    const control = event.target.closest("[data-action]");
    const card = control?.closest("[data-job]");
    const handler = card && handlers[control.dataset.action];
    if (!handler || control.disabled) return;
    if (DISABLED_AT_ONCE.has(control.dataset.action)) control.disabled = true;
    handler(card, control);
  }

  function wire(card) {
    wireEditor(card, {
      save: async (name, text) => (await api.setInterval(name, text)).job,
      onSaved: (job) => board.showJob(job),
      onFailure: handled,
      preview: (name, text, options) => api.previewInterval(name, text, options),
    });
  }

  return { onClick, wire };
}
