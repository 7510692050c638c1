// Relative and exact times. Relative texts tick every second in the browser,
// without any server traffic: each <time data-at="ISO" data-rel="..."> is redrawn.

const OVERDUE_AFTER_MS = 5000;
const exactFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "long",
});
// Local clock times, shortest first: today, this year, any year.
const localFormats = {
  today: new Intl.DateTimeFormat(undefined, { timeStyle: "medium" }),
  year: new Intl.DateTimeFormat(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  }),
  any: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }),
};
// A moment whose UTC offset is not today's is shown with its zone: across a
// daylight-saving change a clock time alone is ambiguous (the autumn night has two
// 02:30s).
const zoneFormat = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" });
// A UTC time as the server writes it, inside plain words.
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g;

export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

export function exactTime(iso) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  return `${exactFormat.format(ms)} (${new Date(ms).toISOString()})`;
}

// "45s", "2m", "1h 30m", "3d 4h": the two largest units, at most.
export function spanText(ms) {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return joinUnits(hours, "h", minutes % 60, "m");
  return joinUnits(Math.floor(hours / 24), "d", hours % 24, "h");
}

function joinUnits(big, bigUnit, small, smallUnit) {
  return small ? `${big}${bigUnit} ${small}${smallUnit}` : `${big}${bigUnit}`;
}

const FORMATS = {
  // A moment in the past: "2m ago".
  past: (delta) => (delta < 1000 ? "just now" : `${spanText(delta)} ago`),
  // A due time: "in 25s", "due now", then "overdue".
  due: (delta) => {
    if (delta <= -1000) return `in ${spanText(delta)}`;
    return delta <= OVERDUE_AFTER_MS ? "due now" : "overdue";
  },
  // A duration so far: "for 12s".
  since: (delta) => `for ${spanText(Math.max(delta, 0))}`,
  // Either way, after the local clock time: "14:05:09 (in 2m)", "9:12:40 (3m ago)".
  moment: (delta) => {
    if (Math.abs(delta) < 1000) return "now";
    return delta > 0 ? `${spanText(delta)} ago` : `in ${spanText(delta)}`;
  },
};

export function relativeText(kind, iso, now = Date.now()) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  return FORMATS[kind](now - ms);
}

// The local clock time of a moment, with its date unless it is today, and its
// zone if its offset from UTC is not today's.
export function localText(iso, now = Date.now()) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  const day = new Date(ms);
  const today = new Date(now);
  let format = localFormats.any;
  if (day.toDateString() === today.toDateString()) format = localFormats.today;
  else if (day.getFullYear() === today.getFullYear()) format = localFormats.year;
  const text = format.format(ms);
  if (day.getTimezoneOffset() === today.getTimezoneOffset()) return text;
  const zone = zoneFormat.formatToParts(ms).find((part) => part.type === "timeZoneName");
  return zone ? `${text} ${zone.value}` : text;
}

export function refreshTime(element, now = Date.now()) {
  const { at, rel, local } = element.dataset;
  if (!at || !rel) return;
  const relative = relativeText(rel, at, now);
  const text = local ? `${local} (${relative})` : relative;
  if (element.textContent !== text) element.textContent = text;
}

// Point a <time> at a moment; `kind` is one of past, due, since, or moment
// (the local clock time, then how far away it is).
export function setTime(element, iso, kind) {
  element.dateTime = iso;
  element.dataset.at = iso;
  element.dataset.rel = kind;
  if (kind === "moment") element.dataset.local = localText(iso);
  else delete element.dataset.local;
  element.title = exactTime(iso);
  refreshTime(element);
}

// Plain words from the server, with each UTC time in them shown as a ticking
// local <time>; the words themselves stay text.
const shownWords = new WeakMap();

export function setTimedText(element, text) {
  const words = text ?? "";
  if (shownWords.get(element) === words) return;
  shownWords.set(element, words);
  const parts = [];
  let last = 0;
  for (const match of words.matchAll(ISO_TIME)) {
    parts.push(words.slice(last, match.index));
    const time = document.createElement("time");
    setTime(time, match[0], "moment");
    parts.push(time);
    last = match.index + match[0].length;
  }
  parts.push(words.slice(last));
  element.replaceChildren(...parts.filter((part) => part !== ""));
}

export function clearTime(element, text) {
  element.removeAttribute("datetime");
  delete element.dataset.at;
  delete element.dataset.rel;
  delete element.dataset.local;
  element.removeAttribute("title");
  element.textContent = text;
}

export function startTicker(root = document) {
  const tick = () => {
    const now = Date.now();
    for (const element of root.querySelectorAll("time[data-at]")) refreshTime(element, now);
  };
  return setInterval(tick, 1000);
}
