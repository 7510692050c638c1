// One run of a job's history, drawn from <template id="run-entry">: when it
// started, its trigger and who, how long it took, its outcome, its error, the
// reason a tick was skipped, the run's own log lines and (admins) traceback.
// Everything from the run reaches the page as text.

import { durationText } from "./format.js";
import { setTime, setTimedText } from "./times.js";

const TRIGGER_TEXT = { schedule: "Scheduled", manual: "Manual run" };

function part(entry, name) {
  return entry.querySelector(`[data-field="${name}"]`);
}

function setText(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}

export function drawRun(run) {
  const entry = document.getElementById("run-entry").content.firstElementChild.cloneNode(true);
  const outcome = run.outcome ?? (run.finished_at ? "unknown" : "running");
  entry.dataset.outcome = outcome;
  entry.dataset.run = run.id ?? "";
  part(entry, "outcome").textContent = outcome;
  setTime(part(entry, "started_at"), run.started_at, "moment");
  part(entry, "duration").textContent = durationOf(run, outcome);
  part(entry, "trigger").textContent = triggerText(run, outcome);
  setText(part(entry, "summary"), run.summary);
  showReason(part(entry, "reason"), run.reason);
  setText(part(entry, "error"), run.error);
  showLog(entry, run.log);
  const traceback = part(entry, "traceback");
  traceback.hidden = !run.traceback;
  part(entry, "traceback_text").textContent = run.traceback ?? "";

  return entry;
}

function durationOf(run, outcome) {
  if (outcome === "skipped") return "";
  if (run.duration_ms == null) return outcome === "running" ? "still running" : "";
  return `took ${durationText(run.duration_ms)}`;
}

function triggerText(run, outcome) {
  const trigger = TRIGGER_TEXT[run.trigger] ?? run.trigger ?? "Run";
  const parts = [outcome === "skipped" ? "Scheduled tick, skipped" : trigger];
  if (run.user) parts.push(`by ${run.user}`);
  if (run.node) parts.push(`on ${run.node}`);
  return parts.join(" ");
}

function showReason(element, reason) {
  element.hidden = !reason;
  if (!reason) return;
  const words = document.createElement("span");
  setTimedText(words, reason);
  element.replaceChildren("Why: ", words);
}

function showLog(entry, log) {
  const box = part(entry, "log");
  box.hidden = !log;
  if (!log) return;
  const lines = log.split("\n").length;
  part(entry, "log_label").textContent = `Log (${lines} ${lines === 1 ? "line" : "lines"})`;
  part(entry, "log_text").textContent = log;
}
