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
        return self.frames_of(self.written)

    @staticmethod
    def frames_of(writes: list[bytes]) -> list[tuple[str, int]]:
        text = b"".join(writes).decode()
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


async def end_all(hub: EventHub, following: list[asyncio.Task[None]]) -> None:
    """Close every subscriber, and see the pushes and pulls following them end."""
    hub.close_all()
    await asyncio.wait_for(asyncio.gather(*following), timeout=1)


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
    pushes = [await pushed(hub) for _ in range(2 * PUSHES_PER_STEP + 1)]
    sinks = [sink for _, sink, _ in pushes]
    VERSIONS.clear()
    VERSIONS["a"] = 1

    hub.changed("a")
    await asyncio.sleep(0)  # the flush runs, and pushes to the first step's share
    await asyncio.sleep(0)
    partway = sum(1 for sink in sinks if sink.written)
    await asyncio.sleep(2 * GAP_S)

    assert PUSHES_PER_STEP <= partway < len(sinks)
    assert all(sink.frames() == [("a", 1)] for sink in sinks)
    await end_all(hub, [following for _, _, following in pushes])


async def test_a_thousand_jobs_changing_make_a_paced_stream_rendered_once() -> None:
    """SPEC §6 and issue 3: with a thousand jobs changing each second, a client gets
    about one frame per gap, each with the newest state of every job changed since
    its last, rendered and encoded once for all clients, pushed or pulling."""
    renders = 0

    def counted(subject: str) -> tuple[str, dict[str, Any]]:
        nonlocal renders
        renders += 1
        return render(subject)

    hub = EventHub(counted, min_gap_s=GAP_S * 5)
    pushes = [await pushed(hub) for _ in range(20)]
    sinks = [sink for _, sink, _ in pushes]
    pulled: list[list[bytes]] = [[] for _ in range(20)]
    pullers = [asyncio.create_task(pull(hub.subscribe(), into)) for into in pulled]
    names = [f"job{i}" for i in range(1000)]
    VERSIONS.clear()

    # Every job changes twice a second for a second: 2,000 changes.
    began = asyncio.get_running_loop().time()
    for step in range(100):
        for name in names[(step % 50) * 20 : (step % 50 + 1) * 20]:
            VERSIONS[name] = VERSIONS.get(name, 0) + 1
            hub.changed(name)
        await asyncio.sleep(0.01)
    await asyncio.sleep(3 * GAP_S * 5)
    elapsed = asyncio.get_running_loop().time() - began

    most_frames = elapsed / (GAP_S * 5) + 2
    newest = {name: VERSIONS[name] for name in names}
    for writes in [sink.written for sink in sinks] + pulled:
        assert len(writes) <= most_frames
        assert dict(Sink.frames_of(writes)) == newest
    assert renders <= 2000  # once per change at most, however many clients
    assert all(a is b for a, b in zip(sinks[0].written, sinks[1].written, strict=True))
    await end_all(hub, [following for _, _, following in pushes] + pullers)


async def pull(subscriber: Subscriber, into: list[bytes]) -> None:
    while (frames := await subscriber.next_frames()) is not None:
        if frames:
            into.append(frames)


async def test_a_principal_whose_streams_were_ended_cannot_open_another() -> None:
    """A stream request whose credentials were checked just before its sign-out
    (or its token's revoke) subscribes just after it: it must end at once."""
    hub = EventHub(render, min_gap_s=GAP_S)
    open_before = hub.subscribe("session-1")

    hub.close_owner("session-1")
    late = hub.subscribe("session-1")
    other = hub.subscribe("session-2")

    assert open_before.closed and late.closed
    assert not other.closed
    assert hub.subscriber_count == 1
    other.close()
