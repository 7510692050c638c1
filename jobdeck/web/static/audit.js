// One entry of a job's audit trail, drawn from <template id="audit-entry">:
// what was done, when, by whom and from where, and what changed (before →
// after). Values from the server reach the page as text.

import { secondsText } from "./format.js";
import { setTime } from "./times.js";

const ACTION_TEXT = {
  run: "Run now",
  cancel: "Run cancelled",
  pause: "Paused",
  resume: "Resumed",
  interval: "Interval changed",
  interval_reset: "Interval reset to the default",
};

// The fields of before/after, in the order shown, with how to show a value.
const FIELDS = [
  ["paused", "Paused", (value) => (value ? "yes" : "no")],
  ["paused_until", "Pause ends", (value) => value ?? "when resumed"],
  ["interval", "Interval", (value) => (typeof value === "number" ? secondsText(value) : value)],
  ["interval_overridden", "Default overridden", (value) => (value ? "yes" : "no")],
  ["trigger", "Trigger", (value) => value],
  ["running_since", "Running since", (value) => value],
];
const TIME_FIELDS = new Set(["paused_until", "running_since"]);

function part(entry, name) {
  return entry.querySelector(`[data-field="${name}"]`);
}

export function drawAuditEntry(item) {
  const entry = document.getElementById("audit-entry").content.firstElementChild.cloneNode(true);
  entry.dataset.action = item.action;
  part(entry, "action").textContent = ACTION_TEXT[item.action] ?? item.action;
  setTime(part(entry, "at"), item.at, "moment");
  const from = item.client ? ` from ${item.client}` : "";
  part(entry, "who").textContent = `by ${item.actor}${from}`;
  const changes = part(entry, "changes");
  changes.replaceChildren(...changeItems(item.before, item.after));
  changes.hidden = changes.childElementCount === 0;

  return entry;
}

function changeItems(before, after) {
  const items = [];
  for (const [key, label, show] of FIELDS) {
    const had = before?.[key];
    const has = after?.[key];
    if (before && after && had === has) continue;
    if (had === undefined && has === undefined) continue;
    items.push(changeItem(key, label, show, before ? had : undefined, after ? has : undefined));
  }
  return items;
}

// "Interval: 1h → 1h30m"; only one side when the other is absent.
function changeItem(key, label, show, had, has) {
  const item = document.createElement("li");
  item.dataset.change = key;
  const name = document.createElement("span");
  name.className = "change-name";
  name.textContent = `${label}: `;
  item.append(name);
  if (had !== undefined) item.append(value(key, show(had)));
  if (had !== undefined && has !== undefined) item.append(" → ");
  if (has !== undefined) item.append(value(key, show(has)));
  return item;
}

function value(key, text) {
  if (!TIME_FIELDS.has(key) || !/^\d{4}-/.test(String(text))) return String(text);
  const time = document.createElement("time");
  setTime(time, text, "moment");
  return time;
}
