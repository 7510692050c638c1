"""The Jobs page behind a proxy that speaks HTTP/1.0 to jobdeck, as nginx does
unless told `proxy_http_version 1.1`: the server refuses the stream (it could
not frame it), and the page, which then polls, says why on its status bar."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.browsing import ARTIFACTS, card, sign_in

CONFIG = """\
[stock]
enabled = false

[[jobs]]
name = "quiet"
interval = "1h"
command = ["true"]
first_delay = "1h"
"""


class OldProxy(socketserver.ThreadingTCPServer):
    """Forwards each request to `upstream` as HTTP/1.0 with `Connection: close`,
    and the answer back as it comes, closing after it: a minimal nginx with its
    default `proxy_http_version`."""

    daemon_threads = True

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__(("127.0.0.1", 0), ProxiedRequest)
        self.upstream = upstream
        self.forwarded: list[str] = []


class ProxiedRequest(socketserver.BaseRequestHandler):
    server: OldProxy

    def handle(self) -> None:
        head, body = self._read_request()
        if not head:
            return
        request_line, *headers = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ")
        kept = [h for h in headers if h and not _is_hop_by_hop(h)]
        forwarded = [f"{method} {target} HTTP/1.0", *kept, "Connection: close"]
        self.server.forwarded.append(forwarded[0])
        with socket.create_connection(self.server.upstream, timeout=10) as upstream:
            upstream.sendall("\r\n".join(forwarded).encode("latin-1") + b"\r\n\r\n")
            upstream.sendall(body)
            while data := upstream.recv(65536):
                self.request.sendall(data)

    def _read_request(self) -> tuple[bytes, bytes]:
        received = b""
        while b"\r\n\r\n" not in received:
            data = self.request.recv(65536)
            if not data:
                return b"", b""
            received += data
        head, body = received.split(b"\r\n\r\n", 1)
        length = next(
            (int(h.split(b":", 1)[1]) for h in head.split(b"\r\n")
             if h.lower().startswith(b"content-length:")),
            0,
        )  # fmt: skip
        while len(body) < length:
            body += self.request.recv(65536)
        return head, body


def _is_hop_by_hop(header: str) -> bool:
    name = header.split(":", 1)[0].strip().lower()
    return name in {"connection", "keep-alive", "proxy-connection", "upgrade"}


@pytest.fixture(scope="module")
def proxy(server: str) -> Iterator[OldProxy]:
    address = urlsplit(server)
    assert address.hostname is not None and address.port is not None
    proxy = OldProxy((address.hostname, address.port))
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


@pytest.fixture
def context(browser: Browser, proxy: OldProxy) -> Iterator[BrowserContext]:
    port = proxy.server_address[1]
    context = browser.new_context(
        base_url=f"http://127.0.0.1:{port}", viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


def test_the_page_says_why_it_polls_behind_a_proxy_speaking_http_1_0(
    context: BrowserContext, page: Page, proxy: OldProxy
) -> None:
    sign_in(context)
    page.goto("/admin/jobs")

    refused = page.locator('[data-field="stream-refused"]')
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("The server refuses the live stream")
    expect(refused).to_contain_text("proxy_http_version 1.1")
    connection = page.locator('[data-field="connection"]')
    expect(connection).to_have_text("Stream unavailable — checking every 5 s")
    expect(card(page, "quiet")).to_be_visible()  # by polling, through the proxy
    assert "GET /api/jobs/sse HTTP/1.0" in proxy.forwarded
    page.screenshot(path=str(ARTIFACTS / "stream-refused-by-proxy.png"))
