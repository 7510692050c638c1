"""Schemathesis over the OpenAPI document a real `jobdeck serve` serves (SPEC §5).

Every operation, once with an admin token and once with a viewer token, with
requests that fit the document and requests that do not. No answer may be a 5xx;
an answer the document describes must match it (body, content type, headers);
a request the document calls invalid must be refused with a 4xx. The run is
seeded and bounded, so it finds the same things every time, in seconds.

Not checked here, on purpose: the event stream (it never ends, and
tests/e2e/test_stream_access.py covers who may open it), and status codes the
document does not list yet (it declares 2xx and 422 only).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.errors import FailureGroup

from tests.support import Server, serving, sign_in

pytestmark = pytest.mark.e2e

SEED = 20261204
EXAMPLES = 25  # per operation, per mode (valid and invalid requests), per role
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    checks.status_code_conformance,
]
NOT_FUZZED = {"/api/jobs/sse"}
PYTHON = json.dumps(sys.executable)
CONFIG = f"""
[server]
shutdown_grace = "2s"

[stock]
enabled = false

[[jobs]]
name = "quick"
interval = "1h"
command = [{PYTHON}, "-c", "print('done')"]
first_delay = "1h"

[[jobs]]
name = "failing"
interval = "1h"
command = [{PYTHON}, "-c", "raise SystemExit('it went wrong')"]
first_delay = "1h"
"""
# Generated job names are also replaced by real ones, so that controls reach a job.
# No real user name or token id is given: the run would sign out or revoke itself.
REAL_JOBS = ["quick", "failing"]


@dataclass
class Finding:
    role: str
    operation: str
    mode: str
    title: str
    status: int
    request: str
    answer: str
    count: int = 1

    def describe(self) -> str:
        return (
            f"{self.operation} as {self.role} ({self.mode} data, {self.count}x): "
            f"{self.title}, status {self.status}\n  request: {self.request}\n"
            f"  answer: {self.answer}"
        )


@dataclass
class Report:
    requests: int = 0
    findings: dict[tuple[str, str, str, int], Finding] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        key = (finding.operation, finding.mode, finding.title, finding.status)
        if key in self.findings:
            self.findings[key].count += 1
        else:
            self.findings[key] = finding

    def describe(self, log: Path) -> str:
        lines = [finding.describe() for finding in self.findings.values()]
        return "\n".join([*lines, "server log:", server_errors(log)])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("schemathesis"), CONFIG) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    """A Bearer token per role, made with the admin's session."""
    client = sign_in(server.url)
    secrets = {}
    for role in ("admin", "viewer"):
        answer = client.post("/api/tokens", json={"name": f"fuzz-{role}", "role": role})
        assert answer.status_code == 201, answer.text
        secrets[role] = answer.json()["secret"]
    client.close()
    return secrets


@pytest.fixture(scope="module")
def schema(server: Server) -> Any:
    document = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    return schemathesis.openapi.from_dict(document, config=schemathesis.Config())


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_no_operation_fails_with_5xx_or_breaks_the_document(
    role: str, server: Server, tokens: dict[str, str], schema: Any
) -> None:
    report = Report()
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path in NOT_FUZZED:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, mode, role, server.url, session, headers, report)

    print(f"schemathesis as {role}: {report.requests} requests")
    assert report.requests >= EXAMPLES * 20
    assert not report.findings, report.describe(server.log)


def fuzz(
    operation: Any,
    mode: GenerationMode,
    role: str,
    url: str,
    session: requests.Session,
    headers: dict[str, str],
    report: Report,
) -> None:
    """Up to EXAMPLES requests to one operation; every failed check is kept."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(SEED)
    @given(case=cases(operation, mode))
    def send(case: Any) -> None:
        report.requests += 1
        answer = case.call(base_url=url, session=session, headers=headers, timeout=10)
        try:
            case.validate_response(answer, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                report.add(
                    Finding(
                        role,
                        operation.label,
                        mode.value,
                        failure.title,
                        answer.status_code,
                        case.as_curl_command(),
                        answer.text[:300],
                    )
                )

    # Unsatisfiable: nothing in this operation can be made invalid (GET /healthz).
    with contextlib.suppress(Unsatisfiable):
        send()


def cases(operation: Any, mode: GenerationMode) -> st.SearchStrategy[Any]:
    generated = operation.as_strategy(mode)
    if "{name}" not in operation.path:
        return generated  # type: ignore[no-any-return]
    real = [
        operation.as_strategy(mode, path_parameters={"name": name})
        for name in REAL_JOBS
    ]
    return st.one_of(generated, *real)


def server_errors(log: Path) -> str:
    """The server log's errors and tracebacks, at most 80 lines."""
    lines = log.read_text(errors="replace").splitlines()
    keep = [
        line
        for line in lines
        if " ERROR " in line or "Traceback" in line or line.startswith((" ", "\t"))
    ]
    return "\n".join(keep[-80:]) or "(no errors logged)"
