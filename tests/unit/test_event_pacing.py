"""How the event hub paces frames (SPEC §6, issue 3): changes coming once a gap
go out at once, even after one flush ran late; a storm of changes still sends
about one frame per gap. Real loop time, short and bounded."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from jobdeck.events import FLUSH_BURST, EventHub

GAP_S = 0.05


class Rendered:
    """A render function that notes when each frame was made."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, subject: str) -> tuple[str, dict[str, Any]]:
        self.times.append(time.monotonic())
        return "job", {"name": subject}


async def test_a_change_once_a_gap_goes_out_at_once_even_after_a_late_flush() -> None:
    rendered = Rendered()
    hub = EventHub(rendered, min_gap_s=GAP_S)
    hub.subscribe()
    changed_at = []
    began = time.monotonic()

    for beat in range(20):
        changed_at.append(time.monotonic())
        hub.changed("probe")
        if beat == 3:
            time.sleep(0.6 * GAP_S)  # the loop is busy: this flush runs late
        # A steady beat: each change is due once a gap from the first.
        await asyncio.sleep(began + (beat + 1) * GAP_S - time.monotonic())

    assert len(rendered.times) == 20
    lags = [
        made - changed for made, changed in zip(rendered.times, changed_at, strict=True)
    ]
    assert max(lags[6:]) < 0.2 * GAP_S, lags


async def test_a_storm_of_changes_sends_about_one_frame_per_gap() -> None:
    rendered = Rendered()
    hub = EventHub(rendered, min_gap_s=GAP_S)
    hub.subscribe()

    began = time.monotonic()
    while time.monotonic() - began < 20 * GAP_S:
        hub.changed("probe")
        await asyncio.sleep(GAP_S / 10)
    await asyncio.sleep(2 * GAP_S)

    elapsed = time.monotonic() - began
    assert len(rendered.times) <= elapsed / GAP_S + FLUSH_BURST
    assert len(rendered.times) >= 15
