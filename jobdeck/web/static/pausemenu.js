// "Pause for a while": a small dialog opened from a card that pauses its job
// for 30 minutes, 2 hours, until a chosen time, or until someone resumes it.
// With an end, the server resumes the job by itself then.

import { openDialog, wireDialog } from "./dialogs.js";

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const HOUR_MS = 3600_000;

export class PauseMenu {
  // dialog: the <dialog data-field="pause-dialog">; pause(name, end) resolves
  // to the paused job; onPaused(job) shows it; onFailure(error) is true when
  // it handled the error itself (e.g. the session ended).
  constructor(dialog, { pause, onPaused, onFailure }) {
    this.dialog = dialog;
    this.form = dialog.querySelector('[data-field="pause-form"]');
    this.name = null;
    this.calls = { pause, onPaused, onFailure };
    wireDialog(dialog, { onClose: () => (this.name = null) });
    dialog.addEventListener("click", (event) => {
      const choice = event.target.closest('[data-action="pause-for"]');
      if (!choice || choice.disabled) return;
      // An empty length: a pause without an end, which on a paused job takes
      // its end away (a bare pause of a paused job would change nothing).
      this.#send(choice.dataset.for ? { for: choice.dataset.for } : { until: null });
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#pauseUntil();
    });
  }

  // job: the job as last shown; a pause it already has is the default end.
  open(job, opener) {
    this.name = job.name;
    this.dialog.querySelector('[data-field="pause-job"]').textContent = job.name;
    const input = this.form.elements.until;
    const now = new Date();
    const end = job.paused_until ? new Date(job.paused_until) : new Date(now.getTime() + HOUR_MS);
    input.min = localInputValue(now);
    input.value = localInputValue(end);
    this.dialog.querySelector('[data-field="pause-zone"]').textContent =
      `Times are in your time zone (${ZONE}).`;
    this.#showError("");
    openDialog(this.dialog, opener, this.dialog.querySelector('[data-action="pause-for"]'));
  }

  #pauseUntil() {
    const value = this.form.elements.until.value;
    const until = value ? new Date(value) : null;
    if (!until || Number.isNaN(until.getTime())) {
      this.#showError("Choose a date and a time.", { invalid: true });
      this.form.elements.until.focus();
      return;
    }
    this.#send({ until: until.toISOString() });
  }

  async #send(end) {
    const name = this.name;
    if (!name) return;
    this.#setBusy(true);
    this.#showError("");
    try {
      const job = await this.calls.pause(name, end);
      this.calls.onPaused(job);
      this.dialog.close();
    } catch (error) {
      if (this.calls.onFailure(error)) this.dialog.close();
      else this.#showError(error.message, { invalid: end?.until !== undefined });
    } finally {
      this.#setBusy(false);
    }
  }

  #setBusy(busy) {
    this.form.setAttribute("aria-busy", String(busy));
    for (const control of this.form.querySelectorAll("button[data-action^='pause']")) {
      control.disabled = busy;
    }
  }

  #showError(message, { invalid = false } = {}) {
    const error = this.dialog.querySelector('[data-field="pause-error"]');
    error.textContent = message;
    error.hidden = !message;
    const input = this.form.elements.until;
    if (invalid) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

// The value of an <input type="datetime-local"> for a moment: local wall time.
function localInputValue(moment) {
  const pad = (number) => String(number).padStart(2, "0");
  const date = `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}`;
  return `${date}T${pad(moment.getHours())}:${pad(moment.getMinutes())}`;
}
