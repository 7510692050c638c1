"""A `[[jobs]]` table with every key it takes gives the job it describes."""

from pathlib import Path

from jobdeck.config import load_settings

TABLE = """
[[jobs]]
name = "report"
interval = "1h30m"
command = "/usr/local/bin/report --all"
category = "reports"
description = "Writes the report."
timeout = "5m"
first_delay = "1m"
jitter = "10s"
"""


def test_every_key_of_a_jobs_table_reaches_its_job(tmp_path: Path) -> None:
    config = tmp_path / "jobdeck.toml"
    config.write_text(TABLE)

    (job,) = load_settings(config, environ={}).jobs

    assert job.name == "report"
    assert job.interval_seconds == 5400
    assert job.command == ("/usr/local/bin/report", "--all")
    assert (job.category, job.description) == ("reports", "Writes the report.")
    assert (job.timeout_s, job.first_delay_s, job.jitter_s) == (300, 60, 10)
