// One paged list of the detail panel (a job's runs, its audit trail): Newer
// and Older buttons, the range shown, and a quiet reload of the newest page
// when the job changes. Items are drawn by the caller, as text only.

const PAGE_SIZE = 20;

export class PagedList {
  // section: holds [data-field="entries"], [data-field="range"],
  // [data-field="list-status"] and the newer/older buttons. fetchPage(name,
  // {limit, offset}, {signal}) resolves to the items; draw(item) returns an
  // element; onFailure(error) is true when it handled the error itself.
  constructor(section, { fetchPage, draw, noun, empty, onFailure }) {
    this.section = section;
    this.calls = { fetchPage, draw, onFailure };
    this.noun = noun;
    this.emptyText = empty;
    this.name = null;
    this.offset = 0;
    this.target = 0;
    this.controller = null;
    // id -> { signature, element } of the items in view
    this.drawn = new Map();
    section.addEventListener("click", (event) => {
      const control = event.target.closest("[data-action]");
      if (!control || control.disabled) return;
      const action = control.dataset.action;
      if (action === "newer") this.#go(Math.max(0, this.offset - PAGE_SIZE), control);
      if (action === "older") this.#go(this.offset + PAGE_SIZE, control);
    });
  }

  part(name) {
    return this.section.querySelector(`[data-field="${name}"]`);
  }

  show(name) {
    this.name = name;
    this.drawn.clear();
    this.part("entries").replaceChildren();
    this.part("range").textContent = "";
    return this.load(0);
  }

  clear() {
    this.controller?.abort();
    this.name = null;
    this.drawn.clear();
    this.part("entries").replaceChildren();
  }

  // Reload the page in view, if it is the newest: older pages stay put (also
  // one the user has just asked for and is still coming).
  refresh() {
    if (this.name !== null && this.target === 0) return this.load(0, { quiet: true });
    return Promise.resolve();
  }

  async load(offset, { quiet = false } = {}) {
    this.target = offset;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const status = this.part("list-status");
    this.section.setAttribute("aria-busy", "true");
    if (!quiet) status.textContent = `Loading ${this.noun}…`;
    try {
      // One more than a page: whether there is an older page, without a count.
      const page = { limit: PAGE_SIZE + 1, offset };
      const items = await this.calls.fetchPage(this.name, page, { signal: controller.signal });
      if (controller.signal.aborted) return;
      this.offset = offset;
      this.#draw(items);
      status.textContent = items.length ? "" : this.emptyText;
    } catch (error) {
      if (error.name === "AbortError" || controller.signal.aborted) return;
      if (this.calls.onFailure(error)) return;
      status.textContent = `Could not load the ${this.noun}: ${error.message}`;
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        this.section.removeAttribute("aria-busy");
      }
    }
  }

  #draw(items) {
    const shown = items.slice(0, PAGE_SIZE);
    this.#place(shown.map((item) => this.#element(item)));
    const more = items.length > PAGE_SIZE;
    const first = this.offset + 1;
    const last = this.offset + shown.length;
    let range = "";
    if (shown.length) {
      const span = first === last ? `${first}` : `${first}–${last}`;
      if (!more && !this.offset) range = `${last} in all`;
      else range = more ? span : `${span} of ${last}`;
    }
    this.part("range").textContent = range;
    this.#button("newer").disabled = this.offset === 0;
    this.#button("older").disabled = !more;
    this.part("pager").hidden = this.offset === 0 && !more;
  }

  // An item drawn before and unchanged keeps its element: an opened log, a
  // traceback being read or the keyboard focus survive a reload.
  #element(item) {
    const signature = JSON.stringify(item);
    const known = this.drawn.get(item.id);
    if (known && known.signature === signature) return known.element;
    const element = this.calls.draw(item);
    this.drawn.set(item.id, { signature, element });
    return element;
  }

  // Put `elements` in the list in order, moving no element already in place.
  #place(elements) {
    const list = this.part("entries");
    elements.forEach((element, index) => {
      const there = list.children[index];
      if (there !== element) list.insertBefore(element, there ?? null);
    });
    while (list.children.length > elements.length) list.lastElementChild.remove();
    const kept = new Set(elements);
    for (const [id, { element }] of this.drawn) if (!kept.has(element)) this.drawn.delete(id);
  }

  #button(action) {
    return this.section.querySelector(`[data-action="${action}"]`);
  }

  async #go(offset, control) {
    await this.load(offset);
    // Keep the keyboard where it was, unless that button is now disabled.
    if (control.disabled) {
      this.#button(control.dataset.action === "newer" ? "older" : "newer").focus();
    }
  }
}
