// Entry point of the Jobs page (/admin/jobs): wires the board of cards, the
// live feed, the status bar and the page-level buttons.

import { api } from "./api.js";
import { cardControls } from "./actions.js";
import { Board } from "./board.js";
import * as statusbar from "./statusbar.js";
import { LiveFeed } from "./stream.js";
import { startTicker } from "./times.js";

const $ = (selector) => document.querySelector(selector);

function main() {
  const isAdmin = document.body.dataset.role === "admin";
  const grid = $('[data-field="cards"]');
  let feed = null;

  const expire = () => {
    feed?.stop();
    statusbar.showExpired();
  };
  let controls = null;
  const board = new Board(grid, {
    isAdmin,
    empty: $('[data-field="empty"]'),
    onScheduler: statusbar.showScheduler,
    onCardCreated: (card) => controls.wire(card),
  });
  controls = cardControls(board, { onUnauthorized: expire });
  grid.addEventListener("click", controls.onClick);

  feed = new LiveFeed({
    onSnapshot: (body) => board.receiveSnapshot(body),
    onJob: (job) => board.receiveJob(job),
    onScheduler: (scheduler) => board.receiveScheduler(scheduler),
    onMode: statusbar.showConnection,
    onExpired: expire,
  });
  wireLiveToggle(board);
  wireSignOut();
  startTicker(grid);
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
    location.assign("/login");
  });
}

main();
