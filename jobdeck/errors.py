"""The exceptions jobdeck raises, all under one root.

JobdeckError
├── InvalidInterval      an interval text the grammar refuses
├── InvalidJob           a job definition that cannot be registered
├── InvalidInput         any other value a caller sent that cannot be used
├── JobNotFound          no job (or token) of that name
├── JobConflict          the control cannot apply now (e.g. already running)
├── AccessDenied         signed in, but without the right
├── NotSignedIn          no valid session or token
├── TooManyAttempts      sign-ins refused for a while after failures
└── StoreError           the database failed; the driver error is the cause
"""

from __future__ import annotations


class JobdeckError(Exception):
    """Root of every error jobdeck raises on purpose."""

    code = "error"


class InvalidInterval(JobdeckError, ValueError):
    code = "invalid_interval"
    # The request's field that held it, named in the API's answer.
    field = "interval"


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


class TooManyAttempts(JobdeckError):
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreError(JobdeckError):
    code = "store_error"
