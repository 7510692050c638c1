// Short texts for numbers the API gives: durations in milliseconds, intervals
// in seconds. Only formatting: reading an interval is the server's business.

export function durationText(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

const UNITS = [
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
  ["s", 1],
];

// 5400 -> "1h30m": largest units first, zero parts left out.
export function secondsText(seconds) {
  let rest = Math.round(seconds);
  if (!(rest > 0)) return `${seconds}s`;
  const parts = [];
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count) parts.push(`${count}${unit}`);
  }
  return parts.join("");
}
