// One card per job: built from the <template id="job-card"> and filled only
// through textContent and attributes, never as markup.

import { durationText } from "./format.js";
import { drawSparkline } from "./sparkline.js";
import { clearTime, setTime, setTimedText } from "./times.js";

const template = () => document.getElementById("job-card");

export function field(card, name) {
  return card.querySelector(`[data-field="${name}"]`);
}

export function button(card, action) {
  return card.querySelector(`[data-action="${action}"]`);
}

export function createCard(job, { isAdmin }) {
  const card = template().content.firstElementChild.cloneNode(true);
  card.dataset.job = job.name;
  if (!isAdmin) {
    for (const element of card.querySelectorAll("[data-admin-only]")) element.remove();
  }
  const heading = field(card, "name");
  heading.id = `job-${job.name}`;
  card.setAttribute("aria-labelledby", heading.id);
  field(card, "select")?.setAttribute("aria-label", `Select ${job.name}`);
  button(card, "details").setAttribute("aria-label", `History and audit of ${job.name}`);
  button(card, "pause-menu")?.setAttribute("aria-label", `Pause ${job.name} for a while`);
  updateCard(card, job);

  return card;
}

export function updateCard(card, job) {
  card.dataset.status = job.status;
  setText(field(card, "name"), job.name);
  setText(field(card, "status"), job.status);
  showCategory(field(card, "category"), job.category ?? "");
  setText(field(card, "description"), job.description);
  setText(field(card, "run_count"), String(job.run_count));
  showInterval(card, job);
  showLastRun(card, job);
  showNextRun(card, job);
  showWhyNotRunning(field(card, "why_not_running"), job);
  showSparkline(card, job);
  showRunning(card, job);
  showError(card, job);
  showControls(card, job);
}

function setText(element, text) {
  const value = text ?? "";
  if (element && element.textContent !== value) element.textContent = value;
}

// The tag may cut a long category to one line: its title holds it whole.
function showCategory(tag, category) {
  setText(tag, category);
  if (tag.title !== category) tag.title = category;
}

function showInterval(card, job) {
  setText(field(card, "interval"), job.interval);
  const overridden = Boolean(job.interval_overridden);
  const note = field(card, "default_interval");
  setText(note, overridden ? `(default ${job.default_interval})` : "");
  note.hidden = !overridden;
  note.title = overridden && job.interval_set_by ? `Set by ${job.interval_set_by}` : "";
  const reset = button(card, "reset-interval");
  if (reset) {
    reset.hidden = !overridden;
    reset.setAttribute("aria-label", `Reset interval to the default ${job.default_interval}`);
  }
}

function showLastRun(card, job) {
  const time = field(card, "last_run");
  if (job.last_run_at) setTime(time, job.last_run_at, "past");
  else clearTime(time, "never");
  setText(field(card, "last_outcome"), outcomeText(job));
  const summary = field(card, "last_summary");
  setText(summary, job.last_summary ?? "");
  summary.title = job.last_summary ?? "";
  field(card, "last_summary_row").hidden = !job.last_summary;
}

function outcomeText(job) {
  if (!job.last_outcome) return "";
  if (job.last_duration_ms == null) return `· ${job.last_outcome}`;
  return `· ${job.last_outcome} in ${durationText(job.last_duration_ms)}`;
}

function showNextRun(card, job) {
  const time = field(card, "next_run");
  const note = field(card, "paused_note");
  if (job.paused) {
    clearTime(time, "paused");
    showPausedNote(note, job);
  } else {
    if (job.next_run_at) setTime(time, job.next_run_at, "due");
    else clearTime(time, "not scheduled");
    note.replaceChildren();
  }
}

// "paused until 14:05:09 (in 29m 59s), by admin", or "paused by admin".
function showPausedNote(note, job) {
  const parts = [];
  if (job.paused_until) {
    const until = note.querySelector("time") ?? document.createElement("time");
    until.dataset.field = "paused_until";
    setTime(until, job.paused_until, "moment");
    parts.push("until ", until);
    if (job.paused_by) parts.push(`, by ${job.paused_by}`);
  } else if (job.paused_by) {
    parts.push(`by ${job.paused_by}`);
  }
  note.replaceChildren(...parts);
}

