"""The browser attacks of issue 25 in real Chromium against the real server, while a run trains:
a DNS-rebinding page (a foreign name resolved to 127.0.0.1) and a cross-site form from an attacker
page served by a second local server (another origin: another port)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from conftest import server_token, start_server, stop_server
from test_page import CHROMIUM

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.real_data
LONG = 240
# Chromium's own defence against pages reaching local addresses (Private/Local Network Access) is off:
# the server must hold without it, as in browsers that lack it
NO_PNA = ("--disable-features=PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,"
          "BlockInsecurePrivateNetworkRequests,LocalNetworkAccessChecks,LocalNetworkAccessChecksWebRTC")  # fmt: skip

REBOUND = """<!doctype html><title>cute cats</title><script>
(async () => {
  const seen = {};
  for (const [method, path] of [["GET", "/api/health"], ["GET", "/api/runs"], ["GET", "/api/model"],
                                ["POST", "/api/train/stop"], ["POST", "/api/runs/serve"]]) {
    const body = method === "POST" ? "{}" : undefined;
    const response = await fetch(path, {method, headers: {"content-type": "application/json"}, body});
    seen[path] = [response.status, (await response.json()).error || ""];
  }
  document.title = JSON.stringify(seen);
})().catch((e) => { document.title = "failed: " + e; });
</script>"""

FORM = """<!doctype html><title>win a prize</title>
<form method="post" action="{target}/api/train/stop" enctype="text/plain"><input name="x" value="1">
<button id="win">Win</button></form>
<script>fetch("{target}/api/train/stop", {{method: "POST", mode: "no-cors", credentials: "include"}});</script>"""


@pytest.fixture(scope="module")
def training(real_data_dir, tmp_path_factory):
    pytest.importorskip("fastapi", reason='needs pip install "softmaxreg[serve]"')
    cwd = tmp_path_factory.mktemp("attacked")
    process, url = start_server(None, cwd, "--allow-training", "--data-dir", str(real_data_dir))
    token = server_token(url)
    client = httpx.Client(base_url=url, timeout=30, headers={"authorization": f"Bearer {token}"})
    try:
        assert client.post("/api/train", json={"epochs": 50}).status_code == 202
        yield url, token, client
    finally:
        if client.get("/api/train").json()["status"] in ("starting", "running"):
            client.post("/api/train/stop")
        client.close()
        code, _, err = stop_server(process)
        assert code == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--host-resolver-rules=MAP attacker.test 127.0.0.1", NO_PNA])  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def attacker(training):
    """A second local server (another port: another origin) serving the attacker's page."""
    body = FORM.format(target=training[0]).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def still_training(client: httpx.Client) -> bool:
    return client.get("/api/train").json()["status"] in ("starting", "running")


def test_a_cross_site_form_and_fetch_cannot_stop_the_run(chromium, training, attacker):
    url, token, client = training
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{url}/?token={token}")  # the user opens the address the server printed...
    assert page.url == url + "/"  # ...which leaves the address bar at once
    cookie = next(c for c in context.cookies() if c["name"].startswith("softmaxreg-token"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.locator("#train").wait_for()  # the Train panel shows: the page has the token

    evil = context.new_page()  # ...then, in the same browser, a page of another origin
    sent = []
    evil.on("request", lambda r: r.url.endswith("/api/train/stop") and sent.append(r.method))
    evil.goto(attacker + "/")  # its no-cors fetch: sent (the answer is opaque to it; CORP blocks it too)
    with evil.expect_response(lambda r: r.url.endswith("/api/train/stop") and r.request.method == "POST") as form:
        evil.click("#win")  # a plain form: text/plain, no custom header, the cookie goes along (same site)
    assert sent == ["POST", "POST"] and form.value.status == 403
    assert "from this server's own page" in form.value.json()["error"]
    time.sleep(0.5)
    assert still_training(client)
    context.close()


def test_a_rebound_name_reaches_nothing(chromium, training):
    url, _, client = training
    port = urlsplit(url).port
    page = chromium.new_page()
    page.route(f"http://attacker.test:{port}/", lambda route: route.fulfill(body=REBOUND, content_type="text/html"))
    page.goto(f"http://attacker.test:{port}/")  # the attacker's page; its later requests reach 127.0.0.1:PORT
    deadline = time.monotonic() + 60
    while page.title() == "cute cats":
        assert time.monotonic() < deadline, "the page's requests did not finish"
        time.sleep(0.1)
    import json

    assert not page.title().startswith("failed"), page.title()
    seen = json.loads(page.title())
    assert {path: status for path, (status, _) in seen.items()} == dict.fromkeys(seen, 403)
    assert all("DNS rebinding" in error for _, error in seen.values())
    assert still_training(client)
    page.close()
