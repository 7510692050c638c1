// Relative and exact times. Relative texts tick every second in the browser,
// without any server traffic: each <time data-at="ISO" data-rel="..."> is redrawn.

const OVERDUE_AFTER_MS = 5000;
const exactFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "long",
});

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
  // A moment ahead, without the overdue notion: "in 2h".
  until: (delta) => (delta < 0 ? `in ${spanText(delta)}` : "any moment"),
};

export function relativeText(kind, iso, now = Date.now()) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  return FORMATS[kind](now - ms);
}

export function refreshTime(element, now = Date.now()) {
  const { at, rel } = element.dataset;
  if (!at || !rel) return;
  const text = relativeText(rel, at, now);
  if (element.textContent !== text) element.textContent = text;
}

// Point a <time> at a moment; `kind` is one of past, due, since, until.
export function setTime(element, iso, kind) {
  element.dateTime = iso;
  element.dataset.at = iso;
  element.dataset.rel = kind;
  element.title = exactTime(iso);
  refreshTime(element);
}

export function clearTime(element, text) {
  element.removeAttribute("datetime");
  delete element.dataset.at;
  delete element.dataset.rel;
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
