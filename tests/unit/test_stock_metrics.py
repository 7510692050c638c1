import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobdeck.stock.system_metrics import (
    MetricsSample,
    collect_metrics,
    parse_meminfo,
    parse_process_status,
    parse_start_ticks,
    parse_uptime,
)

HAS_PROC = Path("/proc/self/status").is_file()
MIB = 1024 * 1024

MEMINFO = """\
MemTotal:       16000000 kB
MemFree:         2000000 kB
MemAvailable:   12320000 kB
HugePages_Total:       0
"""

STATUS = """\
Name:\tpython3
State:\tS (sleeping)
VmRSS:\t   86016 kB
Threads:\t12
"""

STAT = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194304 " + " ".join(
    ["0"] * 12 + ["100000", "0", "0"]
)


def sample(**changes: object) -> MetricsSample:
    fields: dict[str, object] = {
        "taken_at": datetime(2026, 1, 1, tzinfo=UTC),
        "load_averages": (0.42, 0.3, 0.25),
        "memory_total_bytes": 1000,
        "memory_available_bytes": 770,
        "disk_path": Path("/"),
        "disk_total_bytes": 1000,
        "disk_used_bytes": 610,
        "process_rss_bytes": 84 * MIB,
        "process_cpu_user_s": 1.5,
        "process_cpu_system_s": 0.5,
        "process_threads": 12,
        "process_open_fds": 9,
        "system_uptime_s": 1000.0,
        "process_uptime_s": 10.0,
    }
    fields.update(changes)
    return MetricsSample(**fields)  # type: ignore[arg-type]


def fake_proc(root: Path) -> Path:
    (root / "self" / "fd").mkdir(parents=True)
    (root / "meminfo").write_text(MEMINFO)
    (root / "uptime").write_text("2000.50 3000.00\n")
    (root / "self" / "status").write_text(STATUS)
    (root / "self" / "stat").write_text(STAT)
    for descriptor in range(3):
        (root / "self" / "fd" / str(descriptor)).touch()
    return root


def test_the_summary_reads_like_a_status_line() -> None:
    assert sample().summary() == (
        "load 0.42 0.30 0.25, memory 23% used, disk 61% used, "
        "process 84 MiB RSS, 12 threads"
    )


def test_the_summary_leaves_out_what_the_os_did_not_tell() -> None:
    partial = sample(load_averages=None, memory_total_bytes=None, process_threads=None)

    assert partial.summary() == "disk 61% used, process 84 MiB RSS"


def test_meminfo_sizes_are_converted_to_bytes() -> None:
    meminfo = parse_meminfo(MEMINFO)

    assert meminfo["MemTotal"] == 16_000_000 * 1024
    assert meminfo["MemAvailable"] == 12_320_000 * 1024
    assert meminfo["HugePages_Total"] == 0


def test_process_status_gives_rss_in_bytes_and_the_thread_count() -> None:
    status = parse_process_status(STATUS)

    assert (status["VmRSS"], status["Threads"]) == (86_016 * 1024, 12)
    assert "State" not in status


def test_the_start_time_is_found_after_a_name_with_spaces_and_parentheses() -> None:
    assert parse_start_ticks(STAT) == 100_000
    assert parse_start_ticks("4242 (short) S 1") is None


@pytest.mark.parametrize(("text", "expected"), [("12.5 40.0\n", 12.5), ("", None)])
def test_the_uptime_is_the_first_number(text: str, expected: float | None) -> None:
    assert parse_uptime(text) == expected


def test_a_fake_proc_tree_is_read_field_by_field(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path / "proc")

    metrics = collect_metrics(tmp_path, proc)

    assert metrics.memory_used_percent == pytest.approx(23.0)
    assert metrics.process_rss_bytes == 86_016 * 1024
    assert (metrics.process_threads, metrics.process_open_fds) == (12, 3)
    assert metrics.system_uptime_s == 2000.5
    ticks = os.sysconf("SC_CLK_TCK")
    assert metrics.process_uptime_s == pytest.approx(2000.5 - 100_000 / ticks)


def test_without_proc_the_sample_has_fewer_fields(tmp_path: Path) -> None:
    metrics = collect_metrics(tmp_path / "no-disk", tmp_path / "no-proc")

    assert metrics.memory_total_bytes is None
    assert metrics.process_rss_bytes is None
    assert metrics.process_open_fds is None
    assert metrics.process_uptime_s is None
    assert metrics.disk_used_percent is None
    assert metrics.process_cpu_user_s >= 0
    assert "memory" not in metrics.summary()


@pytest.mark.skipif(not HAS_PROC, reason="needs Linux /proc")
def test_this_machine_and_process_are_measured(tmp_path: Path) -> None:
    metrics = collect_metrics(tmp_path)

    assert metrics.load_averages is not None
    assert 0 < (metrics.memory_used_percent or 0) < 100
    assert 0 < (metrics.disk_used_percent or 0) <= 100
    assert (metrics.process_rss_bytes or 0) > MIB
    assert (metrics.process_threads or 0) >= threading.active_count()
    assert (metrics.process_open_fds or 0) >= 3
    assert (metrics.system_uptime_s or 0) >= (metrics.process_uptime_s or 0) >= 0
    assert metrics.taken_at.tzinfo is UTC
