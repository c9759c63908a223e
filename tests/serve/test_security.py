"""The attacks of issue 25, tried for real: foreign Host, no or wrong token, a page of another origin,
simultaneous starts, a ``json.py`` in the server's folder, huge numbers and huge echoes.

The checks of each rule run against the app (httpx in this process: fast, many cases); the attacks
that depend on timing or on processes run against the real ``softmaxreg serve`` process. The browser
attacks are in ``test_security_browser.py``, the slow clients and the image bombs in
``test_limits.py``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from conftest import run_cli, start_server, stop_server, train_synthetic_run

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from softmaxreg.serve.app import create_app  # noqa: E402
from softmaxreg.serve.training import worker_env  # noqa: E402

TOKEN = "t" * 20 + "-the-test-token"
PIXELS = {"pixels": [[0.0] * 28] * 28}


def TestClient(app, host: str = "127.0.0.1:8000"):  # noqa: N802
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient as Client
    return Client(app, base_url=f"http://{host}", follow_redirects=False)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_synthetic_run(tmp_path_factory.mktemp("security"), epochs=1)


@pytest.fixture
def app(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(tmp_path / "none"))  # no test set: not needed here
    return create_app(run_dir.resolve(), runs_dir=str(tmp_path / "runs"), token=TOKEN)


def one_line(response) -> str:
    message = response.json()["error"]
    assert "\n" not in message and len(message) < 600, message
    return message


# -- 1. Host -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io:8000", "[::2]:8000"])
def test_a_foreign_host_is_refused_on_every_route_before_any_handler(app, host):
    with TestClient(app, host) as client:
        routes = [("GET", "/"), ("GET", "/api/health"), ("POST", "/api/predict/pixels"), ("GET", "/api/runs"),
                  ("POST", "/api/train/stop"), ("GET", "/static/style.css")]  # fmt: skip
        for method, path in routes:
            response = client.request(method, path, json=PIXELS, headers={"authorization": f"Bearer {TOKEN}"})
            assert response.status_code == 403, (method, path)
            assert one_line(response).startswith("Expected a request addressed to this server")
            assert "--allowed-host NAME" in response.json()["error"]
            assert response.headers["x-frame-options"] == "DENY"  # the security headers on refusals too


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "127.0.0.1"])
def test_loopback_names_are_accepted(app, host):
    with TestClient(app, host) as client:
        assert client.get("/api/health").status_code == 200


def test_allowed_hosts_add_names(run_dir):
    app = create_app(run_dir, allowed_hosts=["models.lan"])
    with TestClient(app, "models.lan:8000") as client:
        assert client.get("/api/health").status_code == 200
    with TestClient(app, "other.lan:8000") as client:
        assert client.get("/api/health").status_code == 403


# -- 2. the token ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("GET", "/api/train"), ("POST", "/api/train"), ("POST", "/api/train/stop"),
                                          ("GET", "/api/train/events"), ("GET", "/api/runs"),
                                          ("POST", "/api/runs/serve")])  # fmt: skip
def test_training_routes_need_the_token(app, method, path):
    with TestClient(app) as client:
        none = client.request(method, path, json={})
        assert none.status_code == 401 and none.headers["www-authenticate"].startswith("Bearer")
        assert "needs this server's token" in one_line(none) and "Authorization: Bearer TOKEN" in none.json()["error"]
        wrong = client.request(method, path, json={}, headers={"authorization": "Bearer " + "x" * 20})
        assert wrong.status_code == 403 and one_line(wrong).startswith("The token sent is not this server's token")
        cookie = client.request(method, path, json={}, headers={"cookie": "softmaxreg-token-8000=wrong"})
        assert cookie.status_code == 403


def test_prediction_and_the_page_stay_open_and_show_no_absolute_path(app, run_dir):
    with TestClient(app) as client:
        assert client.post("/api/predict/pixels", json=PIXELS).status_code == 200
        page = client.get("/")
        assert page.status_code == 200 and 'data-training="on"' not in page.text  # the panel needs the token
        for path in ("/api/health", "/api/model", "/api/run"):
            assert client.get(path).json()["run"] == run_dir.name, path
        with_token = client.get("/api/health", headers={"authorization": f"Bearer {TOKEN}"}).json()
        assert with_token["run"] == str(run_dir.resolve())
        missing = client.get("/api/testset")
        assert missing.status_code == 503 and "/" not in one_line(missing).replace("--data-dir DIR", "")


def test_the_address_with_the_token_sets_a_strict_cookie_and_leaves_the_address_bar(app):
    with TestClient(app) as client:
        response = client.get(f"/?token={TOKEN}&lang=vi")
        assert response.status_code == 303 and response.headers["location"] == "/?lang=vi"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"softmaxreg-token-8000={TOKEN};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert client.get("/api/runs").status_code == 200  # the client keeps the cookie, as a browser does
        assert 'data-training="on"' in client.get("/").text
        bad = client.get("/?token=not-the-token")
        assert bad.status_code == 403 and one_line(bad).startswith("The token in the address is not")


def test_with_token_for_all_only_static_files_and_health_are_open(run_dir):
    app = create_app(run_dir, token=TOKEN, token_for_all=True)
    with TestClient(app) as client:
        assert client.post("/api/predict/pixels", json=PIXELS).status_code == 401
        assert client.get("/").status_code == 401 and client.get("/openapi.json").status_code == 401
        assert client.get("/static/style.css").status_code == 200 and client.get("/api/health").status_code == 200
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert client.post("/api/predict/pixels", json=PIXELS, headers=bearer).status_code == 200


def test_serve_makes_a_token_and_prints_it_once_in_the_address(run_dir, tmp_path):
    process, url = start_server(run_dir, tmp_path, "--allow-training", "--runs-dir", "runs")
    try:
        from conftest import server_token

        token = server_token(url)
        assert len(token) >= 40  # secrets.token_urlsafe(32)
        assert httpx.get(url + "/api/runs").status_code == 401
        assert httpx.get(url + "/api/runs", headers={"authorization": f"Bearer {token}"}).status_code == 200
    finally:
        code, out, err = stop_server(process)
    assert code == 0 and out.count(token) == 0 and token not in err  # once: on the line start_server read


@pytest.mark.parametrize("args, message", [
    (["--cors", "*"], "`--cors` must be an explicit origin such as http://localhost:3000; got '*'."),
    (["--cors", "http://a.example/path"], "`--cors` must be an origin, scheme://host[:port] with no path"),
    (["--token", "short"], "The token must be at least 16 characters long; got 5."),
])  # fmt: skip
def test_serve_refuses_unsafe_settings_in_one_line(run_dir, tmp_path, args, message):
    result = run_cli("serve", str(run_dir), "--port", "0", *args, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("softmaxreg: error: " + message) and result.stderr.count("\n") == 1


def test_listening_on_every_address_warns_what_is_open(run_dir, tmp_path):
    process, url = start_server(run_dir, tmp_path, "--host", "0.0.0.0", "--allow-training")
    code, _, err = stop_server(process)
    assert "listening on 0.0.0.0: every machine that reaches this port can use the page and the prediction API" in err
    assert "HTTPS reverse proxy" in err


# -- 3. other origins --------------------------------------------------------------------------------


def test_a_cross_site_form_cannot_stop_a_run(app):
    """The finding: a text/plain form of another origin, with no body to check, stopped the run."""
    with TestClient(app) as client:
        client.get(f"/?token={TOKEN}")  # the user's browser holds the cookie (SameSite=Strict: same-site pages send it)
        for origin, site in [("http://127.0.0.1:9999", "same-site"), ("http://evil.example", "cross-site"),
                             ("null", "cross-site"), (None, "cross-site"), (None, "same-site")]:  # fmt: skip
            headers = {"content-type": "text/plain", **({"origin": origin} if origin else {}), "sec-fetch-site": site}
            response = client.post("/api/train/stop", content="x=1", headers=headers)
            assert response.status_code == 403, (origin, site)
            assert "from this server's own page" in one_line(response)
        own = client.post(
            "/api/train/stop", headers={"origin": "http://127.0.0.1:8000", "sec-fetch-site": "same-origin"}
        )
        assert own.status_code == 409  # through the guard: nothing is training
        program = client.post("/api/train/stop", headers={"authorization": f"Bearer {TOKEN}"})  # curl: no Origin
        assert program.status_code == 409


def test_cors_origins_reach_prediction_but_never_training(run_dir, tmp_path):
    app = create_app(run_dir, runs_dir=str(tmp_path), token=TOKEN, cors=["http://localhost:3000"])
    with TestClient(app) as client:
        origin = {"origin": "http://localhost:3000", "sec-fetch-site": "same-site"}
        predicted = client.post("/api/predict/pixels", json=PIXELS, headers=origin)
        assert predicted.status_code == 200
        assert predicted.headers["access-control-allow-origin"] == "http://localhost:3000"
        bearer = {"authorization": f"Bearer {TOKEN}"}
        stop = client.post("/api/train/stop", headers={**origin, **bearer})
        assert stop.status_code == 403 and "access-control-allow-origin" not in stop.headers
        preflight = client.options("/api/train", headers={**origin, "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in preflight.headers


# -- 8. values and echoes ----------------------------------------------------------------------------


@pytest.mark.parametrize("settings, message", [
    ({"lr": 10**400}, "`lr` must be a positive number; got an integer of about 401 digits."),
    ({"weight_decay": 10**400}, "`weight_decay` must be a non-negative number; got an integer of about 401 digits."),
    ({"epochs": 10**400}, "`epochs` must be a whole number from 1 to 50 on the page; got a larger number."),
    ({"batch_size": 10**400}, "`batch_size` must be at most 65,536 on the page; got a larger number."),
    ({"lr": "x" * 100_000}, "`lr` must be a positive number; got 'xxxxxxxx"),
])  # fmt: skip
def test_huge_values_get_422_not_500(app, settings, message):
    with TestClient(app) as client:
        response = client.post("/api/train", json=settings, headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422 and one_line(response).startswith(message)


def test_echoed_values_are_cut(app):
    with TestClient(app) as client:
        bearer = {"authorization": f"Bearer {TOKEN}"}
        name = client.post("/api/runs/serve", json={"run": "r" * 9_000_000}, headers=bearer)
        assert name.status_code in (400, 422) and len(name.content) < 1000
        path = client.get("/api/" + "p" * 50_000)
        assert path.status_code == 404 and len(path.content) < 1000
        kind = client.post("/api/predict", content=b"x", headers={"content-type": "text/" + "y" * 50_000})
        assert kind.status_code == 415 and len(kind.content) < 1000


# -- 6. the worker's environment ---------------------------------------------------------------------


def test_the_worker_gets_no_secret_and_no_relative_import_path():
    env = worker_env({"PATH": "/bin", "SOFTMAXREG_TOKEN": TOKEN, "SOFTMAXREG_SERVE_SETTINGS": "{}", "AWS_SECRET": "s",
                      "SOFTMAXREG_DATA": "/data", "PYTHONPATH": os.pathsep.join(["", ".", "lib", "/abs/src"]),
                      "PYTHONSTARTUP": "evil.py", "LC_ALL": "C"})  # fmt: skip
    assert env == {"PATH": "/bin", "SOFTMAXREG_DATA": "/data", "PYTHONPATH": "/abs/src", "LC_ALL": "C",
                   "PYTHONSAFEPATH": "1"}  # fmt: skip


# -- 4 and 6 against the real server -----------------------------------------------------------------


def _workers(server_pid: int) -> list[int]:
    """The training workers the server started (its children running softmaxreg.serve.worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid and b"softmaxreg.serve.worker" in cmdline:
            found.append(int(entry.name))
    return found


async def _simultaneous_starts(url: str, count: int) -> list[int]:
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:
        responses = await asyncio.gather(*(client.post("/api/train", json={"epochs": 1}) for _ in range(count)))
    return sorted(r.status_code for r in responses)


@pytest.mark.real_data
def test_simultaneous_starts_make_one_worker_which_ignores_the_servers_folder(real_data_dir, tmp_path):
    process, url = start_server(None, tmp_path, "--allow-training", "--data-dir", str(real_data_dir),
                                "--token", TOKEN)  # fmt: skip
    marker = tmp_path / "json-py-ran"
    (tmp_path / "json.py").write_text(f"open({str(marker)!r}, 'w').close()\nfrom json import *\n")
    environ = None
    try:
        statuses = asyncio.run(_simultaneous_starts(url, 8))
        workers = _workers(process.pid)
        bearer = {"authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + 240
        while (state := httpx.get(url + "/api/train", headers=bearer).json())["status"] in (
            "starting",
            "running",
            "stopping",
        ):
            if state["status"] == "running" and state["run"]:
                environ = Path(f"/proc/{state['worker_pid']}/environ").read_bytes()
                httpx.post(url + "/api/train/stop", headers=bearer)
            assert time.monotonic() < deadline, "the run did not end"
            time.sleep(0.2)
    finally:
        code, _, err = stop_server(process)
    assert statuses == [202] + [409] * 7, statuses
    assert len(workers) == 1, workers
    assert not marker.exists(), "the worker imported json.py from the server's working folder"
    assert state["status"] in ("stopped", "finished"), state["message"]
    assert environ is not None and TOKEN.encode() not in environ and b"SOFTMAXREG_SERVE_SETTINGS" not in environ
    assert code == 0 and "Traceback" not in err, err
