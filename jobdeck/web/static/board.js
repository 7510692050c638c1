// The set of cards on the page: applies snapshots and job events idempotently
// by version, and holds them back while live updates are paused.

import { createCard, showActionError, updateCard } from "./cards.js";

// Past this many cards, those out of view skip layout and paint (see the CSS).
const MANY_CARDS = 60;

export class Board {
  // grid: the container of the cards; empty: the note shown when there are
  // none; onScheduler(scheduler) draws the status bar; onCardCreated(card)
  // wires a new card's controls; onJobShown(job, card) follows each change of
  // one job (filters, the detail panel); onJobsChanged() follows a snapshot.
  constructor(grid, { isAdmin, empty, onScheduler, onCardCreated, onJobShown, onJobsChanged }) {
    this.grid = grid;
    this.empty = empty;
    this.isAdmin = isAdmin;
    this.onScheduler = onScheduler;
    this.onCardCreated = onCardCreated;
    this.onJobShown = onJobShown ?? (() => {});
    this.onJobsChanged = onJobsChanged ?? (() => {});
    this.jobs = new Map();
    this.cards = new Map();
    this.epoch = null;
    this.paused = false;
    this.pending = { snapshot: null, jobs: new Map(), scheduler: null };
  }

  // Live input (stream or polling): held back while paused.

  receiveSnapshot(body) {
    if (!this.paused) return this.showSnapshot(body);
    this.pending.snapshot = body;
    this.pending.jobs.clear();
    this.pending.scheduler = null;
  }

  receiveJob(job) {
    if (!this.paused) return this.showJob(job);
    const held = this.pending.jobs.get(job.name);
    if (!held || job.version > held.version) this.pending.jobs.set(job.name, job);
  }

  receiveScheduler(scheduler) {
    if (!this.paused) return this.showScheduler(scheduler);
    this.pending.scheduler = scheduler;
  }

  setPaused(paused) {
    this.paused = paused;
    if (!paused) this.#flush();
  }

  #flush() {
    const { snapshot, jobs, scheduler } = this.pending;
    this.pending = { snapshot: null, jobs: new Map(), scheduler: null };
    if (snapshot) this.showSnapshot(snapshot);
    for (const job of jobs.values()) this.showJob(job);
    if (scheduler) this.showScheduler(scheduler);
  }

  // Shown at once, paused or not (answers to the user's own actions use these).

  showSnapshot({ scheduler, jobs }) {
    this.showScheduler(scheduler);
    const names = new Set(jobs.map((job) => job.name));
    for (const name of [...this.cards.keys()]) {
      if (!names.has(name)) this.#remove(name);
    }
    // New cards go in one append: a thousand jobs cost one layout, not a thousand.
    const added = document.createDocumentFragment();
    for (const job of jobs) this.#showJob(job, added);
    this.grid.append(added);
    this.grid.classList.toggle("cards--many", this.cards.size > MANY_CARDS);
    this.empty.hidden = this.cards.size > 0;
    this.grid.setAttribute("aria-busy", "false");
    this.onJobsChanged();
  }

  showScheduler(scheduler) {
    if (!scheduler) return;
    const epoch = `${scheduler.node}@${scheduler.started_at}`;
    // A restarted server counts versions from zero again.
    if (this.epoch !== null && epoch !== this.epoch) this.jobs.clear();
    this.epoch = epoch;
    this.onScheduler(scheduler);
  }

  showJob(job) {
    this.#showJob(job, this.grid);
  }

  #showJob(job, container) {
    const known = this.jobs.get(job.name);
    if (known && job.version <= known.version) return;
    this.jobs.set(job.name, job);
    let card = this.cards.get(job.name);
    if (!card) {
      card = this.#add(job, container);
    } else {
      updateCard(card, job);
      // A refusal message speaks of a state that has now changed.
      showActionError(card, "");
    }
    this.onJobShown(job, card);
  }

  // Redraw a card from its latest known state (e.g. after a refused action).
  redraw(name) {
    const card = this.cards.get(name);
    const job = this.jobs.get(name);
    if (card && job) updateCard(card, job);
  }

  job(name) {
    return this.jobs.get(name);
  }

  #add(job, container) {
    const card = createCard(job, { isAdmin: this.isAdmin });
    this.cards.set(job.name, card);
    container.append(card);
    this.onCardCreated(card);
    return card;
  }

  #remove(name) {
    this.cards.get(name)?.remove();
    this.cards.delete(name);
    this.jobs.delete(name);
  }
}
