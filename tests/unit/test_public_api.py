"""The public surface is exactly what `jobdeck.__all__` says, and it drifts only on
purpose: adding or removing a name means changing this list too."""

import jobdeck

EXPECTED = {
    "AccessDenied", "Accounts", "Actor", "Clock", "ConsoleServer", "Deck",
    "InvalidInput", "InvalidInterval", "InvalidJob", "Job", "JobConflict",
    "JobNotFound", "JobdeckError", "MemoryStore", "NotSignedIn", "Outcome", "Role",
    "RunContext", "Scope", "SqlStore", "Status", "Store", "StoreError",
    "SystemClock", "TooManyAttempts", "Trigger",
    "create_app", "define_job", "format_interval", "parse_interval",
}  # fmt: skip


def test_all_lists_exactly_the_public_names() -> None:
    assert set(jobdeck.__all__) == EXPECTED


def test_every_public_name_is_importable_from_the_package() -> None:
    for name in jobdeck.__all__:
        assert getattr(jobdeck, name) is not None


def test_every_exported_error_derives_from_the_one_root() -> None:
    errors = [getattr(jobdeck, n) for n in EXPECTED if n.endswith(("Error", "Denied"))]
    errors += [jobdeck.InvalidInterval, jobdeck.JobNotFound, jobdeck.JobConflict]
    assert all(issubclass(kind, jobdeck.JobdeckError) for kind in errors)
