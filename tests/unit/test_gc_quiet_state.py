"""What a job keeps after its runs is invisible to the garbage collector (bar one
object per job): at ten thousand jobs, containers made at each job's first run
aged into the oldest generation and brought a full pass of ~60 ms round, which
was the worst lateness of the 10,000-job benchmark (docs/benchmarks.md)."""

from __future__ import annotations

import gc

from jobdeck.jobs import define_job
from jobdeck.runs import Outcome
from jobdeck.status import RECENT_RUNS, SPARKLINE_RUNS, JobState


def test_a_jobs_run_counts_are_not_tracked_by_the_collector() -> None:
    state = JobState(define_job("counted", "1s", lambda: None))
    for run in range(SPARKLINE_RUNS + 5):
        state.note_success(run)
        state.note_run(run, Outcome.SUCCESS, False, 1_700_000_000.0 + run)
    state.note_run(7, Outcome.ERROR, True, 1_700_000_100.0)
    # One young collection must be enough. The collector stops tracking a tuple
    # once it finds its items untracked, but a tuple of fresh tuples can be looked
    # at before its items are: it then survives, and a young collection that is
    # also a middle-generation one moves it to the oldest generation.
    gc.collect(0)

    assert state.metrics is not None
    kept = [
        state.recent_ms, state.recent_durations, state.recent_outcomes,
        state.metrics.duration_buckets, state.metrics.outcomes,
    ]  # fmt: skip
    assert [gc.is_tracked(container) for container in kept] == [False] * 5
    assert len(state.recent_ms) == RECENT_RUNS
    assert len(state.recent_durations) == len(state.recent_outcomes) == SPARKLINE_RUNS
    assert (state.recent_durations[-1], state.recent_outcomes[-1]) == (7, "error")
    assert state.usual_ms == sorted(state.recent_ms)[RECENT_RUNS // 2]
