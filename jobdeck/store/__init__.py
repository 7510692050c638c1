"""Persistence behind one interface: `Store`, with memory and SQL backends."""

from jobdeck.store.base import Store
from jobdeck.store.memory import MemoryStore
from jobdeck.store.records import (
    AuditEntry,
    JobRecord,
    RunRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
)
from jobdeck.store.sql import SqlStore

__all__ = [
    "AuditEntry",
    "JobRecord",
    "MemoryStore",
    "RunRecord",
    "SessionRecord",
    "SqlStore",
    "Store",
    "TokenRecord",
    "UserRecord",
]
