"""The event-stream benchmark: jobdeck's stream beside a plain Starlette +
sse-starlette broadcaster, a change every 100 ms delivered to every client.

    python bench/sse.py --clients 1000            # both servers, one after the other
    python bench/sse.py --clients 5000 --only jobdeck

Each server runs in its own process under uvicorn with uvloop; the clients are raw
asyncio connections in a third process, all on 127.0.0.1. jobdeck's change is a real
job reporting progress (its message carries the send time), so every frame is a whole
job object (~1.1 KB); the peer's frames are padded to the same size.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
PERIOD_S = 0.1
HEARTBEAT_S = 5.0
# Clients are spread over processes of at most 500 connections, at most four: a
# client process reads its sockets one after another, so the last one's frame is
# stamped late by the time the others took (1,000 in one process added 5-8 ms to
# the p99, about as much as the server's whole fan-out).
CLIENTS_PER_PROCESS = 500
CLIENT_PROCESSES_MAX = 4
# Each client process keeps this many requests waiting for their answer, and
# gives up waiting (counting the rest as unanswered) after ANSWER_WITHIN_S: the
# peer took almost five minutes to answer 5,000 clients.
CONNECTS_IN_FLIGHT = 200
ANSWER_WITHIN_S = 60.0


# Servers -------------------------------------------------------------------------


async def ticker(run: Any) -> None:
    """A job that changes every 100 ms: its progress message is the send time.
    At a line on standard input it makes one last change, prints it (every
    client should end with that one) and waits for the next line to go on."""
    loop = asyncio.get_running_loop()
    lines = stdin_lines()
    next_at = loop.time()
    while True:
        if not lines.empty():
            lines.get_nowait()
            final = f"{time.time():.6f}"
            run.progress(None, final)
            report({"final": final})
            await lines.get()
        run.progress(None, f"{time.time():.6f}")
        # Read the clock after the fan-out, so a long fan-out never shifts the beat.
        next_at = max(next_at + PERIOD_S, loop.time())
        await asyncio.sleep(next_at - loop.time())


def stdin_lines() -> asyncio.Queue[str]:
    """Lines of standard input, read by a daemon thread (so that it never holds
    up the process's exit)."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def serve_jobdeck(port: int) -> None:
    import uvicorn

    from jobdeck import Accounts, Deck, Role, SqlStore, create_app, define_job

    folder = Path(tempfile.mkdtemp(prefix="jobdeck-sse-"))
    store = SqlStore.sqlite_file(folder / "bench.sqlite3")
    deck = Deck(store=store, node="bench")
    deck.add(define_job("ticker", "1h", ticker, first_delay_s=3600))
    accounts = Accounts(store)

    async def lifespan(app: Any) -> Any:
        await store.open()
        await deck.start()
        secret, _ = await accounts.create_token("bench", Role.VIEWER, "bench", None)
        print(json.dumps({"token": secret}), flush=True)
        await deck.run_now("ticker")
        gc.freeze()  # as jobdeck serve does after start-up
        yield
        await deck.stop(grace_s=0.1)

    from contextlib import asynccontextmanager

    app = create_app(deck, accounts, lifespan=asynccontextmanager(lifespan))
    app.state.heartbeat_s = HEARTBEAT_S
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", log_level="warning")


async def publish_to(queues: set[asyncio.Queue[str]]) -> None:
    """The peer's publisher: a change every 100 ms, and the ticker's pause."""
    padding = "x" * 1000

    def send(stamp: str, sequence: int) -> None:
        data = json.dumps({"t": stamp, "n": sequence, "pad": padding})
        for queue in list(queues):
            if queue.full():
                queue.get_nowait()  # a slow client keeps the newest frames
            queue.put_nowait(data)

    loop = asyncio.get_running_loop()
    lines = stdin_lines()
    next_at, sequence = loop.time(), 0
    while True:
        sequence += 1
        if not lines.empty():  # as the ticker does
            lines.get_nowait()
            final = f"{time.time():.6f}"
            send(final, sequence)
            report({"final": final})
            await lines.get()
        send(f"{time.time():.6f}", sequence)
        next_at = max(next_at + PERIOD_S, loop.time())
        await asyncio.sleep(next_at - loop.time())


def serve_peer(port: int) -> None:
    import uvicorn
    from sse_starlette.sse import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.routing import Route

    queues: set[asyncio.Queue[str]] = set()

    async def events(request: Any) -> EventSourceResponse:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
        queues.add(queue)

        async def stream() -> Any:
            try:
                while True:
                    yield {"event": "job", "data": await queue.get()}
            finally:
                queues.discard(queue)

        return EventSourceResponse(stream(), ping=int(HEARTBEAT_S))

    async def lifespan(app: Any) -> Any:
        task = asyncio.create_task(publish_to(queues))
        print(json.dumps({"token": ""}), flush=True)
        yield
        task.cancel()

    from contextlib import asynccontextmanager

    app = Starlette(
        routes=[Route("/api/jobs/sse", events)], lifespan=asynccontextmanager(lifespan)
    )
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", log_level="warning")


# Clients -------------------------------------------------------------------------

STAMP = re.compile(rb'"(?:progress_message|t)": ?"(\d+\.\d+)"')


class Client(asyncio.Protocol):
    def __init__(self, sink: list[float], counts: list[int], index: int) -> None:
        self.sink, self.counts, self.index = sink, counts, index
        self.transport: asyncio.Transport | None = None
        self.tail = b""
        self.last = ""
        # Set at the first bytes of the response: a connection the kernel has
        # accepted may wait in the server's backlog for seconds before it is
        # served, and must not count as connected until it is.
        self.answered = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self.answered.done():
            self.answered.set_result(None)
        now = time.time()
        chunk = self.tail + data
        cut = chunk.rfind(b"\n")
        self.tail = chunk[cut + 1 :]
        stamps = STAMP.findall(chunk[: cut + 1])
        for stamp in stamps:
            self.sink.append(now - float(stamp))
        if stamps:
            self.counts[self.index] += len(stamps)
            self.last = stamps[-1].decode()


async def run_clients(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    token = args.token
    request = (
        "GET /api/jobs/sse HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + (f"Authorization: Bearer {token}\r\n" if token else "")
        + "Accept: text/event-stream\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    counts = [0] * args.clients
    clients: list[Client] = []
    began = time.monotonic()

    in_flight = asyncio.Semaphore(CONNECTS_IN_FLIGHT)

    async def connect(index: int) -> None:
        async with in_flight:
            _, client = await loop.create_connection(
                lambda: Client(latencies, counts, index), "127.0.0.1", args.port
            )
            assert client.transport is not None
            client.transport.write(request)
            clients.append(client)
            await client.answered

    # A fixed number of requests waiting to be answered at any time, like a
    # crowd reconnecting; a client that is still waiting after ANSWER_WITHIN_S
    # stays connected (it may be answered later) and is counted.
    connecting = [asyncio.ensure_future(connect(i)) for i in range(args.clients)]
    await asyncio.wait(connecting, timeout=ANSWER_WITHIN_S)
    connected_s = time.monotonic() - began
    unanswered = sum(
        1 for task in connecting if not task.done() or task.exception() is not None
    )
    report(
        {"phase": "connected", "seconds": round(connected_s, 2),
         "unanswered": unanswered}
    )  # fmt: skip
    # Every client process starts measuring together, when told to.
    await loop.run_in_executor(None, sys.stdin.readline)
    await asyncio.sleep(2)  # settle: the snapshot and first frames

    latencies.clear()
    counts[:] = [0] * args.clients
    report({"phase": "measuring"})
    await asyncio.sleep(args.seconds)
    tenths = [round(latency * 10_000) for latency in latencies]  # 0.1 ms units
    report({"phase": "measured", "latencies": tenths, "per_client": list(counts)})

    # The server makes one last change when told; every client should get it.
    await loop.run_in_executor(None, sys.stdin.readline)
    await asyncio.sleep(3)
    report({"phase": "last", "stamps": [client.last for client in clients]})

    half = len(clients) // 2
    for client in clients[:half]:  # vanish abruptly: a TCP reset
        sock = client.transport.get_extra_info("socket") if client.transport else None
        if sock is not None:
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        if client.transport:
            client.transport.close()
    for client in clients[half:]:  # stop reading
        if client.transport:
            client.transport.pause_reading()
    report({"phase": "dropped"})
    await asyncio.sleep(HEARTBEAT_S + 3)


def summarise(
    measured: list[float], per_client: list[int], seconds: float
) -> dict[str, Any]:
    expected = seconds / PERIOD_S
    delivered = sum(per_client) / (expected * len(per_client))
    summary: dict[str, Any] = {
        "frames_per_client_min": min(per_client),
        "frames_expected": expected,
        "lost_pct": round(100 * max(0.0, 1 - delivered), 2),
    }
    if measured:
        summary["p50_ms"] = round(1000 * statistics.median(measured), 1)
        summary["p99_ms"] = round(1000 * measured[int(0.99 * len(measured))], 1)
        summary["max_ms"] = round(1000 * measured[-1], 1)
    return summary


def report(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)


# Orchestration -------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_rss(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def streams_open(port: int, token: str) -> int | None:
    import httpx

    try:
        answer = httpx.get(
            f"http://127.0.0.1:{port}/api/jobs",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        return int(answer.json()["scheduler"]["streams"])
    except Exception:  # any failure only means no reading this time
        return None


def measure(impl: str, clients: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "serve", impl, "--port", str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE.parent,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        token = json.loads(server.stdout.readline())["token"]
        time.sleep(1)
        rss_before = proc_rss(server.pid)
        processes = min(math.ceil(clients / CLIENTS_PER_PROCESS), CLIENT_PROCESSES_MAX)
        shares = split(clients, processes)
        runners = [client_process(port, token, share, seconds) for share in shares]
        return follow(impl, clients, seconds, server, runners, rss_before, token)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def client_process(
    port: int, token: str, clients: int, seconds: float
) -> subprocess.Popen[str]:
    command = [
        sys.executable, __file__, "clients", "--port", str(port), "--token", token,
        "--clients", str(clients), "--seconds", str(seconds),
    ]  # fmt: skip
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def follow(
    impl: str, clients: int, seconds: float, server: subprocess.Popen[str],
    runners: list[subprocess.Popen[str]], rss_before: int, token: str,
) -> dict[str, Any]:  # fmt: skip
    pid = server.pid
    result: dict[str, Any] = {"impl": impl, "clients": clients}
    connected = [next_event(runner, "connected") for runner in runners]
    result["connect_s"] = max(event["seconds"] for event in connected)
    result["unanswered"] = sum(event["unanswered"] for event in connected)
    for runner in runners:
        assert runner.stdin is not None
        runner.stdin.write("go\n")
        runner.stdin.flush()

    next_event(runners[0], "measuring")
    result["rss_per_connection_kib"] = round(
        (proc_rss(pid) - rss_before) / clients / 1024, 1
    )
    cpu_start, wall_start = proc_cpu_s(pid), time.monotonic()
    for runner in runners[1:]:
        next_event(runner, "measuring")
    measured = [next_event(runner, "measured") for runner in runners]
    cpu = proc_cpu_s(pid) - cpu_start
    result["cpu_pct"] = round(100 * cpu / (time.monotonic() - wall_start), 1)
    latencies = sorted(t / 10_000 for event in measured for t in event["latencies"])
    per_client = [n for event in measured for n in event["per_client"]]
    result.update(summarise(latencies, per_client, seconds))

    result["clients_without_the_last_change"] = last_change_missed(server, runners)

    for runner in runners:
        next_event(runner, "dropped")
    rss_dropped, began_dropped = proc_rss(pid), time.monotonic()
    if impl == "jobdeck":
        port = int(cast(list[str], server.args)[-1])
        result.update(watch_release(port, token, clients))
    # The other half stays, unread: what it costs is what the server grows by.
    time.sleep(max(0.0, HEARTBEAT_S + 1 - (time.monotonic() - began_dropped)))
    stalled = clients - clients // 2
    result["stalled_growth_kib_per_client"] = round(
        (proc_rss(pid) - rss_dropped) / stalled / 1024, 1
    )
    for runner in runners:
        runner.wait()
    return result


def last_change_missed(
    server: subprocess.Popen[str], runners: list[subprocess.Popen[str]]
) -> int:
    """Pause the changes; count the clients whose last frame is not the last
    one; go on."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("stop\n")
    server.stdin.flush()
    final = json.loads(server.stdout.readline())["final"]
    for runner in runners:
        assert runner.stdin is not None
        runner.stdin.write("check\n")
        runner.stdin.flush()
    stamps = [stamp for r in runners for stamp in next_event(r, "last")["stamps"]]
    server.stdin.write("go on\n")
    server.stdin.flush()
    return sum(stamp != final for stamp in stamps)


def next_event(runner: subprocess.Popen[str], phase: str) -> dict[str, Any]:
    assert runner.stdout is not None
    event: dict[str, Any] = json.loads(runner.stdout.readline())
    assert event.pop("phase") == phase, (phase, event)
    return event


def watch_release(port: int, token: str, clients: int) -> dict[str, Any]:
    """How long until the reset half is let go (the stalled half stays, capped)."""
    began = time.monotonic()
    while time.monotonic() - began < HEARTBEAT_S + 2:
        count = streams_open(port, token)
        if count is not None and count <= clients - clients // 2 + 1:
            return {"reset_freed_s": round(time.monotonic() - began, 2)}
        time.sleep(0.1)
    return {"reset_freed_s": None, "streams_left": streams_open(port, token)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "mode", choices=["run", "serve", "clients"], nargs="?", default="run"
    )
    parser.add_argument("impl", nargs="?", choices=["jobdeck", "peer"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--token", default="")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--only", choices=["jobdeck", "peer"])
    args = parser.parse_args()

    if args.mode == "serve":
        (serve_jobdeck if args.impl == "jobdeck" else serve_peer)(args.port)
    elif args.mode == "clients":
        import uvloop

        uvloop.run(run_clients(args))
    else:
        impls = [args.only] if args.only else ["jobdeck", "peer"]
        for impl in impls:
            print(json.dumps(measure(impl, args.clients, args.seconds)), flush=True)


if __name__ == "__main__":
    main()