// The server's plain-words answer to "why is it not running?", its times local.
export function showWhyNotRunning(element, job) {
  const why = job.why_not_running;
  element.hidden = !why;
  element.dataset.reason = why?.reason ?? "";
  setTimedText(element, why?.text ?? "");
}

function showSparkline(card, job) {
  const runs = job.recent_runs ?? [];
  field(card, "sparkline_row").hidden = runs.length === 0;
  drawSparkline(field(card, "sparkline"), runs);
}

const TRIGGER_TEXT = { manual: "Manual run", schedule: "Scheduled run" };

// While a run is in progress: its trigger, since when, what it reports of its
// progress, and a note when it lasts far longer than usual.
function showRunning(card, job) {
  const box = field(card, "progress");
  const running = job.status === "running";
  box.hidden = !running;
  const since = field(card, "running_since");
  if (!running || !job.running_since) clearTime(since, running ? "now" : "");
  else setTime(since, job.running_since, "since");
  setText(field(card, "running_trigger"), TRIGGER_TEXT[job.running_trigger] ?? "Run");
  showProgressReport(card, running ? job : {});
  showOverrun(card, running && job.overrunning ? job : null);
}

function showProgressReport(card, { progress, progress_message: message }) {
  const hasFraction = typeof progress === "number";
  field(card, "progress_report").hidden = !hasFraction && !message;
  const bar = field(card, "progress_bar");
  const percent = hasFraction ? `${Math.round(progress * 100)}%` : "";
  if (hasFraction) bar.value = progress;
  else bar.removeAttribute("value");
  const spoken = [percent, message].filter(Boolean).join(", ");
  if (spoken) bar.setAttribute("aria-valuetext", spoken);
  else bar.removeAttribute("aria-valuetext");
  setText(field(card, "progress_percent"), percent);
  setText(field(card, "progress_message"), message ?? "");
}

function showOverrun(card, job) {
  field(card, "overrun").hidden = !job;
  const usual = job?.usual_duration_ms;
  const text = usual == null ? "" : `(usually ${durationText(usual)})`;
  setText(field(card, "usual_duration"), text);
}

function showError(card, job) {
  const box = field(card, "last_error");
  const text = job.last_error || "";
  box.hidden = !text;
  if (!text) box.open = false;
  const summary = field(card, "last_error_summary");
  setText(summary, text.split("\n", 1)[0]);
  summary.title = text;
  setText(field(card, "last_error_text"), text);
}

function showControls(card, job) {
  const run = button(card, "run");
  if (!run) return;
  run.disabled = job.status === "running" || card.dataset.pending === "run";
  showCancel(button(card, "cancel"), card, job);
  const pause = button(card, "pause");
  const label = job.paused ? "Resume" : "Pause";
  pause.setAttribute("aria-label", label);
  pause.title = `${label} scheduled runs`;
  // SVG elements have no `hidden` property: set the attribute itself.
  pause.querySelector('[data-icon="pause"]').toggleAttribute("hidden", job.paused);
  pause.querySelector('[data-icon="resume"]').toggleAttribute("hidden", !job.paused);
  pause.disabled = card.dataset.pending === "pause";
}

// Cancel shows while a run is in progress; once asked for, it stays disabled
// until that run has ended.
function showCancel(cancel, card, job) {
  const running = job.status === "running";
  if (!running) delete card.dataset.cancelling;
  const asked = running && card.dataset.cancelling === (job.running_since ?? "");
  cancel.hidden = !running;
  cancel.disabled = asked || card.dataset.pending === "cancel";
  setText(cancel, asked ? "Cancelling…" : "Cancel run");
}

export function showActionError(card, message) {
  const box = field(card, "action-error");
  setText(box, message || "");
  box.hidden = !message;
}
