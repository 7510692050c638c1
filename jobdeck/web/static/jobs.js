// Entry point of the Jobs page (/admin/jobs): wires the board of cards, the
// live feed, the status bar, the filters and bulk actions, the detail panel,
// the pause dialog and the page-level buttons.

import { api, BASE } from "./api.js";
import { cardControls } from "./actions.js";
import { Board } from "./board.js";
import { Bulk } from "./bulk.js";
import { DetailPanel } from "./detail.js";
import { Filters } from "./filters.js";
import { PauseMenu } from "./pausemenu.js";
import * as statusbar from "./statusbar.js";
import { LiveFeed } from "./stream.js";
import { startTicker } from "./times.js";

const $ = (selector) => document.querySelector(selector);

function main() {
  const isAdmin = document.body.dataset.role === "admin";
  if (!isAdmin) {
    for (const element of document.querySelectorAll("main [data-admin-only]")) {
      if (!element.closest("template")) element.remove();
    }
  }
  const grid = $('[data-field="cards"]');
  const toolbar = $(".toolbar");
  let feed = null;

  const expire = () => {
    feed?.stop();
    statusbar.showExpired();
  };
  const handled = (error) => {
    if (error.status !== 401) return false;
    expire();
    return true;
  };

  // Built in turn; the board calls back into those made after it.
  const parts = {};
  const board = new Board(grid, {
    isAdmin,
    empty: $('[data-field="empty"]'),
    onScheduler: statusbar.showScheduler,
    onCardCreated: (card) => {
      parts.controls.wire(card);
      parts.bulk?.onCardCreated(card);
    },
    onJobShown: (job, card) => {
      parts.filters.applyOne(job, card);
      parts.detail.showJob(job);
    },
    onJobsChanged: () => parts.filters.apply(),
  });
  parts.filters = new Filters(toolbar, board, { onChange: () => parts.bulk?.onShownChange() });
  parts.detail = new DetailPanel($('[data-field="detail"]'), { api, onFailure: handled });
  const pauseMenu = new PauseMenu($('[data-field="pause-dialog"]'), {
    pause: async (name, end) => (await api.pauseJob(name, end)).job,
    onPaused: (job) => board.showJob(job),
    onFailure: handled,
  });
  parts.controls = cardControls(board, {
    onUnauthorized: expire,
    openDetail: (job, opener) => job && parts.detail.open(job, opener),
    openPauseMenu: (job, opener) => job && pauseMenu.open(job, opener),
  });
  if (isAdmin) {
    parts.bulk = new Bulk(toolbar, board, parts.filters, {
      calls: { pause: (name) => api.pauseJob(name), resume: (name) => api.resumeJob(name) },
      onUnauthorized: expire,
    });
    grid.addEventListener("change", (event) => parts.bulk.onCardChange(event));
  }
  grid.addEventListener("click", parts.controls.onClick);

  let linked = DetailPanel.linkedName();
  feed = new LiveFeed({
    onSnapshot: (body) => {
      board.receiveSnapshot(body);
      // A link to a job's panel (#job=<name>) opens it once the job is known.
      if (linked && board.job(linked)) parts.detail.open(board.job(linked), null);
      linked = null;
    },
    onJob: (job) => board.receiveJob(job),
    onScheduler: (scheduler) => board.receiveScheduler(scheduler),
    onMode: statusbar.showConnection,
    onExpired: expire,
    onRefused: statusbar.showStreamRefused,
  });
  wireLiveToggle(board);
  wireSignOut();
  startTicker($("#main"));
  feed.start();
}

function wireLiveToggle(board) {
  const toggle = $('[data-action="live"]');
  toggle.addEventListener("click", () => {
    const paused = !board.paused;
    board.setPaused(paused);
    toggle.dataset.state = paused ? "paused" : "live";
    toggle.textContent = paused ? "Resume live updates" : "Pause live updates";
    statusbar.showLivePaused(paused);
  });
}

function wireSignOut() {
  const signOut = $('[data-action="sign-out"]');
  signOut.addEventListener("click", async () => {
    signOut.disabled = true;
    try {
      await api.signOut();
    } catch (error) {
      if (error.status !== 401) {
        signOut.disabled = false;
        window.alert(`Signing out failed: ${error.message}`);
        return;
      }
    }
    location.assign(`${BASE}/login`);
  });
}

main();
