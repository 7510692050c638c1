// A duration sparkline of a job's latest runs (`recent_runs`, oldest first),
// drawn as inline SVG with DOM calls. Outcomes differ by shape, not by colour
// alone: a failed run's bar has a cross above it, a run that was stopped
// (cancelled) is a hollow bar. The SVG is one image to assistive
// technology, named by a sentence that says what it shows.

import { durationText } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const SLOTS = 20;
const SLOT = 8;
const BAR = 6;
const MARK = 5;
const TOP = MARK + 2;
const HEIGHT = 32;
const WIDTH = SLOTS * SLOT;

const FAILED = new Set(["error", "timeout", "interrupted"]);
const drawn = new WeakMap();

export function kindOf(outcome) {
  if (outcome === "success") return "ok";
  return FAILED.has(outcome) ? "failed" : "stopped";
}

// Draw `runs` into `container` (an element the card owns); nothing changes
// in the DOM when the runs are the same as last time.
export function drawSparkline(container, runs) {
  const list = (runs ?? []).slice(-SLOTS);
  const key = list.map((run) => `${run.duration_ms}:${run.outcome}`).join(",");
  if (drawn.get(container) === key) return;
  drawn.set(container, key);
  if (list.length === 0) {
    container.replaceChildren();
    return;
  }

  const svg = element("svg", {
    class: "sparkline",
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: "img",
    "aria-label": describe(list),
    focusable: "false",
  });
  const base = HEIGHT - 0.5;
  svg.append(element("line", { class: "spark-base", x1: 0, x2: WIDTH, y1: base, y2: base }));
  const longest = Math.max(...list.map((run) => run.duration_ms ?? 0), 1);
  const first = SLOTS - list.length;
  list.forEach((run, index) => svg.append(bar(run, (first + index) * SLOT + 1, longest)));
  container.replaceChildren(svg, caption(longest));
}

function bar(run, x, longest) {
  const kind = kindOf(run.outcome);
  const room = HEIGHT - TOP;
  const height = Math.max(2, Math.round(((run.duration_ms ?? 0) / longest) * room));
  const group = element("g", { class: `spark-run spark-run--${kind}` });
  const title = element("title");
  title.textContent = `${run.outcome}, ${durationText(run.duration_ms ?? 0)}`;
  group.append(title);
  const inset = kind === "stopped" ? 0.5 : 0;
  group.append(
    element("rect", {
      class: "spark-bar",
      x: x + inset,
      y: HEIGHT - height + inset,
      width: BAR - 2 * inset,
      height: height - 2 * inset,
    }),
  );
  if (kind === "failed") {
    const d = `M${x} 0.5L${x + BAR} ${MARK - 0.5}M${x + BAR} 0.5L${x} ${MARK - 0.5}`;
    group.append(element("path", { class: "spark-mark", d }));
  }
  return group;
}

// What the picture shows, in one sentence.
export function describe(runs) {
  const counts = { ok: 0, failed: 0, stopped: 0 };
  for (const run of runs) counts[kindOf(run.outcome)] += 1;
  const durations = runs.map((run) => run.duration_ms ?? 0);
  const latest = runs[runs.length - 1];
  const parts = [`${counts.ok} succeeded`];
  if (counts.failed) parts.push(`${counts.failed} failed`);
  if (counts.stopped) parts.push(`${counts.stopped} stopped`);
  const noun = runs.length === 1 ? "run" : "runs";
  return (
    `Durations of the last ${runs.length} ${noun}: ${parts.join(", ")}; ` +
    `shortest ${durationText(Math.min(...durations))}, ` +
    `longest ${durationText(Math.max(...durations))}; ` +
    `latest ${durationText(latest.duration_ms ?? 0)}, ${latest.outcome}.`
  );
}

function caption(longest) {
  const text = document.createElement("span");
  text.className = "spark-scale";
  text.setAttribute("aria-hidden", "true");
  text.textContent = `max ${durationText(longest)}`;
  return text;
}

function element(name, attributes = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}
