"""Subscribers the hub pushes to (jobdeck.events): every frame reaches every
sink, a sink that cannot take more is caught up later with the newest frame of
each job that changed, heartbeats ping or close, and big fan-outs are cut into
loop steps."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from jobdeck.events import PING, PUSHES_PER_STEP, EventHub, Subscriber

GAP_S = 0.01


def render(subject: str) -> tuple[str, dict[str, Any]]:
    return "job", {"name": subject, "version": VERSIONS.get(subject, 0)}


VERSIONS: dict[str, int] = {}


class Sink:
    """Collects what the hub writes; refuses while `full`."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.full = False

    def __call__(self, data: bytes) -> bool:
        if self.full:
            return False
        self.written.append(data)
        return True

    def frames(self) -> list[tuple[str, int]]:
        text = b"".join(self.written).decode()
        found = re.findall(r'"name":"(\w+)","version":(\d+)', text)
        return [(name, int(version)) for name, version in found]


async def pushed(hub: EventHub) -> tuple[Subscriber, Sink, asyncio.Task[None]]:
    subscriber = hub.subscribe()
    sink = Sink()
    following = asyncio.create_task(subscriber.push_to(sink))
    await asyncio.sleep(0)
    return subscriber, sink, following


async def change(hub: EventHub, *subjects: str) -> None:
    for subject in subjects:
        VERSIONS[subject] = VERSIONS.get(subject, 0) + 1
        hub.changed(subject)
    await asyncio.sleep(2 * GAP_S)


async def test_every_change_reaches_the_sink_in_order() -> None:
    hub = EventHub(render, min_gap_s=GAP_S)
    _, sink, following = await pushed(hub)

    VERSIONS.clear()
    for _ in range(3):
        await change(hub, "a")

    assert sink.frames() == [("a", 1), ("a", 2), ("a", 3)]
    following.cancel()


async def test_a_full_sink_gets_the_newest_of_each_change_when_it_takes_again() -> None:
    hub = EventHub(render, min_gap_s=GAP_S)
    subscriber, sink, following = await pushed(hub)
    VERSIONS.clear()

    sink.full = True
    await change(hub, "a", "b")
    await change(hub, "a")
    await change(hub, "c")
    assert sink.written == []

    sink.full = False
    await change(hub, "d")

    # a's first version is never sent: the newest state replaces it.
    assert sink.frames() == [("b", 1), ("a", 2), ("c", 1), ("d", 1)]
    assert subscriber.last_id == hub.last_id
    following.cancel()


async def test_a_heartbeat_pings_an_idle_sink_and_closes_an_expired_one() -> None:
    hub = EventHub(render, min_gap_s=GAP_S, heartbeat_s=0.05)
    _, idle, idle_following = await pushed(hub)
    expiring = hub.subscribe(expired=lambda: True)
    expiring_sink = Sink()

    await asyncio.wait_for(expiring.push_to(expiring_sink), timeout=1)

    assert expiring.closed and expiring_sink.written == []
    await asyncio.sleep(0.06)
    assert PING in idle.written
    idle_following.cancel()


async def test_closing_a_subscriber_ends_its_push_and_lets_it_go() -> None:
    hub = EventHub(render, min_gap_s=GAP_S)
    subscriber, _, following = await pushed(hub)

    subscriber.close()

    await asyncio.wait_for(following, timeout=1)
    assert hub.subscriber_count == 0


async def test_a_fan_out_wider_than_a_step_reaches_everyone_over_several_steps() -> (
    None
):
    hub = EventHub(render, min_gap_s=GAP_S)
    sinks = [(await pushed(hub))[1] for _ in range(2 * PUSHES_PER_STEP + 1)]
    VERSIONS.clear()
    VERSIONS["a"] = 1

    hub.changed("a")
    await asyncio.sleep(0)  # the flush runs, and pushes to the first step's share
    await asyncio.sleep(0)
    partway = sum(1 for sink in sinks if sink.written)
    await asyncio.sleep(2 * GAP_S)

    assert PUSHES_PER_STEP <= partway < len(sinks)
    assert all(sink.frames() == [("a", 1)] for sink in sinks)
