"""jobdeck: run a server's background jobs in-process and steer them live.

The public surface is what this module exports; everything else is internal.
"""

from jobdeck.access import Accounts, Role
from jobdeck.clock import Clock, SystemClock
from jobdeck.deck import Actor, Deck
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
from jobdeck.runs import Outcome, RunContext, Trigger
from jobdeck.status import Status
from jobdeck.store import MemoryStore, SqlStore, Store
from jobdeck.web.app import create_app

__all__ = [
    "AccessDenied",
    "Accounts",
    "Actor",
    "Clock",
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
