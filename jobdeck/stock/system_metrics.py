"""System metrics: one sample of the machine's and this process's health.

Everything is read from the operating system at the moment of the sample:
load averages from ``os.getloadavg``, memory from ``/proc/meminfo`` (MemTotal
and MemAvailable), the disk usage of a chosen path, this process's resident
memory and thread count from ``/proc/self/status``, its open descriptors from
``/proc/self/fd``, its CPU times from ``os.times``, and the uptimes of the
machine and the process from ``/proc/uptime`` and ``/proc/self/stat``.

Where a source is missing (no ``/proc`` outside Linux, a locked-down container)
the fields it feeds are None and the summary leaves them out; the sample is
taken all the same.
"""

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_MIB = 1024 * 1024
_START_TIME_AFTER_NAME = 19
"""Index of ``starttime`` (field 22 in man 5 proc) among the fields after the name."""


@dataclass(frozen=True)
class MetricsSample:
    """Sizes are in bytes, times in seconds; None where the OS did not tell."""

    taken_at: datetime
    load_averages: tuple[float, float, float] | None
    memory_total_bytes: int | None
    memory_available_bytes: int | None
    disk_path: Path
    disk_total_bytes: int | None
    disk_used_bytes: int | None
    process_rss_bytes: int | None
    process_cpu_user_s: float
    process_cpu_system_s: float
    process_threads: int | None
    process_open_fds: int | None
    system_uptime_s: float | None
    process_uptime_s: float | None

    @property
    def memory_used_percent(self) -> float | None:
        if not self.memory_total_bytes or self.memory_available_bytes is None:
            return None

        used = self.memory_total_bytes - self.memory_available_bytes
        return 100 * used / self.memory_total_bytes

    @property
    def disk_used_percent(self) -> float | None:
        if not self.disk_total_bytes or self.disk_used_bytes is None:
            return None

        return 100 * self.disk_used_bytes / self.disk_total_bytes

    def summary(self) -> str:
        parts = []
        if self.load_averages is not None:
            loads = " ".join(f"{load:.2f}" for load in self.load_averages)
            parts.append(f"load {loads}")
        if self.memory_used_percent is not None:
            parts.append(f"memory {self.memory_used_percent:.0f}% used")
        if self.disk_used_percent is not None:
            parts.append(f"disk {self.disk_used_percent:.0f}% used")
        if self.process_rss_bytes is not None:
            parts.append(f"process {self.process_rss_bytes / _MIB:,.0f} MiB RSS")
        if self.process_threads is not None:
            noun = "thread" if self.process_threads == 1 else "threads"
            parts.append(f"{self.process_threads} {noun}")

        return ", ".join(parts) or "no system metrics available"


def collect_metrics(
    disk_path: Path = Path("/"), proc_root: Path = Path("/proc")
) -> MetricsSample:
    """Take one sample; ``disk_path`` picks the file system to measure."""
    meminfo = parse_meminfo(_read(proc_root / "meminfo") or "")
    status = parse_process_status(_read(proc_root / "self" / "status") or "")
    disk_total, disk_used = _disk_usage(disk_path)
    system_uptime = parse_uptime(_read(proc_root / "uptime") or "")
    cpu = os.times()

    return MetricsSample(
        taken_at=datetime.now(UTC),
        load_averages=_load_averages(),
        memory_total_bytes=meminfo.get("MemTotal"),
        memory_available_bytes=meminfo.get("MemAvailable"),
        disk_path=disk_path,
        disk_total_bytes=disk_total,
        disk_used_bytes=disk_used,
        process_rss_bytes=status.get("VmRSS"),
        process_cpu_user_s=cpu.user,
        process_cpu_system_s=cpu.system,
        process_threads=status.get("Threads"),
        process_open_fds=_open_descriptors(proc_root),
        system_uptime_s=system_uptime,
        process_uptime_s=_process_uptime(proc_root, system_uptime),
    )


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` as bytes by field name; unreadable lines are left out."""
    return _numbers_by_name(text)


def parse_process_status(text: str) -> dict[str, int]:
    """The numeric fields of ``/proc/<pid>/status`` (sizes in bytes)."""
    return _numbers_by_name(text)


def _numbers_by_name(text: str) -> dict[str, int]:
    # Both files hold "Name:  value [kB]" lines; sizes are given in kibibytes.
    numbers: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if not fields or not fields[0].isdigit():
            continue
        unit = 1024 if fields[1:] == ["kB"] else 1
        numbers[name.strip()] = int(fields[0]) * unit

    return numbers


def parse_uptime(text: str) -> float | None:
    """Seconds since boot, the first number of ``/proc/uptime``."""
    try:
        return float(text.split()[0])
    except (IndexError, ValueError):
        return None


def parse_start_ticks(stat_text: str) -> int | None:
    """When a process started, in clock ticks after boot, from its stat line."""
    # The command name in parentheses may hold spaces and parentheses itself,
    # so the fields are counted from the last closing parenthesis.
    fields = stat_text.rpartition(")")[2].split()
    if len(fields) <= _START_TIME_AFTER_NAME:
        return None

    start = fields[_START_TIME_AFTER_NAME]
    return int(start) if start.isdigit() else None


def _process_uptime(proc_root: Path, system_uptime: float | None) -> float | None:
    start_ticks = parse_start_ticks(_read(proc_root / "self" / "stat") or "")
    if start_ticks is None or system_uptime is None:
        return None

    return max(0.0, system_uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def _load_averages() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def _disk_usage(path: Path) -> tuple[int | None, int | None]:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None, None

    return usage.total, usage.used


def _open_descriptors(proc_root: Path) -> int | None:
    # The count includes the descriptor used to list the directory itself.
    try:
        return len(os.listdir(proc_root / "self" / "fd"))
    except OSError:
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
