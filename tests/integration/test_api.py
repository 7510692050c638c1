"""The JSON API of SPEC §5 in-process: shapes, status codes, access and CSRF."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from jobdeck.access import Accounts, Role
from jobdeck.deck import Deck
from jobdeck.jobs import define_job
from jobdeck.runs import RunContext
from jobdeck.store.memory import MemoryStore
from jobdeck.web.app import create_app

ADMIN_PASSWORD = "correct horse battery"
# Still argon2id, with parameters cheap enough for a test suite.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
BASE = "http://127.0.0.1"


@pytest.fixture
async def deck() -> AsyncIterator[Deck]:
    store = MemoryStore()
    deck = Deck(store=store, node="test")
    release = asyncio.Event()

    async def slow() -> None:
        await release.wait()

    deck.add(
        define_job("probe", "1h", lambda: "ok", category="test", first_delay_s=3600)
    )
    deck.add(define_job("slow", "1h", slow, first_delay_s=3600))
    accounts = Accounts(store, CHEAP)
    await accounts.ensure_first_admin(ADMIN_PASSWORD)
    await accounts.add_user("vera", "viewer password", Role.VIEWER)
    await deck.start()
    deck.release = release  # type: ignore[attr-defined]
    yield deck
    release.set()
    await deck.stop(grace_s=1)


@pytest.fixture
async def anonymous(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(deck, Accounts(deck.store, CHEAP))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def signed_in(client: httpx.AsyncClient, user: str, password: str) -> str:
    answer = await client.post(
        "/api/session", json={"username": user, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrf_token"])


@pytest.fixture
async def anonymous_too(deck: Deck) -> AsyncIterator[httpx.AsyncClient]:
    """A second client, with no cookie of its own."""
    app = create_app(deck, Accounts(deck.store, CHEAP))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


@pytest.fixture
async def admin(anonymous: httpx.AsyncClient) -> httpx.AsyncClient:
    token = await signed_in(anonymous, "admin", ADMIN_PASSWORD)
    anonymous.headers["X-CSRF-Token"] = token
    return anonymous


@pytest.fixture
async def viewer(anonymous_too: httpx.AsyncClient) -> httpx.AsyncClient:
    token = await signed_in(anonymous_too, "vera", "viewer password")
    anonymous_too.headers["X-CSRF-Token"] = token
    return anonymous_too


def error_of(answer: httpx.Response) -> dict[str, str]:
    body = answer.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


async def test_sign_in_sets_an_httponly_strict_cookie(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.post(
        "/api/session", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert answer.json()["user"] == {"username": "admin", "role": "admin"}


async def test_a_wrong_password_is_401_and_says_nothing_more(
    anonymous: httpx.AsyncClient,
) -> None:
    for user in ("admin", "nobody"):
        answer = await anonymous.post(
            "/api/session", json={"username": user, "password": "wrong password"}
        )
        assert answer.status_code == 401
        assert error_of(answer)["message"] == "wrong username or password"


async def test_anonymous_requests_get_401_json(anonymous: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/jobs"), ("GET", "/api/jobs/probe"), ("GET", "/api/jobs/sse"),
        ("POST", "/api/jobs/probe/run"), ("PUT", "/api/jobs/probe/interval"),
    ]:  # fmt: skip
        answer = await anonymous.request(method, path, json={"interval": "5m"})
        assert answer.status_code == 401, path
        assert error_of(answer)["code"] == "unauthorized"
        assert "probe" not in answer.text


async def test_the_page_sends_anonymous_users_to_sign_in(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.get("/admin/jobs")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/admin/jobs"


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/jobs/admin/jobs", "/jobs/admin/jobs"),
        ("/jobs/admin/jobs#job=probe", "/jobs/admin/jobs#job=probe"),
        # Nowhere outside the console, and never to another site.
        ("/admin/jobs", "/jobs/admin/jobs"),
        ("https://evil.example/jobs/", "/jobs/admin/jobs"),
        ("//evil.example/jobs/", "/jobs/admin/jobs"),
        (None, "/jobs/admin/jobs"),
    ],
)
async def test_a_mounted_console_keeps_its_links_and_redirects_under_its_path(
    deck: Deck, asked: str | None, kept: str
) -> None:
    from fastapi import FastAPI

    host = FastAPI()
    host.mount("/jobs", create_app(deck, Accounts(deck.store, CHEAP)))
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        home = await client.get("/jobs/")
        to_sign_in = await client.get("/jobs/admin/jobs")
        query = {} if asked is None else {"next": asked}
        login = await client.get("/jobs/login", params=query)
        script = await client.get("/jobs/static/login.js")

    assert home.headers["location"] == "/jobs/admin/jobs"
    assert to_sign_in.headers["location"] == "/jobs/login?next=/jobs/admin/jobs"
    assert f'data-next="{kept}"' in login.text
    assert 'data-base="/jobs"' in login.text
    assert 'src="/jobs/static/login.js"' in login.text
    assert 'href="/jobs/static/jobdeck.css"' in login.text
    assert script.status_code == 200


async def test_health_is_public_and_tells_no_secrets(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.get("/healthz")
    assert answer.json() == {"status": "ok", "scheduler_running": True}


async def test_the_job_list_has_the_scheduler_and_every_job_field(
    admin: httpx.AsyncClient,
) -> None:
    body = (await admin.get("/api/jobs")).json()

    assert body["scheduler"]["running"] is True
    probe = next(job for job in body["jobs"] if job["name"] == "probe")
    for field in (
        "name", "category", "description", "status", "interval", "interval_seconds",
        "default_interval", "paused", "run_count", "total_runs", "last_run_at",
        "last_duration_ms", "last_outcome", "next_run_at", "last_error",
        "running_since",
    ):  # fmt: skip
        assert field in probe
    assert probe["next_run_at"].endswith("Z")


async def test_run_now_answers_202_then_409_while_running(
    admin: httpx.AsyncClient,
) -> None:
    first = await admin.post("/api/jobs/slow/run")
    answers = await asyncio.gather(
        *(admin.post("/api/jobs/slow/run") for _ in range(20))
    )

    assert first.status_code == 202
    assert first.json()["job"]["status"] == "running"
    assert {a.status_code for a in answers} == {409}
    assert error_of(answers[0])["code"] == "conflict"


async def test_pause_and_resume(admin: httpx.AsyncClient) -> None:
    paused = (await admin.post("/api/jobs/probe/pause")).json()["job"]
    again = await admin.post("/api/jobs/probe/pause")
    resumed = (await admin.post("/api/jobs/probe/resume")).json()["job"]

    assert (paused["status"], paused["next_run_at"], paused["paused_by"]) == (
        "paused",
        None,
        "admin",
    )
    assert again.status_code == 200
    assert (resumed["status"], resumed["paused"]) == ("idle", False)
    assert resumed["next_run_at"] is not None


async def test_interval_put_and_delete(admin: httpx.AsyncClient) -> None:
    changed = await admin.put("/api/jobs/probe/interval", json={"interval": " 90m "})
    reset = await admin.delete("/api/jobs/probe/interval")

    assert changed.json()["job"]["interval"] == "1h30m"
    assert changed.json()["job"]["default_interval"] == "1h"
    assert reset.json()["job"]["interval"] == "1h"


@pytest.mark.parametrize(
    "value", ["0s", "-5m", "5M", "5", "m", "5 m", "1.5h", "5mm", "5ms", "5w", "",
              "   ", None, 30, "99999999d", "30m1h", "1h1h"],
)  # fmt: skip
async def test_a_refused_interval_is_422_naming_the_field_and_changes_nothing(
    admin: httpx.AsyncClient, value: object
) -> None:
    before = (await admin.get("/api/jobs/probe")).json()

    answer = await admin.put("/api/jobs/probe/interval", json={"interval": value})

    assert answer.status_code == 422
    error = error_of(answer)
    assert (error["code"], error["field"]) == ("invalid_interval", "interval")
    assert "accepted:" in error["message"]
    assert (await admin.get("/api/jobs/probe")).json() == before


async def test_a_missing_interval_is_422(admin: httpx.AsyncClient) -> None:
    answer = await admin.put("/api/jobs/probe/interval", json={})
    assert answer.status_code == 422
    assert error_of(answer)["code"] == "invalid_request"


async def test_unknown_jobs_are_404(admin: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/jobs/nope"), ("POST", "/api/jobs/nope/run"),
        ("POST", "/api/jobs/nope/pause"), ("PUT", "/api/jobs/nope/interval"),
        ("GET", "/api/jobs/nope/runs"),
    ]:  # fmt: skip
        body = {"interval": "5m"} if path.endswith("/interval") else None
        answer = await admin.request(method, path, json=body)
        assert answer.status_code == 404, path
        assert error_of(answer)["code"] == "not_found"


async def test_a_change_to_an_unknown_job_or_user_is_404_whatever_its_body(
    admin: httpx.AsyncClient, viewer: httpx.AsyncClient
) -> None:
    for path, body in [
        ("/api/jobs/nope/pause", {"for": 5}),
        ("/api/jobs/nope/pause", {"untill": "2030-01-01T00:00:00Z"}),
        ("/api/jobs/nope/interval", {}),
        ("/api/jobs/nope/interval", {"interval": "5m", "extra": 1}),
        ("/api/users/nope", {"role": "owner"}),
    ]:
        method = {"pause": "POST", "interval": "PUT"}.get(
            path.rsplit("/", 1)[1], "PATCH"
        )
        answer = await admin.request(method, path, json=body)
        looked_at_by_a_viewer = await viewer.request(method, path, json=body)

        assert answer.status_code == 404, (path, body)
        assert error_of(answer)["code"] == "not_found"
        assert looked_at_by_a_viewer.status_code == 403, (path, body)


async def test_an_interval_preview_of_an_unknown_job_is_404_whatever_its_query(
    admin: httpx.AsyncClient, viewer: httpx.AsyncClient
) -> None:
    for query in ["", "?interval=", "?interval=5m", "?interval=bogus"]:
        for client in (admin, viewer):
            answer = await client.get(f"/api/jobs/nope/interval/preview{query}")

            assert answer.status_code == 404, query
            assert error_of(answer)["code"] == "not_found"


async def test_get_on_an_action_is_405_and_does_nothing(
    admin: httpx.AsyncClient,
) -> None:
    answer = await admin.get("/api/jobs/probe/pause")
    assert answer.status_code == 405
    assert (await admin.get("/api/jobs/probe")).json()["paused"] is False


async def test_a_control_without_the_csrf_token_is_refused(
    admin: httpx.AsyncClient,
) -> None:
    del admin.headers["X-CSRF-Token"]
    answer = await admin.post("/api/jobs/probe/pause")
    wrong = await admin.post("/api/jobs/probe/pause", headers={"X-CSRF-Token": "x"})

    assert answer.status_code == wrong.status_code == 403
    assert (await admin.get("/api/jobs/probe")).json()["paused"] is False


async def test_a_viewer_reads_but_cannot_control(anonymous: httpx.AsyncClient) -> None:
    token = await signed_in(anonymous, "vera", "viewer password")
    anonymous.headers["X-CSRF-Token"] = token

    assert (await anonymous.get("/api/jobs")).status_code == 200
    answer = await anonymous.post("/api/jobs/probe/pause")
    assert answer.status_code == 403
    assert error_of(answer)["code"] == "forbidden"


async def test_signing_out_ends_the_session(admin: httpx.AsyncClient) -> None:
    assert (await admin.delete("/api/session")).status_code == 204
    assert (await admin.get("/api/jobs")).status_code == 401


async def test_history_pages_newest_first(admin: httpx.AsyncClient, deck: Deck) -> None:
    for _ in range(3):
        await admin.post("/api/jobs/probe/run")
        for _ in range(100):
            if deck.job_object("probe")["status"] != "running":
                break
            await asyncio.sleep(0.01)
    await deck.flush()

    page = (await admin.get("/api/jobs/probe/runs?limit=2")).json()

    assert len(page["runs"]) == 2
    newest = page["runs"][0]
    assert (newest["trigger"], newest["user"], newest["outcome"]) == (
        "manual",
        "admin",
        "success",
    )
    assert newest["started_at"] >= page["runs"][1]["started_at"]


async def test_every_response_carries_the_security_headers(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.get("/login")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


async def test_the_openapi_document_is_served(anonymous: httpx.AsyncClient) -> None:
    paths = (await anonymous.get("/openapi.json")).json()["paths"]
    assert "/api/jobs/{name}/interval" in paths


async def test_cancel_stops_a_running_run_and_409s_otherwise(
    admin: httpx.AsyncClient, deck: Deck
) -> None:
    idle = await admin.post("/api/jobs/slow/cancel")
    await admin.post("/api/jobs/slow/run")
    cancelled = await admin.post("/api/jobs/slow/cancel")
    for _ in range(100):
        if deck.job_object("slow")["status"] != "running":
            break
        await asyncio.sleep(0.01)

    assert idle.status_code == 409
    assert cancelled.status_code == 200
    assert deck.job_object("slow")["last_outcome"] == "cancelled"


async def test_an_admin_adds_users_and_a_viewer_may_not(
    admin: httpx.AsyncClient,
) -> None:
    created = await admin.post(
        "/api/users",
        json={"username": "otto", "password": "otto's password", "role": "viewer"},
    )
    again = await admin.post(
        "/api/users",
        json={"username": "otto", "password": "otto's password", "role": "viewer"},
    )
    short = await admin.post(
        "/api/users", json={"username": "kim", "password": "short", "role": "admin"}
    )
    listed = (await admin.get("/api/users")).json()["users"]

    assert created.status_code == 201
    assert again.status_code == short.status_code == 422
    assert "at least 10 characters" in error_of(short)["message"]
    assert {u["username"]: u["role"] for u in listed}["otto"] == "viewer"
    assert all("password" not in str(user) for user in listed)

    token = await signed_in(admin, "otto", "otto's password")
    answer = await admin.post(
        "/api/users",
        json={"username": "eve", "password": "eve's password", "role": "admin"},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 403


async def make_token(
    admin: httpx.AsyncClient, role: str = "admin", **more: object
) -> dict[str, Any]:
    answer = await admin.post("/api/tokens", json={"name": "ci", "role": role, **more})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_token_is_shown_once_and_works_as_bearer_without_csrf(
    admin: httpx.AsyncClient, anonymous_too: httpx.AsyncClient
) -> None:
    created = await make_token(admin)
    listed = (await admin.get("/api/tokens")).json()["tokens"]
    bearer = {"Authorization": f"Bearer {created['secret']}"}

    paused = await anonymous_too.post("/api/jobs/probe/pause", headers=bearer)

    assert created["secret"].startswith("jdt_")
    assert created["secret"] not in str(listed)
    assert listed[0]["name"] == "ci"
    assert paused.status_code == 200
    # Not "ci": a user may have that name too.
    assert paused.json()["job"]["paused_by"] == "ci (token)"


async def test_a_token_made_with_a_token_names_its_maker_as_a_token(
    admin: httpx.AsyncClient, anonymous_too: httpx.AsyncClient
) -> None:
    """As the audit log does: a user may bear the token's name."""
    bearer = {"Authorization": f"Bearer {(await make_token(admin))['secret']}"}
    made = await anonymous_too.post(
        "/api/tokens", json={"name": "cd", "role": "viewer"}, headers=bearer
    )

    assert made.status_code == 201, made.text
    assert made.json()["token"]["created_by"] == "ci (token)"
    listed = (await admin.get("/api/tokens")).json()["tokens"]
    assert [t["created_by"] for t in listed] == ["admin", "ci (token)"]


