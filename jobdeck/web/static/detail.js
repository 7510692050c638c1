// A job's detail panel, opened from its card: the job at a glance, its paged
// history (history.js) and its audit trail (audit.js). It follows the job
// live: a change of the job redraws the head and reloads the newest pages.
// The address carries #job=<name>, so the panel can be linked to.

import { drawAuditEntry } from "./audit.js";
import { showWhyNotRunning } from "./cards.js";
import { openDialog, wireDialog } from "./dialogs.js";
import { drawRun } from "./history.js";
import { PagedList } from "./pager.js";

const HASH_PREFIX = "#job=";
// Runs and audit entries are written a moment after the change that made them.
const RELOAD_AFTER_MS = 500;

export class DetailPanel {
  // dialog: <dialog data-field="detail">; api: the API helpers; onFailure(error)
  // is true when it handled the error itself (e.g. the session ended).
  constructor(dialog, { api, onFailure }) {
    this.dialog = dialog;
    this.name = null;
    this.seen = null;
    this.timer = 0;
    const section = (name) => dialog.querySelector(`[data-field="${name}"]`);
    this.history = new PagedList(section("history"), {
      fetchPage: async (name, page, options) => (await api.listRuns(name, page, options)).runs,
      draw: drawRun,
      noun: "runs",
      empty: "No runs yet.",
      onFailure,
    });
    this.audit = new PagedList(section("audit"), {
      fetchPage: async (name, page, options) => (await api.listAudit(name, page, options)).entries,
      draw: drawAuditEntry,
      noun: "audit trail",
      empty: "Nothing has been done to this job yet.",
      onFailure,
    });
    wireDialog(dialog, { onClose: () => this.#closed() });
  }

  get openName() {
    return this.name;
  }

  // job: the job as last shown; opener: the control to focus again on close.
  open(job, opener) {
    this.name = job.name;
    this.seen = null;
    this.showJob(job);
    this.history.show(job.name);
    this.audit.show(job.name);
    // A run or audit entry is stored a moment after the change that made it:
    // look once more, in case the panel was opened on the heels of a change.
    this.#reloadSoon();
    if (location.hash !== hashOf(job.name)) {
      const here = `${location.pathname}${location.search}`;
      window.history.replaceState(null, "", `${here}${hashOf(job.name)}`);
    }
    openDialog(this.dialog, opener);
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  // The name in the address (#job=<name>), if any.
  static linkedName() {
    if (!location.hash.startsWith(HASH_PREFIX)) return null;
    try {
      return decodeURIComponent(location.hash.slice(HASH_PREFIX.length));
    } catch {
      return null;
    }
  }

  // Every change of every job passes here; only the open one matters.
  showJob(job) {
    if (job.name !== this.name) return;
    const text = (field, value) => {
      const element = this.#part(field);
      if (element.textContent !== value) element.textContent = value;
    };
    this.dialog.dataset.status = job.status;
    text("detail-name", job.name);
    text("detail-status", job.status);
    text("detail-category", job.category);
    const interval = job.interval_overridden
      ? `every ${job.interval} (default ${job.default_interval})`
      : `every ${job.interval}`;
    text("detail-interval", interval);
    text("detail-description", job.description ?? "");
    showWhyNotRunning(this.#part("detail-why"), job);
    this.#reloadOnChange(job);
  }

  #reloadOnChange(job) {
    const seen = changeMarks(job);
    const before = this.seen;
    this.seen = seen;
    if (!before || (seen.runs === before.runs && seen.controls === before.controls)) return;
    this.#reloadSoon();
  }

  #reloadSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // Both, when either changed: a manual run and its audit entry come together.
      this.history.refresh();
      this.audit.refresh();
    }, RELOAD_AFTER_MS);
  }

  #part(name) {
    return this.dialog.querySelector(`[data-field="${name}"]`);
  }

  #closed() {
    clearTimeout(this.timer);
    this.name = null;
    this.history.clear();
    this.audit.clear();
    if (location.hash.startsWith(HASH_PREFIX)) {
      window.history.replaceState(null, "", `${location.pathname}${location.search}`);
    }
  }
}

function hashOf(name) {
  return `${HASH_PREFIX}${encodeURIComponent(name)}`;
}

// What, when it changes, means a new run or a new audit entry.
function changeMarks(job) {
  return {
    runs: [job.status, job.total_runs, job.run_count, job.skipped_count, job.last_run_at].join("|"),
    controls: [job.status, job.paused, job.paused_until, job.interval, job.interval_overridden]
      .join("|"),
  };
}
