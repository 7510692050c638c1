// Filtering the cards by category and by text. A card that does not match is
// hidden, not removed: its state keeps following the stream. A change of one
// job re-checks that job's card only.

const TYPING_PAUSE_MS = 120;

export class Filters {
  // board: the Board; onChange() follows every change of what is shown.
  constructor(toolbar, board, { onChange }) {
    this.board = board;
    this.onChange = onChange;
    this.text = toolbar.querySelector('[data-field="filter-text"]');
    this.category = toolbar.querySelector('[data-field="filter-category"]');
    this.count = toolbar.querySelector('[data-field="filter-count"]');
    this.noMatch = document.querySelector('[data-field="no-match"]');
    this.words = [];
    this.shownCount = 0;
    this.categories = "";
    let timer = 0;
    this.text.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.apply(), TYPING_PAUSE_MS);
    });
    this.text.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      clearTimeout(timer);
      this.apply();
    });
    this.category.addEventListener("change", () => this.apply());
  }

  get active() {
    return this.words.length > 0 || this.category.value !== "";
  }

  matches(job) {
    if (this.category.value && job.category !== this.category.value) return false;
    if (this.words.length === 0) return true;
    const haystack = `${job.name} ${job.description ?? ""} ${job.category ?? ""}`.toLowerCase();
    return this.words.every((word) => haystack.includes(word));
  }

  // Every card again (the filter changed, or a snapshot came).
  apply() {
    this.words = this.text.value.toLowerCase().split(/\s+/).filter(Boolean);
    this.#listCategories();
    let shown = 0;
    for (const [name, card] of this.board.cards) {
      if (this.#place(card, this.board.job(name))) shown += 1;
    }
    this.#showCount(shown);
  }

  // One job changed: its card only.
  applyOne(job, card) {
    const was = !card.hidden;
    const is = this.#place(card, job);
    if (was !== is) this.#showCount(this.shownCount + (is ? 1 : -1));
    if (!this.categories.split("\n").includes(job.category ?? "")) this.#listCategories();
  }

  // Hide or show a card; true when it is shown.
  #place(card, job) {
    const shown = Boolean(job) && this.matches(job);
    if (card.hidden === shown) card.hidden = !shown;
    return shown;
  }

  #showCount(shown) {
    this.shownCount = shown;
    const total = this.board.cards.size;
    const noun = total === 1 ? "job" : "jobs";
    const text = shown === total ? `${total} ${noun}` : `${shown} of ${total} ${noun} shown`;
    if (this.count.textContent !== text) this.count.textContent = text;
    this.noMatch.hidden = !(total > 0 && shown === 0);
    this.onChange();
  }

  // The category menu lists every category there is, in order.
  #listCategories() {
    const names = [...new Set([...this.board.jobs.values()].map((job) => job.category ?? ""))]
      .filter(Boolean)
      .sort((a, b) => a.localeCompare(b));
    const key = names.join("\n");
    if (key === this.categories) return;
    this.categories = key;
    const chosen = this.category.value;
    const options = names.map((name) => new Option(name, name, false, name === chosen));
    this.category.replaceChildren(this.category.options[0], ...options);
    if (chosen && !names.includes(chosen)) this.category.value = "";
  }
}