async def test_a_viewer_token_reads_but_cannot_control(
    admin: httpx.AsyncClient, anonymous_too: httpx.AsyncClient
) -> None:
    secret = (await make_token(admin, "viewer"))["secret"]
    bearer = {"Authorization": f"Bearer {secret}"}

    assert (await anonymous_too.get("/api/jobs", headers=bearer)).status_code == 200
    answer = await anonymous_too.post("/api/jobs/probe/run", headers=bearer)
    assert answer.status_code == 403


async def test_revoked_expired_and_unknown_tokens_are_401(
    admin: httpx.AsyncClient, anonymous_too: httpx.AsyncClient, deck: Deck
) -> None:
    created = await make_token(admin)
    bearer = {"Authorization": f"Bearer {created['secret']}"}
    assert (await anonymous_too.get("/api/jobs", headers=bearer)).status_code == 200

    revoked = await admin.delete(f"/api/tokens/{created['token']['id']}")
    after = await anonymous_too.get("/api/jobs", headers=bearer)
    unknown = await anonymous_too.get(
        "/api/jobs", headers={"Authorization": "Bearer jdt_nope"}
    )
    past = await admin.post(
        "/api/tokens",
        json={"name": "old", "role": "admin", "expires_at": "2020-01-01T00:00:00Z"},
    )

    assert revoked.status_code == 204
    assert after.status_code == unknown.status_code == 401
    assert past.status_code == 422


