// Live updates: the /api/jobs/sse event stream, and while it is not open,
// polling GET /api/jobs every 5 s (one request in flight at most). The stream
// is retried with backoff; polling stops as soon as it is open again. When the
// server refuses the stream, the page says why (EventSource cannot read it).

import { api, BASE } from "./api.js";

const STREAM_URL = `${BASE}/api/jobs/sse`;
const OPEN_TIMEOUT_MS = 3000;
const POLL_EVERY_MS = 5000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
const STABLE_AFTER_MS = 10000;

export class LiveFeed {
  // handlers: onSnapshot(body), onJob(job), onScheduler(scheduler),
  // onMode("connecting" | "stream" | "polling" | "stopped"), onExpired(),
  // onRefused(message or null): why the server refuses the stream, if it does.
  constructor(handlers) {
    this.handlers = handlers;
    this.source = null;
    this.timers = { open: 0, retry: 0, poll: 0, stable: 0 };
    this.retryDelay = RETRY_FIRST_MS;
    this.polling = false;
    this.inFlight = null;
    this.stopped = false;
    this.askedWhy = false;
  }

  start() {
    this.#setMode("connecting");
    this.#openStream();
  }

  stop() {
    this.stopped = true;
    this.#closeStream();
    this.#stopPolling();
    clearTimeout(this.timers.retry);
    this.#setMode("stopped");
  }

  // Ask for a fresh list now (e.g. after an action) when not on the stream.
  refresh() {
    if (this.polling) this.#pollNow();
  }

  #setMode(mode) {
    this.mode = mode;
    this.handlers.onMode?.(mode);
  }

  #openStream() {
    if (this.stopped) return;
    this.#closeStream();
    const source = new EventSource(STREAM_URL);
    this.source = source;
    this.timers.open = setTimeout(() => this.#startPolling(), OPEN_TIMEOUT_MS);
    source.addEventListener("open", () => this.#onOpen());
    source.addEventListener("error", () => this.#onStreamError());
    this.#listen(source, "snapshot", (body) => this.handlers.onSnapshot(body));
    this.#listen(source, "job", (job) => this.handlers.onJob(job));
    this.#listen(source, "scheduler", (scheduler) => this.handlers.onScheduler(scheduler));
  }

  #listen(source, type, handle) {
    source.addEventListener(type, (event) => {
      if (source !== this.source) return;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        console.warn(`jobdeck: ignored a malformed ${type} event`);
        return;
      }
      handle(data);
    });
  }

  #closeStream() {
    clearTimeout(this.timers.open);
    clearTimeout(this.timers.stable);
    if (!this.source) return;
    this.source.close();
    this.source = null;
  }

  #onOpen() {
    clearTimeout(this.timers.open);
    this.#stopPolling();
    this.askedWhy = false;
    this.handlers.onRefused?.(null);
    this.#setMode("stream");
    this.timers.stable = setTimeout(() => {
      this.retryDelay = RETRY_FIRST_MS;
    }, STABLE_AFTER_MS);
  }

  #onStreamError() {
    if (this.stopped) return;
    this.#closeStream();
    this.#startPolling();
    this.#scheduleRetry();
    if (!this.askedWhy) this.#askWhy();
  }

  // EventSource reports a refusal as a bare error. Asked once again with fetch,
  // the server says why (a proxy speaking HTTP/1.0 to it, most often). A 401 is
  // left to polling, which ends the page's session; an answer that opens the
  // stream is let go at once.
  async #askWhy() {
    this.askedWhy = true;
    const controller = new AbortController();
    try {
      const answer = await fetch(STREAM_URL, {
        credentials: "same-origin",
        cache: "no-store",
        signal: controller.signal,
      });
      if (answer.ok || answer.status === 401 || this.stopped) return;
      const body = await answer.json().catch(() => null);
      const message = body?.error?.message || `the server answered ${answer.status}`;
      if (this.mode === "polling") this.handlers.onRefused?.(message);
    } catch {
      // Unreachable: polling says so.
    } finally {
      controller.abort();
    }
  }

  #scheduleRetry() {
    clearTimeout(this.timers.retry);
    const delay = this.retryDelay;
    this.retryDelay = Math.min(delay * 2, RETRY_MAX_MS);
    const jitter = Math.random() * delay * 0.2;
    this.timers.retry = setTimeout(() => this.#openStream(), delay + jitter);
  }

  #startPolling() {
    if (this.polling || this.stopped) return;
    this.polling = true;
    this.#setMode("polling");
    this.#pollNow();
  }

  #stopPolling() {
    this.polling = false;
    clearTimeout(this.timers.poll);
    if (this.inFlight) this.inFlight.abort();
    this.inFlight = null;
  }

  async #pollNow() {
    if (this.inFlight || !this.polling) return;
    clearTimeout(this.timers.poll);
    const controller = new AbortController();
    this.inFlight = controller;
    try {
      const body = await api.listJobs({ signal: controller.signal });
      if (!controller.signal.aborted) this.handlers.onSnapshot(body);
    } catch (error) {
      this.#onPollError(error);
    } finally {
      if (this.inFlight === controller) this.inFlight = null;
    }
    if (this.polling && !controller.signal.aborted) {
      this.timers.poll = setTimeout(() => this.#pollNow(), POLL_EVERY_MS);
    }
  }

  #onPollError(error) {
    if (error.name === "AbortError") return;
    if (error.status === 401) {
      this.stop();
      this.handlers.onExpired?.();
      return;
    }
    this.handlers.onPollError?.(error);
  }
}
