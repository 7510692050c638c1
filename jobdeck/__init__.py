"""jobdeck: run a server's background jobs in-process and steer them live.

The public surface is what this module exports; everything else is internal.
"""

from typing import TYPE_CHECKING, Any

from jobdeck.clock import Clock, SystemClock
from jobdeck.errors import (
    AccessDenied,
    InvalidInput,
    InvalidInterval,
    InvalidJob,
    JobConflict,
    JobdeckError,
    JobNotFound,
    NotSignedIn,
    StoreError,
    TooManyAttempts,
)
from jobdeck.intervals import format_interval, parse_interval
from jobdeck.jobs import Job, Scope, define_job

if TYPE_CHECKING:
    from jobdeck.access import Accounts, Role
    from jobdeck.deck import Actor, Deck
    from jobdeck.runs import Outcome, RunContext, Trigger
    from jobdeck.server import ConsoleServer
    from jobdeck.status import Status
    from jobdeck.store import MemoryStore, SqlStore, Store
    from jobdeck.web.app import create_app

# Imported on first use, so that `import jobdeck` (and so the CLI, which only talks
# HTTP) does not pay for the web framework and the database drivers.
_LAZY = {
    "Accounts": "jobdeck.access",
    "Role": "jobdeck.access",
    "Actor": "jobdeck.deck",
    "ConsoleServer": "jobdeck.server",
    "Deck": "jobdeck.deck",
    "Outcome": "jobdeck.runs",
    "RunContext": "jobdeck.runs",
    "Trigger": "jobdeck.runs",
    "Status": "jobdeck.status",
    "MemoryStore": "jobdeck.store",
    "SqlStore": "jobdeck.store",
    "Store": "jobdeck.store",
    "create_app": "jobdeck.web.app",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'jobdeck' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "AccessDenied",
    "Accounts",
    "Actor",
    "Clock",
    "ConsoleServer",
    "Deck",
    "InvalidInput",
    "InvalidInterval",
    "InvalidJob",
    "Job",
    "JobConflict",
    "JobNotFound",
    "JobdeckError",
    "MemoryStore",
    "NotSignedIn",
    "Outcome",
    "Role",
    "RunContext",
    "Scope",
    "SqlStore",
    "Status",
    "Store",
    "StoreError",
    "SystemClock",
    "TooManyAttempts",
    "Trigger",
    "create_app",
    "define_job",
    "format_interval",
    "parse_interval",
]