async def test_the_audit_log_records_who_what_and_before_after(
    admin: httpx.AsyncClient, deck: Deck
) -> None:
    await admin.post("/api/jobs/probe/pause")
    await admin.put("/api/jobs/probe/interval", json={"interval": "5m"})
    await deck.flush()

    entries = (await admin.get("/api/audit?job=probe")).json()["entries"]

    assert [e["action"] for e in entries] == ["interval", "pause"]
    interval, pause = entries
    assert (interval["actor"], interval["client"]) == ("admin", "127.0.0.1")
    assert interval["before"]["interval"] == 3600
    assert interval["after"]["interval"] == 300
    assert (pause["before"]["paused"], pause["after"]["paused"]) == (False, True)


async def test_repeated_failed_sign_ins_get_429_with_retry_after(
    anonymous: httpx.AsyncClient,
) -> None:
    wrong = {"username": "admin", "password": "not the password"}
    answers = [await anonymous.post("/api/session", json=wrong) for _ in range(6)]
    right = await anonymous.post(
        "/api/session", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    other = await anonymous.post(
        "/api/session", json={"username": "vera", "password": "viewer password"}
    )

    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert error_of(answers[5])["code"] == "too_many_attempts"
    assert int(answers[5].headers["retry-after"]) >= 1
    assert right.status_code == 429  # even the right password waits
    assert other.status_code == 200  # another account from the same client


async def test_a_pause_can_carry_its_length_or_its_end(
    admin: httpx.AsyncClient,
) -> None:
    for_two_hours = await admin.post("/api/jobs/probe/pause", json={"for": "2h"})
    past = await admin.post(
        "/api/jobs/probe/pause", json={"until": "2020-01-01T00:00:00Z"}
    )
    both = await admin.post(
        "/api/jobs/probe/pause", json={"for": "1h", "until": "2030-01-01T00:00:00Z"}
    )
    bad = await admin.post("/api/jobs/probe/pause", json={"for": "5M"})

    job = for_two_hours.json()["job"]
    assert job["paused"] is True and job["paused_until"] is not None
    assert past.status_code == both.status_code == bad.status_code == 422
    assert error_of(bad)["code"] == "invalid_interval"


async def test_times_given_with_an_offset_are_kept_and_shown_in_utc(
    admin: httpx.AsyncClient, deck: Deck
) -> None:
    paused = await admin.post(
        "/api/jobs/probe/pause", json={"until": "2030-01-01T08:00:00+01:00"}
    )
    token = await admin.post(
        "/api/tokens",
        json={"name": "ci", "role": "viewer", "expires_at": "2030-01-01T08:00+02:00"},
    )
    await deck.flush()
    audit = (await admin.get("/api/audit?job=probe")).json()["entries"][0]

    assert paused.json()["job"]["paused_until"] == "2030-01-01T07:00:00.000Z"
    assert audit["after"]["paused_until"] == "2030-01-01T07:00:00.000Z"
    assert "2030-01-01T07:00:00.000Z" in paused.json()["job"]["why_not_running"]["text"]
    assert token.json()["token"]["expires_at"] == "2030-01-01T06:00:00.000Z"


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]
)
async def test_a_time_outside_the_years_1_to_9999_in_utc_is_refused(
    admin: httpx.AsyncClient, deck: Deck, moment: str
) -> None:
    """It parses, but not once in UTC: taken, it would fail every write after."""
    paused = await admin.post("/api/jobs/probe/pause", json={"until": moment})
    token = await admin.post(
        "/api/tokens", json={"name": "late", "role": "viewer", "expires_at": moment}
    )
    await deck.flush()

    assert paused.status_code == token.status_code == 422
    assert "outside the years 1 to 9999 in UTC" in error_of(paused)["message"]
    assert deck.job_object("probe")["paused"] is False
    assert deck.store_error is None


