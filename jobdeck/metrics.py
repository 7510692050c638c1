"""Prometheus metrics of the deck (SPEC §5), built from the jobs' state at scrape.

Per job: runs by outcome, a duration histogram, the time of the last success,
consecutive failures, the lateness of the latest scheduled start, paused or not.
The counts live in each job's state, so nothing runs between scrapes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from jobdeck.deck import Deck
    from jobdeck.status import JobState

# Seconds: from quick bodies to long backups.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class JobMetrics:
    __slots__ = (
        "consecutive_failures",
        "duration_buckets",
        "duration_sum",
        "last_lateness_s",
        "last_success_at",
        "outcomes",
    )

    def __init__(self) -> None:
        self.outcomes: dict[str, int] = {}
        # Runs by bucket index. A dict of plain ints, not a list: the garbage
        # collector never tracks it (see JobState.recent_ms).
        self.duration_buckets: dict[int, int] = {}
        self.duration_sum = 0.0
        self.last_success_at: float | None = None
        self.consecutive_failures = 0
        self.last_lateness_s: float | None = None

    def observe_run(
        self, outcome: str, failed: bool, duration_s: float, ended_at: float
    ) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        bucket = bisect.bisect_left(DURATION_BUCKETS, duration_s)
        self.duration_buckets[bucket] = self.duration_buckets.get(bucket, 0) + 1
        self.duration_sum += duration_s
        if outcome == "success":
            self.last_success_at = ended_at
            self.consecutive_failures = 0
        elif failed:
            self.consecutive_failures += 1


class DeckCollector(Collector):
    def __init__(self, deck: Deck) -> None:
        self.deck = deck

    def collect(self) -> Iterator[Metric]:
        states = [self.deck.state(name) for name in self.deck.names()]
        yield from _job_families(states)
        yield GaugeMetricFamily(
            "jobdeck_scheduler_running",
            "1 while this process schedules runs",
            value=1 if self.deck.running else 0,
        )
        dropped = CounterMetricFamily(
            "jobdeck_store_dropped_records",
            "Records the store never got: refused for their values, or beyond "
            "the backlog held while it was down",
            labels=["reason"],
        )
        for reason, count in self.deck.dropped_records().items():
            dropped.add_metric([reason], count)
        yield dropped
        yield GaugeMetricFamily(
            "jobdeck_event_streams",
            "Open event streams",
            value=self.deck.hub.subscriber_count,
        )


def _job_families(states: Iterable[JobState]) -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "jobdeck_job_runs", "Runs ended", labels=["job", "outcome"]
    )
    durations = HistogramMetricFamily(
        "jobdeck_job_duration_seconds", "Run durations", labels=["job"]
    )
    success = GaugeMetricFamily(
        "jobdeck_job_last_success_timestamp_seconds",
        "When the latest successful run ended",
        labels=["job"],
    )
    failures = GaugeMetricFamily(
        "jobdeck_job_consecutive_failures", "Failed runs since the last success",
        labels=["job"],
    )  # fmt: skip
    lateness = GaugeMetricFamily(
        "jobdeck_job_lateness_seconds",
        "How late the latest scheduled run started",
        labels=["job"],
    )
    paused = GaugeMetricFamily("jobdeck_job_paused", "1 while paused", labels=["job"])

    for state in states:
        name, seen = state.name, state.metrics
        paused.add_metric([name], 1 if state.paused else 0)
        if seen is None:
            continue
        for outcome, count in sorted(seen.outcomes.items()):
            runs.add_metric([name, outcome], count)
        durations.add_metric([name], _buckets(seen), seen.duration_sum)
        failures.add_metric([name], seen.consecutive_failures)
        if seen.last_success_at is not None:
            success.add_metric([name], seen.last_success_at)
        if seen.last_lateness_s is not None:
            lateness.add_metric([name], seen.last_lateness_s)

    yield from (runs, durations, success, failures, lateness, paused)


def _buckets(seen: JobMetrics) -> list[tuple[str, float]]:
    cumulative, total = [], 0
    for bucket, bound in enumerate((*DURATION_BUCKETS, float("inf"))):
        total += seen.duration_buckets.get(bucket, 0)
        cumulative.append(
            ("+Inf" if bound == float("inf") else str(bound), float(total))
        )
    return cumulative
