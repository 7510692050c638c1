// The status bar: scheduler running or stopped, a failing store, live updates
// paused, and how the page currently gets its updates.

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  stream: "Live",
  polling: "Stream unavailable — checking every 5 s",
  stopped: "Updates stopped",
};

const bar = (name) => document.querySelector(`[data-field="${name}"]`);

export function showScheduler(scheduler) {
  const element = bar("scheduler");
  const running = Boolean(scheduler.running);
  element.dataset.state = running ? "running" : "stopped";
  element.classList.toggle("pill--ok", running);
  element.classList.toggle("pill--bad", !running);
  let text = running ? "Scheduler running" : "Scheduler stopped";
  if (!running && scheduler.reason) text += `: ${scheduler.reason}`;
  element.textContent = text;
  element.title = schedulerTitle(scheduler);
  showStore(scheduler);
}

function schedulerTitle(scheduler) {
  const parts = [];
  if (scheduler.node) parts.push(`node ${scheduler.node}`);
  if (scheduler.started_at) parts.push(`started ${scheduler.started_at}`);
  return parts.join(", ");
}

function showStore(scheduler) {
  const element = bar("store");
  const failing = scheduler.store_ok === false;
  element.hidden = !failing;
  element.textContent = failing
    ? `Store failing: ${scheduler.store_error || "unknown error"}`
    : "";
}

export function showLivePaused(paused) {
  bar("live-paused").hidden = !paused;
}

export function showConnection(mode) {
  const element = bar("connection");
  element.dataset.mode = mode;
  element.textContent = CONNECTION_TEXT[mode] || "";
}

export function showStreamRefused(message) {
  const element = bar("stream-refused");
  element.hidden = !message;
  element.textContent = message ? `The server refuses the live stream: ${message}` : "";
}

export function showExpired() {
  bar("session-expired").hidden = false;
  showConnection("stopped");
}