@pytest.mark.parametrize("moment", [1900000000, 19000000000, "1900000000", 1.5])
async def test_a_time_given_as_a_number_is_refused_not_read_as_unix_time(
    admin: httpx.AsyncClient, moment: object
) -> None:
    """pydantic reads numbers as Unix time, in seconds or milliseconds by their
    size: 19000000000 was the year 2572. The API's times are ISO 8601 only."""
    paused = await admin.post("/api/jobs/probe/pause", json={"until": moment})
    token = await admin.post(
        "/api/tokens", json={"name": "n", "role": "viewer", "expires_at": moment}
    )

    assert paused.status_code == token.status_code == 422
    assert "ISO 8601" in error_of(paused)["message"]
    assert (await admin.get("/api/jobs/probe")).json()["paused"] is False


async def test_a_misspelt_field_is_refused_not_ignored(
    admin: httpx.AsyncClient,
) -> None:
    # Ignored, "untill" made a pause with no end.
    pause = await admin.post("/api/jobs/probe/pause", json={"untill": "2030-01-01Z"})
    interval = await admin.put("/api/jobs/probe/interval", json={"intervall": "5m"})

    assert pause.status_code == interval.status_code == 422
    assert "untill" in error_of(pause)["message"]
    assert (await admin.get("/api/jobs/probe")).json()["paused"] is False


