"""Who may do what (SPEC §7): users with roles, passwords, server-side sessions.

Passwords are hashed with argon2id. A session cookie holds a random secret; the
store keeps only its SHA-256, so a copy of the database opens no session.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jobdeck.clock import as_utc
from jobdeck.errors import (
    InvalidInput,
    JobConflict,
    JobNotFound,
    NotSignedIn,
    TooManyAttempts,
)
from jobdeck.store.base import Store
from jobdeck.store.records import SessionRecord, TokenRecord, UserRecord
from jobdeck.throttle import SignInThrottle

# What a username may be, for the API's model and for reset_password alike.
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]+$"
USERNAME_MAX_LENGTH = 128

log = logging.getLogger("jobdeck.access")

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "jdt_"
# A token's streams are owned by `token:<id>`; a session's by its id.
TOKEN_OWNER = "token:"
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=1)
# A session's last use is written at most this often, not on every request.
SESSION_TOUCH_EVERY = timedelta(minutes=1)
# Sessions whose streams' use is remembered (to write it once a minute at most).
STREAMED_SESSIONS_KEPT = 10_000
# How often sign-ins delete the sessions that have ended.
ENDED_SESSIONS_EVERY_S = 3600.0

_hasher = PasswordHasher()  # argon2id with the library's current parameters
# Verified against when the user does not exist, so that both cases take as long.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class Role(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    """A signed-in user as a request sees it."""

    username: str
    role: Role
    # What ends this principal's streams when it is signed out or revoked:
    # a session's id, or `token:<id>`.
    session_id: str
    # Sessions carry a CSRF token; API tokens need none (no browser sends them).
    csrf_token: str | None
    # When the session or token ends by itself; None for a token without end.
    expires_at: datetime | None = None

    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= _now()

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def uses_token(self) -> bool:
        return self.csrf_token is None


class Accounts:
    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        """`hasher` defaults to argon2id with the library's parameters; tests may
        pass a cheaper one."""
        self.store = store
        self.hasher = hasher or _hasher
        self._account_throttle = SignInThrottle(free_failures=5)
        self._client_throttle = SignInThrottle(free_failures=20)
        # Token lookups in flight, by the hash of the secret: requests that come
        # while one is out share it (see _token).
        self._token_lookups: dict[str, asyncio.Future[TokenRecord | None]] = {}
        # When an open stream last recorded the use of its session (stream_ended),
        # and the writes of those uses under way.
        self._streamed: dict[str, datetime] = {}
        self._touches: set[asyncio.Task[None]] = set()
        self._touch_failing = False
        # When sign-in last deleted the sessions that have ended (monotonic).
        self._ended_deleted_at: float | None = None
        # Held from reading a user to writing its change, and from the check that
        # an admin remains to the change it allows: two requests cannot each
        # demote or delete the other admin, nor undo each other's change.
        self._user_changes = asyncio.Lock()

    def _refuse_if_throttled(self, keys: list[str]) -> None:
        wait = max(
            self._account_throttle.retry_after_s(keys[0]),
            self._client_throttle.retry_after_s(keys[1]),
        )
        if wait:
            raise TooManyAttempts(
                f"too many failed sign-ins; try again in {wait} s", wait
            )

    async def ensure_first_admin(self, password: str | None) -> str | None:
        """Create `admin` when there are no users; return the password if generated."""
        if await self.store.count_users() > 0:
            return None
        generated = None
        if not password:
            password = generated = secrets.token_urlsafe(15)
        await self.add_user("admin", password, Role.ADMIN)
        log.info("created the first admin user", extra={"action": "first_admin"})
        return generated

    async def reset_password(self, username: str, password: str) -> Reset:
        """Set a user's password whatever the old one was, for when no admin can
        sign in: one who does not exist is created as an admin, and one who is
        not an admin is made one when no admin is left. Every session of theirs
        ends."""
        check_new_credentials(username, password)
        if await self.store.get_user(username) is None:
            await self.add_user(username, password, Role.ADMIN)
            return Reset.CREATED
        users = await self.store.list_users()
        if any(user.role == Role.ADMIN for user in users):
            await self.change_user(username, None, password)
            return Reset.PASSWORD_SET
        await self.change_user(username, Role.ADMIN, password)
        return Reset.MADE_ADMIN

    async def add_user(self, username: str, password: str, role: Role) -> None:
        _check_password(password)
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        await self.store.add_user(
            UserRecord(username, password_hash, Role(role).value, _now())
        )

    async def sign_in(
        self, username: str, password: str, client: str | None = None
    ) -> tuple[str, Principal]:
        """Check the password; return the new cookie secret and the principal."""
        keys = [f"user:{username}", f"client:{client}"]
        self._refuse_if_throttled(keys)
        user = await self.store.get_user(username)
        stored = user.password_hash if user else _DUMMY_HASH
        verified = await asyncio.to_thread(_verify, self.hasher, stored, password)
        if not verified or user is None:
            self._account_throttle.failed(keys[0])
            self._client_throttle.failed(keys[1])
            log.warning(
                "failed sign-in for %r from %s",
                username[:64],
                client,
                extra={"action": "sign_in_failed"},
            )
            raise NotSignedIn("wrong username or password")
        self._account_throttle.succeeded(keys[0])

        secret = secrets.token_urlsafe(32)
        record = SessionRecord(
            id=_session_id(secret),
            username=user.username,
            csrf_token=secrets.token_urlsafe(24),
            created_at=_now(),
            expires_at=_now() + SESSION_LIFETIME,
            last_seen_at=_now(),
        )
        await self.store.add_session(record)
        await self._delete_ended_sessions()
        if await self.store.get_user(username) != user:
            # Changed (a new password or role) or deleted while the password was
            # checked: the change ended the user's sessions before this one was
            # added, so it must not outlive it.
            await self.store.delete_session(record.id)
            raise NotSignedIn("the account changed as you signed in; sign in again")
        return secret, Principal(
            user.username,
            Role(user.role),
            record.id,
            record.csrf_token,
            record.expires_at,
        )

    async def principal_for(self, secret: str) -> Principal:
        """The principal behind a session cookie, or NotSignedIn."""
        session = await self.store.get_session(_session_id(secret))
        now = _now()
        if session is None or session.expires_at <= now:
            raise NotSignedIn("the session has ended; sign in again")
        seen = session.last_seen_at or session.created_at
        if now - seen > SESSION_IDLE:
            raise NotSignedIn("the session ended after an hour unused; sign in again")
        if now - seen > SESSION_TOUCH_EVERY:
            await self.store.touch_session(session.id, now)
        user = await self.store.get_user(session.username)
        if user is None:
            raise NotSignedIn("the user no longer exists")
        return Principal(
            user.username,
            Role(user.role),
            session.id,
            session.csrf_token,
            session.expires_at,
        )

    def stream_ended(self, principal: Principal) -> bool:
        """Asked at each heartbeat of a stream: whether its principal has ended.
        An open stream is use of its session: a Jobs page that is watched, not
        clicked, stays signed in up to the session's absolute end. The use is
        written at most once a minute, as a request's is."""
        if principal.expired():
            self._streamed.pop(principal.session_id, None)
            return True
        if not principal.uses_token:
            self._note_stream_use(principal.session_id)
        return False

    async def _delete_ended_sessions(self) -> None:
        """Sessions that expired or idled out stay in the store until deleted:
        each sign-in adds one, so sign-ins delete them, at most once an hour."""
        now = time.monotonic()
        last = self._ended_deleted_at
        if last is not None and now - last < ENDED_SESSIONS_EVERY_S:
            return
        self._ended_deleted_at = now
        moment = _now()
        deleted = await self.store.delete_ended_sessions(moment, moment - SESSION_IDLE)
        if deleted:
            log.info(
                "deleted %d ended sessions",
                deleted,
                extra={"action": "sessions_deleted"},
            )

    async def ended_elsewhere(self, owners: Iterable[str]) -> list[str]:
        """Of these stream owners (session ids and `token:<id>`), those whose
        session or token is gone from the store: ended by another process on the
        same database, such as `jobdeck reset-password`, which cannot tell this
        one. Signing out and revoking here end their streams at once instead."""
        sessions = [o for o in owners if not o.startswith(TOKEN_OWNER)]
        tokens = [o for o in owners if o.startswith(TOKEN_OWNER)]
        gone = []
        if sessions:
            existing = await self.store.existing_sessions(sessions)
            gone += [s for s in sessions if s not in existing]
        if tokens:
            kept = {token_owner(t.id) for t in await self.store.list_tokens()}
            gone += [t for t in tokens if t not in kept]
        return gone

    def _note_stream_use(self, session_id: str) -> None:
        now = _now()
        noted = self._streamed.get(session_id)
        if noted is not None and now - noted < SESSION_TOUCH_EVERY:
            return
        if len(self._streamed) >= STREAMED_SESSIONS_KEPT:
            # Those noted over a minute ago would be written again anyway.
            recent = {
                s: at
                for s, at in self._streamed.items()
                if now - at < SESSION_TOUCH_EVERY
            }
            self._streamed = recent if len(recent) < STREAMED_SESSIONS_KEPT else {}
        self._streamed[session_id] = now
        touch = asyncio.ensure_future(self._touch(session_id, now))
        self._touches.add(touch)
        touch.add_done_callback(self._touches.discard)

    async def _touch(self, session_id: str, now: datetime) -> None:
        try:
            await self.store.touch_session(session_id, now)
        except Exception as exc:  # a store of the application's may raise anything
            # Once per outage: every open stream tries once a minute, and the
            # store's failure is already on the status bar.
            if not self._touch_failing:
                log.warning(
                    "could not record a stream's use of its session: %s: %s",
                    type(exc).__name__,
                    exc,
                    extra={"action": "session_touch_failed"},
                )
            self._touch_failing = True
        else:
            self._touch_failing = False

    async def change_user(
        self, username: str, role: Role | None, password: str | None
    ) -> list[str]:
        """Change a user's role or password; every session of theirs ends (so a
        demoted admin signs in again as what they now are). Returns the ended
        sessions' ids."""
        if await self.store.get_user(username) is None:
            raise JobNotFound(f"no user named {username!r:.80}")
        new_hash = None
        if password is not None:
            _check_password(password)
            new_hash = await asyncio.to_thread(self.hasher.hash, password)

        async with self._user_changes:
            user = await self.store.get_user(username)
            if user is None:
                raise JobNotFound(f"no user named {username!r:.80}")
            if role is not None and role is not Role.ADMIN:
                await self._keep_an_admin(username)
            new_role = Role(role).value if role is not None else user.role
            password_hash = new_hash or user.password_hash
            changed = UserRecord(username, password_hash, new_role, user.created_at)
            await self.store.replace_user(changed)
        log.info("user %s changed", username, extra={"action": "user_changed"})
        return await self.store.delete_sessions_of(username)

    async def delete_user(self, username: str) -> list[str]:
        async with self._user_changes:
            if await self.store.get_user(username) is None:
                raise JobNotFound(f"no user named {username!r:.80}")
            await self._keep_an_admin(username)
            ended = await self.store.delete_sessions_of(username)
            await self.store.delete_user(username)
        log.info("user %s deleted", username, extra={"action": "user_deleted"})
        return ended

    async def _keep_an_admin(self, leaving: str) -> None:
        """Refuse to remove the last admin: no one could manage access then."""
        admins = [u for u in await self.store.list_users() if u.role == Role.ADMIN]
        if [u.username for u in admins] == [leaving]:
            raise JobConflict("the last admin cannot be removed or demoted")

    async def sign_out(self, principal: Principal) -> None:
        await self.store.delete_session(principal.session_id)

    async def create_token(
        self, name: str, role: Role, created_by: str, expires_at: datetime | None
    ) -> tuple[str, TokenRecord]:
        """A new API token; the secret is returned here and never again."""
        if expires_at is not None:
            expires_at = as_utc(expires_at, "expires_at")
            if expires_at <= _now():
                raise InvalidInput("expires_at is in the past")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = TokenRecord(
            id=secrets.token_hex(8),
            name=name,
            role=Role(role).value,
            secret_hash=_digest(secret),
            created_by=created_by,
            created_at=_now(),
            expires_at=expires_at,
        )
        await self.store.add_token(token)
        log.info("token %s created by %s", name, created_by, extra={"action": "token"})
        return secret, token

    async def revoke_token(self, token_id: str) -> bool:
        """Delete a token; False if there is none with this id."""
        if not await self.store.delete_token(token_id):
            return False
        # A lookup still out may have read the token before it went: requests
        # from now on must not share its answer.
        self._token_lookups.clear()
        log.info("token %s revoked", token_id, extra={"action": "token_revoked"})
        return True

    async def principal_for_token(self, secret: str) -> Principal:
        token = await self._token(_digest(secret))
        if token is None:
            raise NotSignedIn("unknown or revoked API token")
        if token.expires_at is not None and token.expires_at <= _now():
            raise NotSignedIn("the API token has expired")
        return Principal(
            token.name, Role(token.role), token_owner(token.id), None, token.expires_at
        )

    def _lookup_done(
        self, digest: str, lookup: asyncio.Future[TokenRecord | None]
    ) -> None:
        # Only this lookup: after a revoke, a newer one may stand under the digest.
        if self._token_lookups.get(digest) is lookup:
            del self._token_lookups[digest]

    async def _token(self, digest: str) -> TokenRecord | None:
        """The token with this hash, looked up once for all requests that ask
        while the lookup is out: a thousand clients reconnecting with one token
        would otherwise queue a thousand lookups on the database. Nothing is
        kept after: a request that comes after a revoke sees it."""
        pending = self._token_lookups.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(self.store.token_by_hash(digest))
            self._token_lookups[digest] = pending
            pending.add_done_callback(functools.partial(self._lookup_done, digest))
        return await asyncio.shield(pending)


class Reset(StrEnum):
    """What `reset_password` did."""

    CREATED = "created"
    PASSWORD_SET = "password_set"
    MADE_ADMIN = "made_admin"


def check_new_credentials(username: str, password: str) -> None:
    """Refuse a username the API would refuse, or a password too short."""
    too_long = len(username) > USERNAME_MAX_LENGTH
    if too_long or not re.fullmatch(USERNAME_PATTERN, username):
        raise InvalidInput(
            f"a username is 1 to {USERNAME_MAX_LENGTH} of A-Z a-z 0-9 _ . @ -, "
            f"not {username!r:.80}"
        )
    _check_password(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
        )


def _verify(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_owner(token_id: str) -> str:
    return TOKEN_OWNER + token_id


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_session_id = _digest


def _now() -> datetime:
    return datetime.now(UTC)
