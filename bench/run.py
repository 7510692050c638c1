"""The benchmark suite: every scenario in a fresh process, jobdeck beside its peer.

    python bench/run.py              # the whole scheduler matrix, 3 runs each
    python bench/run.py --quick      # one run each, shorter windows

Prints a table of medians and writes every raw result to bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

SCENARIOS = [
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


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def row(label: str, ours: float, peer: float) -> str:
    ratio = ours / peer if peer else float("nan")
    return f"| {label} | {ours:,.3f} | {peer:,.3f} | {ratio:.2f}× |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    install_peers()
    repeat = 1 if args.quick else 3
    window = ["--seconds", "6" if args.quick else "15", "--warmup", "2"]
    results: dict[str, Any] = {}

    for scenario in SCENARIOS:
        extra = ["--jobs", str(scenario["jobs"]), "--body", scenario["body"], *window]
        name = f"{scenario['jobs']} jobs, {scenario['body']} bodies"
        runs = {impl: [measure(impl, extra) for _ in range(repeat)]
                for impl in ("jobdeck", "apscheduler")}  # fmt: skip
        results[name] = runs
        print(f"\n### {name} at a 1 s interval (median of {repeat})\n")
        print("| measure | jobdeck | APScheduler 3.11 | ratio |\n|---|---:|---:|---:|")
        for key, label in METRICS:
            ours = median_of(runs["jobdeck"], key)
            peer = median_of(runs["apscheduler"], key)
            print(row(label, ours, peer))

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

    (HERE / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