async def test_a_refused_pause_length_names_its_field(
    admin: httpx.AsyncClient,
) -> None:
    zero = await admin.post("/api/jobs/probe/pause", json={"for": "0s"})
    interval = await admin.put("/api/jobs/probe/interval", json={"interval": "0s"})

    assert (error_of(zero)["code"], error_of(zero)["field"]) == (
        "invalid_interval",
        "for",
    )
    assert error_of(interval)["field"] == "interval"


async def test_a_bare_pause_keeps_a_paused_jobs_end_and_null_takes_it_away(
    admin: httpx.AsyncClient,
) -> None:
    ended = (await admin.post("/api/jobs/probe/pause", json={"for": "2h"})).json()
    bare = (await admin.post("/api/jobs/probe/pause")).json()
    endless = (await admin.post("/api/jobs/probe/pause", json={"until": None})).json()

    assert ended["job"]["paused_until"] is not None
    assert bare["job"]["paused_until"] == ended["job"]["paused_until"]
    assert (endless["job"]["paused"], endless["job"]["paused_until"]) == (True, None)


async def test_hostile_inputs_get_4xx_json_never_500(admin: httpx.AsyncClient) -> None:
    surrogate = await admin.put(
        "/api/jobs/probe/interval",
        content=b'{"interval": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    huge_offset = await admin.get("/api/jobs/probe/runs?offset=9223372036854775808")
    negative = await admin.get("/api/jobs/probe/runs?offset=-5")
    big_body = await admin.put(
        "/api/jobs/probe/interval", json={"interval": "5m", "pad": "x" * 100_000}
    )
    broken = await admin.put(
        "/api/jobs/probe/interval",
        content=b"\xff\xfe not json",
        headers={"content-type": "application/json"},
    )
    unfinished = await admin.put(
        "/api/jobs/probe/interval",
        content=b'{"interval": "5m"',
        headers={"content-type": "application/json"},
    )

    assert surrogate.status_code == 422
    assert "?" in error_of(surrogate)["message"]
    assert huge_offset.status_code == 200 and huge_offset.json()["runs"] == []
    assert negative.json()["offset"] == 0
    assert big_body.status_code == 413
    assert error_of(big_body)["code"] == "too_large"
    assert broken.status_code == unfinished.status_code == 400
    assert error_of(broken)["code"] == error_of(unfinished)["code"] == "invalid_request"
    assert error_of(unfinished)["message"] == "the body is not valid JSON"


async def test_the_next_run_reads_the_same_twice(admin: httpx.AsyncClient) -> None:
    first = (await admin.get("/api/jobs/probe")).json()
    await asyncio.sleep(0.05)
    second = (await admin.get("/api/jobs/probe")).json()
    assert first["next_run_at"] == second["next_run_at"]


async def test_history_keeps_the_runs_log_and_shows_tracebacks_to_admins_only(
    anonymous: httpx.AsyncClient, deck: Deck
) -> None:
    def noisy(run: RunContext) -> None:
        run.log.info("copied %d files", 3)
        raise ValueError("disk full")

    deck.add(define_job("noisy", "1h", noisy, first_delay_s=3600))
    token = await signed_in(anonymous, "admin", ADMIN_PASSWORD)
    await anonymous.post("/api/jobs/noisy/run", headers={"X-CSRF-Token": token})
    for _ in range(200):
        if deck.job_object("noisy")["status"] != "running":
            break
        await asyncio.sleep(0.01)
    await deck.flush()

    as_admin = (await anonymous.get("/api/jobs/noisy/runs")).json()["runs"][0]
    await signed_in(anonymous, "vera", "viewer password")
    as_viewer = (await anonymous.get("/api/jobs/noisy/runs")).json()["runs"][0]

    assert as_admin["log"] == "INFO copied 3 files"
    assert "Traceback" in as_admin["traceback"]
    assert "ValueError: disk full" in as_admin["traceback"]
    assert as_viewer["traceback"] is None
    assert as_viewer["log"] == "INFO copied 3 files"
    job = deck.job_object("noisy")
    assert job["recent_runs"] == [
        {"duration_ms": job["last_duration_ms"], "outcome": "error"}
    ]


async def test_the_interval_preview_changes_nothing(admin: httpx.AsyncClient) -> None:
    before = (await admin.get("/api/jobs/probe")).json()
    preview = await admin.get("/api/jobs/probe/interval/preview?interval=90m")
    refused = await admin.get("/api/jobs/probe/interval/preview?interval=5M")

    body = preview.json()
    assert (body["interval"], body["interval_seconds"]) == ("1h30m", 5400)
    assert len(body["next_runs"]) == 3
    assert body["next_runs"] == sorted(body["next_runs"])
    assert refused.status_code == 422
    assert error_of(refused)["field"] == "interval"
    assert (await admin.get("/api/jobs/probe")).json() == before


async def test_demoting_or_deleting_a_user_ends_their_sessions(
    admin: httpx.AsyncClient, anonymous_too: httpx.AsyncClient
) -> None:
    await admin.post(
        "/api/users",
        json={"username": "otto", "password": "otto's password", "role": "admin"},
    )
    await signed_in(anonymous_too, "otto", "otto's password")
    assert (await anonymous_too.get("/api/jobs")).status_code == 200

    demoted = await admin.patch("/api/users/otto", json={"role": "viewer"})
    after_demotion = await anonymous_too.get("/api/jobs")
    await signed_in(anonymous_too, "otto", "otto's password")
    deleted = await admin.delete("/api/users/otto")
    after_deletion = await anonymous_too.get("/api/jobs")
    last_admin = await admin.patch("/api/users/admin", json={"role": "viewer"})

    assert demoted.json()["user"] == {"username": "otto", "role": "viewer"}
    assert after_demotion.status_code == 401
    assert deleted.status_code == 204
    assert after_deletion.status_code == 401
    assert last_admin.status_code == 409


async def test_a_viewer_can_sign_out(anonymous: httpx.AsyncClient) -> None:
    token = await signed_in(anonymous, "vera", "viewer password")
    answer = await anonymous.delete("/api/session", headers={"X-CSRF-Token": token})
    assert answer.status_code == 204
    assert (await anonymous.get("/api/jobs")).status_code == 401


async def test_metrics_need_a_principal_and_speak_prometheus(
    admin: httpx.AsyncClient, anonymous_too: httpx.AsyncClient, deck: Deck
) -> None:
    await admin.post("/api/jobs/probe/run")
    for _ in range(100):
        if deck.job_object("probe")["status"] != "running":
            break
        await asyncio.sleep(0.01)
    await admin.post("/api/jobs/slow/pause")

    anonymous = await anonymous_too.get("/metrics")
    answer = await admin.get("/metrics")
    text = answer.text

    assert anonymous.status_code == 401
    assert answer.headers["content-type"].startswith("text/plain")
    assert 'jobdeck_job_runs_total{job="probe",outcome="success"} 1.0' in text
    assert 'jobdeck_job_duration_seconds_count{job="probe"} 1.0' in text
    assert 'jobdeck_job_consecutive_failures{job="probe"} 0.0' in text
    assert 'jobdeck_job_last_success_timestamp_seconds{job="probe"}' in text
    assert 'jobdeck_job_paused{job="slow"} 1.0' in text
    assert "jobdeck_scheduler_running 1.0" in text
    assert 'jobdeck_store_dropped_records_total{reason="refused"} 0.0' in text


async def test_cross_site_form_and_plain_text_posts_are_refused(
    admin: httpx.AsyncClient,
) -> None:
    """BC-19: what another origin can send without reading our pages: a form post,
    a `text/plain` fetch holding JSON. Neither can carry the CSRF header."""
    del admin.headers["X-CSRF-Token"]
    form = await admin.post(
        "/api/jobs/probe/pause",
        content=b"x=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    plain = await admin.put(
        "/api/jobs/probe/interval",
        content=b'{"interval": "1s"}',
        headers={"content-type": "text/plain", "origin": "http://attacker.test"},
    )
    image = await admin.get("/api/jobs/probe/run")

    assert form.status_code == plain.status_code == 403
    assert image.status_code == 405
    job = (await admin.get("/api/jobs/probe")).json()
    assert (job["paused"], job["interval"], job["run_count"]) == (False, "1h", 0)
