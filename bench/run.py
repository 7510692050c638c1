"""The benchmark suite: every scenario in a fresh process, jobdeck beside its peer.

    python bench/run.py              # the whole scheduler matrix, 3 runs each,
                                     # then the event stream at 100 to 10,000 clients
    python bench/run.py --quick      # one run each, shorter windows, 1,000 clients
    python bench/run.py --no-stream  # the scheduler matrix only

Prints a table of medians and writes every raw result to bench/results.json. Beside
async bodies it also runs bench/floor.py, the least a scheduler can do per run and
still write its runs to SQLite: how low this design can go on the machine at hand.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import timeit
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

SCENARIOS: list[dict[str, Any]] = [
    {"jobs": 1000, "body": "async"},
    {"jobs": 1000, "body": "sync"},
    {"jobs": 10000, "body": "async"},
    {"jobs": 10000, "body": "sync"},
]
METRICS = [
    ("late_p50_ms", "lateness p50 ms"),
    ("late_p99_ms", "lateness p99 ms"),
    ("late_max_ms", "lateness max ms"),
    ("cpu_us_per_run", "CPU µs per run"),
    ("cpu_pct", "CPU % of a core"),
    ("rss_per_job_b", "RSS per job, bytes"),
    ("steal_pct", "machine's steal time, % of a core"),
]


def install_peers() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "-r",
            str(HERE / "requirements.txt"),
        ],
        check=True,
    )


def measure(impl: str, extra: list[str]) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "schedulers.py"), "--impl", impl, *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def calibration_ms() -> float:
    """One plain number to compare machines (and one machine over time) by: a
    shared host's speed varied by a third within one session."""
    return 1000 * min(timeit.repeat("sum(range(10**6))", number=1, repeat=20))


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def row(label: str, ours: float, peer: float, floor: float | None = None) -> str:
    text = f"| {label} | {ours:,.3f} | {peer:,.3f} | {ratio(ours, peer)} |"
    if floor is not None:
        text += f" {floor:,.3f} | {ratio(floor, peer)} |"
    return text


def ratio(value: float, peer: float) -> str:
    return f"{value / peer:.2f}×" if peer else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-stream", action="store_true")
    args = parser.parse_args()
    install_peers()
    print(f"Machine speed: sum(range(10**6)) takes {calibration_ms():.1f} ms.")
    repeat = 1 if args.quick else 3
    window = ["--seconds", "6" if args.quick else "15", "--warmup", "2"]
    results: dict[str, Any] = {}

    for scenario in SCENARIOS:
        extra = ["--jobs", str(scenario["jobs"]), "--body", scenario["body"], *window]
        name = f"{scenario['jobs']} jobs, {scenario['body']} bodies"
        # The floor (bench/floor.py) only for async bodies: it has no threads.
        impls = ["jobdeck", "apscheduler"] + ["floor"] * (scenario["body"] == "async")
        runs = {impl: [measure(impl, extra) for _ in range(repeat)] for impl in impls}
        results[name] = runs
        print(f"\n### {name} at a 1 s interval (median of {repeat})\n")
        header = "| measure | jobdeck | APScheduler 3.11 | ratio |"
        if "floor" in runs:
            header += " floor | its ratio |"
        print(header + "\n" + "|---" + "|---:" * (header.count("|") - 2) + "|")
        for key, label in METRICS:
            ours = median_of(runs["jobdeck"], key)
            peer = median_of(runs["apscheduler"], key)
            floor = median_of(runs["floor"], key) if "floor" in runs else None
            print(row(label, ours, peer, floor))
        warn_unwritten("jobdeck", runs["jobdeck"])
        warn_unwritten("the floor", runs.get("floor", []))

    register = ["--jobs", "100000", "--register-only"]
    runs = {impl: [measure(impl, register) for _ in range(repeat)]
            for impl in ("jobdeck", "apscheduler")}  # fmt: skip
    results["register 100,000"] = runs
    print(f"\n### Registering 100,000 jobs and starting (median of {repeat})\n")
    print("| measure | jobdeck | APScheduler 3.11 | ratio |\n|---|---:|---:|---:|")
    for key, label in [
        ("register_s", "seconds"),
        ("rss_per_job_b", "RSS per job, bytes"),
    ]:
        print(
            row(
                label,
                median_of(runs["jobdeck"], key),
                median_of(runs["apscheduler"], key),
            )
        )

    if not args.no_stream:
        results["event stream"] = sse_table(SSE_QUICK if args.quick else SSE_FULL)
    (HERE / "results.json").write_text(json.dumps(results, indent=1))


def warn_unwritten(name: str, runs: list[dict[str, Any]]) -> None:
    unwritten = sum(run.get("runs_not_written", 0) for run in runs)
    if unwritten:
        print(
            f"\n**Not valid:** {unwritten:,} of {name}'s runs were missing from its "
            "store at the end: its writes failed, so it did less work than it should."
        )


SSE_FULL = [100, 1000, 5000, 10000]
SSE_QUICK = [1000]
SSE_METRICS = [
    ("connect_s", "seconds until every client is answered"),
    ("unanswered", "clients not answered within 60 s"),
    ("cpu_pct", "CPU % of a core"),
    ("p50_ms", "delivery p50 ms"),
    ("p99_ms", "delivery p99 ms"),
    ("max_ms", "delivery max ms"),
    ("lost_pct", "frames lost or coalesced, %"),
    ("clients_without_the_last_change", "clients without the last change"),
    ("rss_per_connection_kib", "RSS per connection, KiB"),
    ("stalled_growth_kib_per_client", "growth per stalled client, KiB"),
    ("reset_freed_s", "seconds to let reset clients go"),
]


def sse_table(sizes: list[int]) -> dict[str, Any]:
    """bench/sse.py at each size, one server at a time; a table per size."""
    results: dict[str, Any] = {}
    for clients in sizes:
        runs = {impl: sse_run(impl, clients) for impl in ("jobdeck", "peer")}
        results[str(clients)] = runs
        print(f"\n### Event stream, {clients:,} clients, a change every 100 ms\n")
        print("| measure | jobdeck | sse-starlette | ratio |\n|---|---:|---:|---:|")
        for key, label in SSE_METRICS:
            print(sse_row(label, runs["jobdeck"].get(key), runs["peer"].get(key)))
    return results


def sse_run(impl: str, clients: int) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "sse.py"), "--clients", str(clients),
               "--only", impl]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def sse_row(label: str, ours: Any, peer: Any) -> str:
    both = is_number(ours) and is_number(peer) and peer
    ratio = f"{ours / peer:.2f}×" if both else ""
    return f"| {label} | {_shown(ours)} | {_shown(peer)} | {ratio} |"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return "–" if value is None else f"{value:,}"


if __name__ == "__main__":
    main()
