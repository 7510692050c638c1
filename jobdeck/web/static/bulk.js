// Selecting jobs (a checkbox on each card, or every card shown, e.g. all of a
// category) and pausing or resuming them in one action: one API call per job,
// a few at a time, and a report that names each job that failed and why.

import { showActionError } from "./cards.js";

const AT_ONCE = 6;
const VERBS = {
  pause: { doing: "Pausing", done: "Paused" },
  resume: { doing: "Resuming", done: "Resumed" },
};

export class Bulk {
  // toolbar: the section holding the bulk controls; board: the Board;
  // filters: the Filters; calls: { pause(name), resume(name) } resolving to
  // the job; onUnauthorized(): the session is gone.
  constructor(toolbar, board, filters, { calls, onUnauthorized }) {
    this.toolbar = toolbar;
    this.board = board;
    this.filters = filters;
    this.calls = calls;
    this.onUnauthorized = onUnauthorized;
    this.selected = new Set();
    this.busy = false;
    toolbar.addEventListener("click", (event) => this.#onClick(event));
    this.#part("select-shown").addEventListener("change", (event) =>
      this.#selectShown(event.target.checked),
    );
  }

  // A card's own checkbox changed (delegated from the grid).
  onCardChange(event) {
    const box = event.target.closest('[data-field="select"]');
    const card = box?.closest("[data-job]");
    if (!card) return;
    if (box.checked) this.selected.add(card.dataset.job);
    else this.selected.delete(card.dataset.job);
    this.#showSelection();
  }

  // A new card: checked if its job was selected before (e.g. a new snapshot).
  onCardCreated(card) {
    const box = card.querySelector('[data-field="select"]');
    if (box) box.checked = this.selected.has(card.dataset.job);
  }

  // What is shown changed: a hidden card cannot stay selected unseen.
  onShownChange() {
    for (const name of [...this.selected]) {
      const card = this.board.cards.get(name);
      if (!card || card.hidden) this.#setChecked(name, false);
    }
    this.#showSelection();
  }

  #part(name) {
    return this.toolbar.querySelector(`[data-field="${name}"]`);
  }

  #onClick(event) {
    const control = event.target.closest("[data-action]");
    if (!control || control.disabled) return;
    const action = control.dataset.action;
    if (action === "bulk-pause") this.#run("pause");
    else if (action === "bulk-resume") this.#run("resume");
    else if (action === "clear-selection") this.#clear();
  }

  #shownNames() {
    const names = [];
    for (const [name, card] of this.board.cards) if (!card.hidden) names.push(name);
    return names;
  }

  #selectShown(checked) {
    for (const name of this.#shownNames()) this.#setChecked(name, checked);
    this.#showSelection();
  }

  #clear() {
    for (const name of [...this.selected]) this.#setChecked(name, false);
    this.#showSelection();
    this.#part("bulk-report").hidden = true;
  }

  #setChecked(name, checked) {
    if (checked) this.selected.add(name);
    else this.selected.delete(name);
    const box = this.board.cards.get(name)?.querySelector('[data-field="select"]');
    if (box && box.checked !== checked) box.checked = checked;
  }

  #showSelection() {
    const count = this.selected.size;
    const shown = this.#shownNames();
    const all = this.#part("select-shown");
    const chosen = shown.filter((name) => this.selected.has(name)).length;
    all.checked = shown.length > 0 && chosen === shown.length;
    all.indeterminate = chosen > 0 && chosen < shown.length;
    all.disabled = shown.length === 0 || this.busy;
    this.#part("select-shown-label").textContent = this.#selectAllText(shown.length);
    this.#part("selected-count").textContent = count ? `${count} selected` : "None selected";
    for (const action of ["bulk-pause", "bulk-resume", "clear-selection"]) {
      this.toolbar.querySelector(`[data-action="${action}"]`).disabled = count === 0 || this.busy;
    }
  }

  #selectAllText(shown) {
    const category = this.filters.category.value;
    if (category && this.filters.words.length === 0) return `Select all ${shown} in ${category}`;
    return this.filters.active ? `Select all ${shown} shown` : `Select all ${shown}`;
  }

  async #run(kind) {
    const names = [...this.selected];
    const verb = VERBS[kind];
    const failures = [];
    let done = 0;
    let expired = false;
    this.busy = true;
    this.#showSelection();
    this.#report(`${verb.doing} ${names.length} ${plural(names.length)}…`, []);
    const queue = [...names];
    const worker = async () => {
      while (queue.length && !expired) {
        const name = queue.shift();
        try {
          this.board.showJob((await this.calls[kind](name)).job);
          done += 1;
        } catch (error) {
          if (error.status === 401) expired = true;
          failures.push({ name, message: error.message });
          const card = this.board.cards.get(name);
          if (card) showActionError(card, error.message);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(AT_ONCE, names.length) }, worker));
    this.busy = false;
    this.#showSelection();
    if (expired) this.onUnauthorized();
    this.#report(summary(verb.done, done, names.length, failures.length), failures);
  }

  #report(text, failures) {
    const box = this.#part("bulk-report");
    box.hidden = false;
    box.dataset.failed = String(failures.length);
    this.#part("bulk-summary").textContent = text;
    const items = failures.map(({ name, message }) => {
      const item = document.createElement("li");
      item.dataset.failedJob = name;
      const label = document.createElement("strong");
      label.textContent = name;
      item.append(label, `: ${message}`);
      return item;
    });
    this.#part("bulk-failures").replaceChildren(...items);
  }
}

function plural(count) {
  return count === 1 ? "job" : "jobs";
}

function summary(done, succeeded, total, failed) {
  if (!failed) return `${done} ${succeeded} ${plural(succeeded)}.`;
  return `${done} ${succeeded} of ${total} ${plural(total)}; ${failed} failed:`;
}
