"""The `[server] max_threads` setting: the worker threads of plain-function bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobdeck.config import load_settings
from jobdeck.errors import InvalidInput
from jobdeck.threads import DEFAULT_MAX_THREADS


def settings_from(tmp_path: Path, text: str) -> int:
    config = tmp_path / "jobdeck.toml"
    config.write_text(text)
    return load_settings(config, environ={}).max_threads


def test_the_default_is_pythons_thread_pool_default(tmp_path: Path) -> None:
    assert settings_from(tmp_path, "") == DEFAULT_MAX_THREADS
    assert 5 <= DEFAULT_MAX_THREADS <= 32


def test_the_file_sets_it(tmp_path: Path) -> None:
    assert settings_from(tmp_path, "[server]\nmax_threads = 12\n") == 12


@pytest.mark.parametrize("value", ["0", '"8"', "true", "2.5"])
def test_anything_but_a_whole_number_from_one_is_refused(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(
        InvalidInput, match=r"jobdeck\.toml: \[server\] max_threads: must be"
    ):
        settings_from(tmp_path, f"[server]\nmax_threads = {value}\n")
