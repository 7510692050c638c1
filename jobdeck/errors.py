"""The exceptions jobdeck raises, all under one root.

JobdeckError
├── InvalidInterval      an interval text the grammar refuses
├── InvalidJob           a job definition that cannot be registered
├── JobNotFound          no job of that name
├── JobConflict          the control cannot apply now (e.g. already running)
├── AccessDenied         signed in, but without the right
├── NotSignedIn          no valid session or token
└── StoreError           the database failed; the driver error is the cause
"""

from __future__ import annotations


class JobdeckError(Exception):
    """Root of every error jobdeck raises on purpose."""

    code = "error"


class InvalidInterval(JobdeckError, ValueError):
    code = "invalid_interval"


class InvalidJob(JobdeckError, ValueError):
    code = "invalid_job"


class InvalidInput(JobdeckError, ValueError):
    code = "invalid_input"


class JobNotFound(JobdeckError, LookupError):
    code = "not_found"


class JobConflict(JobdeckError):
    code = "conflict"


class AccessDenied(JobdeckError):
    code = "forbidden"


class NotSignedIn(JobdeckError):
    code = "unauthorized"


class StoreError(JobdeckError):
    code = "store_error"
