"""Takes the README's screenshot: `jobdeck serve` with its dns and dhcp jobs on the
real files of ../shared/data, the Jobs page in Debian's Chromium once they have run.

    .venv/bin/python scripts/readme_screenshot.py docs/images/jobs-page.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import ADMIN_PASSWORD, Server, sign_in  # noqa: E402

DATA = REPO.parent / "shared" / "data"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def config_text() -> str:
    def files(*names: str) -> str:
        return "[" + ", ".join(f'"{DATA / name}"' for name in names) + "]"

    lists = files(
        "blocklist-hosts-adaway.txt",
        "blocklist-adblock-hagezi-personal.txt",
        "blocklist-adblock-perflyst-smarttv-agh.txt",
    )
    return f"""
[stock.blocklist-refresh]
sources = {lists}

[stock.dhcp-lease-sync]
interval = "1m"
dnsmasq = {files("dnsmasq-home-network.leases", "dnsmasq-foreman-fixture.leases")}
isc = {files("dhcpd-pxe-lab.leases", "dhcpd-hackerspace.leases")}

[stock.metrics-collect]
interval = "30s"
"""


def main(target: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="jobdeck-shot-"))
    config = folder / "jobdeck.toml"
    config.write_text(config_text())
    server = Server(folder / "data", config).start()
    try:
        with closing(sign_in(server.url)) as client:
            time.sleep(8)  # the stock jobs' first runs
            client.post("/api/jobs/history-retention/pause")
            client.put("/api/jobs/db-backup/interval", json={"interval": "12h"})
            client.post("/api/jobs/dhcp-lease-sync/run")
        shoot(server.url, target)
    finally:
        server.stop()


def shoot(url: str, target: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(f"{url}/login?next=/admin/jobs")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-job=dhcp-lease-sync]")
        time.sleep(1.5)
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target))
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
