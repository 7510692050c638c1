"""Job names (SPEC §3): the grammar, and the names it allows that no URL reaches."""

from __future__ import annotations

import pytest

from jobdeck.errors import InvalidJob
from jobdeck.jobs import define_job


@pytest.mark.parametrize("name", ["a", "dns.blocklist-refresh_2", "x" * 64])
def test_names_of_the_grammar_are_taken(name: str) -> None:
    assert define_job(name, "1m", lambda: None).name == name


@pytest.mark.parametrize("name", ["", "A", "a b", "a/runs", "x" * 65, "é"])
def test_names_outside_the_grammar_are_refused(name: str) -> None:
    with pytest.raises(InvalidJob, match="use 1 to 64 of"):
        define_job(name, "1m", lambda: None)


@pytest.mark.parametrize("name", ["sse", ".", ".."])
def test_names_the_api_cannot_reach_are_reserved(name: str) -> None:
    """GET /api/jobs/sse is the event stream; URLs resolve `.` and `..`."""
    with pytest.raises(InvalidJob, match="reserved"):
        define_job(name, "1m", lambda: None)
    assert define_job(f"{name}x", "1m", lambda: None).name == f"{name}x"
