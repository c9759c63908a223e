"""Training from the page, through the API of the real ``softmaxreg serve --allow-training`` process.

Real data, real worker processes, a real server killed with SIGKILL; the run folders are checked with
the real ``softmaxreg train --resume``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli, server_token, start_server, stop_server

from softmaxreg.runs import folder

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.real_data
ROUTES = [("GET", "/api/train"), ("POST", "/api/train"), ("POST", "/api/train/stop"), ("GET", "/api/train/events"),
          ("GET", "/api/runs"), ("POST", "/api/runs/serve")]  # fmt: skip
LONG = 240  # seconds: the machine may be busy; a run that never ends fails the test, not the suite


@pytest.fixture(scope="module")
def training_server(real_data_dir, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """``serve --allow-training`` started without a run: its first model comes from the page."""
    pytest.importorskip("fastapi", reason='needs pip install "softmaxreg[serve]"')
    cwd = tmp_path_factory.mktemp("train-serve")
    process, url = start_server(
        None, cwd, "--allow-training", "--runs-dir", "page-runs", "--data-dir", str(real_data_dir)
    )
    try:
        yield url, cwd / "page-runs"
    finally:
        code, _, err = stop_server(process)
        assert code == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def client(training_server):
    token = server_token(training_server[0])  # the training routes need it (test_security.py checks that)
    with httpx.Client(base_url=training_server[0], timeout=30, headers={"authorization": f"Bearer {token}"}) as c:
        yield c


def events(client: httpx.Client) -> Iterator[tuple[str, dict]]:
    """The server-sent events ``(name, data)`` of ``/api/train/events``, as they come."""
    with client.stream("GET", "/api/train/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                yield name, json.loads(line.removeprefix("data: "))


def until_ended(stream: Iterator[tuple[str, dict]]) -> tuple[list[tuple[str, dict]], dict]:
    """Every event until the run ends, and the last state."""
    seen, deadline = [], time.monotonic() + LONG
    for name, data in stream:
        seen.append((name, data))
        if name == "state" and data["status"] not in ("starting", "running", "stopping"):
            return seen, data
        assert time.monotonic() < deadline, "the run did not end"
    raise AssertionError("the stream ended before the run")


def until_epoch(stream: Iterator[tuple[str, dict]], epochs: int = 1) -> dict:
    for name, data in stream:
        if name == "state" and len(data["history"]) >= epochs:
            return data
    raise AssertionError("the stream ended before an epoch did")


def start(client: httpx.Client, **settings) -> httpx.Response:
    return client.post("/api/train", json=settings)


def test_without_the_flag_every_training_route_is_403_and_the_page_has_no_panel(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        for method, path in ROUTES:
            response = c.request(method, path, json={})
            assert response.status_code == 403, (method, path)
            assert response.json()["error"].count("\n") == 0 and "--allow-training" in response.json()["error"]
        assert 'data-training="on"' not in c.get("/").text
        assert c.get("/api/health").status_code == 200  # still serving


@pytest.mark.parametrize("settings, message", [
    ({"epochs": 0}, "`epochs` must be a whole number from 1 to 50 on the page; got 0."),
    ({"epochs": 51}, "`epochs` must be a whole number from 1 to 50"),
    ({"epochs": 2.5}, "`epochs` must be a whole number"),
    ({"lr": -1}, "`lr` must be a positive number; got -1."),
    ({"lr": "fast"}, "`lr` must be a positive number; got 'fast'."),
    ({"batch_size": 0}, "`batch_size` must be a positive integer; got 0."),
    ({"weight_decay": -0.1}, "`weight_decay` must be a non-negative number; got -0.1."),
    ({"recipe": "fastest"}, "`recipe` must be one of 'seed', 'best'; got 'fastest'."),
    ({"model": "mlp"}, "`model` must be one of 'concise', 'scratch'; got 'mlp'."),
])  # fmt: skip
def test_bad_settings_get_422_with_the_cli_message_and_start_nothing(client, settings, message):
    response = start(client, **settings)
    assert response.status_code == 422
    assert response.json()["error"].startswith(message) and "\n" not in response.json()["error"]
    assert client.get("/api/train").json()["status"] in ("idle", "finished", "stopped", "diverged")


def test_a_page_trains_its_first_model_live_and_then_predicts_with_it(client, training_server, trained_run):
    runs_dir = training_server[1]
    assert client.get("/api/health").json()["run"] is None  # started without a run
    stream = events(client)
    assert next(stream)[1]["status"] == "idle"  # a page that connects first gets the whole state
    response = start(client, epochs=2, lr=0.1, batch_size=32)  # epochs of ~1 s: progress lines come every 0.25 s
    assert response.status_code == 202, response.text
    second = start(client, epochs=2)
    assert second.status_code == 409 and "one run trains at a time" in second.json()["error"]

    first_epoch = until_epoch(stream)
    with httpx.Client(
        base_url=client.base_url, timeout=30, headers=client.headers
    ) as other:  # a second tab, or a reload, mid-run
        _, joined = next(events(other))
        assert (joined["run"], joined["status"]) == (first_epoch["run"], "running")
        assert joined["history"] == first_epoch["history"] and joined["templates"] == first_epoch["templates"]
    # ...and leaving (the stream closed) did not stop the run:
    seen, end = until_ended(stream)
    stream.close()

    assert end["status"] == "finished", end["message"]
    assert [row["epoch"] for row in end["history"]] == [1, 2]
    assert end["model_version"] == 1 and "now predicts with its model" in end["message"]
    progress = [data for name, data in seen if name == "progress"]
    assert {p["epoch"] for p in progress} == {2} and all(1 <= p["batch"] <= p["batches"] for p in progress)
    templates = [
        (len(data["history"]), data["templates"]) for name, data in seen if name == "state" and data["templates"]
    ]
    assert len(templates[-1][1]) == 10 and len(templates[-1][1][0]) == 28 and len(templates[-1][1][0][0]) == 28
    assert first_epoch["templates"] != templates[-1][1]  # the templates moved in epoch 2
    # the book's board: the training loss 8 times an epoch, the first epoch included, with the templates of the moment
    points = [data["point"] for name, data in seen if name == "point"]

    def eighths(epochs):  # x: the epoch where the batch that closes each window ends
        return pytest.approx([k / 8 for k in range(1, 8 * epochs + 1)], abs=0.01)

    assert [x for x, _ in first_epoch["points"]] == eighths(1)
    assert [x for x, _ in end["points"]] == eighths(2) and points == end["points"][8:]
    assert first_epoch["points"][0][1] > first_epoch["points"][-1][1]  # the first epoch is where the loss falls most
    assert all(len(data["templates"]) == 10 for name, data in seen if name == "point")

    run_dir = runs_dir / end["run"]
    files = {p.name for p in run_dir.iterdir()} - {".lock"}
    assert files == {p.name for p in trained_run.dir.iterdir()} - {".lock"}  # the files `softmaxreg train` writes
    health = client.get("/api/health").json()
    assert (
        health["run"] == f"{runs_dir.name}/{end['run']}" and health["model_epoch"] == 2
    )  # relative to the server's cwd
    listed = client.get("/api/runs").json()
    assert listed["serving"] == end["run"] and listed["runs"][0]["name"] == end["run"]
    trouser = (Path(__file__).resolve().parents[2] / "examples" / "images" / "trouser.png").read_bytes()
    result = client.post("/api/predict", files=[("file", ("trouser.png", trouser))]).json()["results"][0]
    assert result["top_k"][0]["class"] == "trouser"


def test_stop_ends_the_run_like_ctrl_c_and_a_diverging_run_says_so(client, training_server):
    stream = events(client)
    assert start(client, epochs=50).status_code == 202
    until_epoch(stream)
    assert client.post("/api/train/stop").status_code == 200
    _, end = until_ended(stream)
    assert end["status"] == "stopped"
    assert f"Resume with: softmaxreg train --resume {training_server[1].name}/{end['run']}" in end["message"]
    assert client.get("/api/health").json()["model_epoch"] == 2  # a stopped run is not served by itself
    again = client.post("/api/train/stop")
    assert again.status_code == 409 and again.json()["error"] == "No run is training, so there is nothing to stop."

    assert start(client, epochs=1, lr=1e38).status_code == 202
    _, end = until_ended(stream)
    stream.close()
    assert end["status"] == "diverged"
    assert (
        "training diverged. Lower the learning rate (lr 1e+38)" in end["message"]
        and "holds no completed epoch" in end["message"]
    )


def test_serving_another_run_folder_of_the_directory(client):
    names = [run["name"] for run in client.get("/api/runs").json()["runs"]]
    assert len(names) == 2  # the finished run and the stopped one (the diverged one has no epoch)
    response = client.post("/api/runs/serve", json={"run": names[0]})
    assert response.status_code == 200 and response.json()["serving"] == names[0]
    assert Path(client.get("/api/health").json()["run"]).name == names[0]
    bad = client.post("/api/runs/serve", json={"run": "../../etc"})
    assert bad.status_code == 422 and "must be one of the run folders" in bad.json()["error"]


def test_a_stop_while_the_worker_starts_ends_it_cleanly(client, training_server):
    """Stop at once after Start: the worker is still importing torch. It used to be interrupted mid-import
    (numpy half-imported: a traceback on the server's stderr, 'failed, exit code 1' on the page)."""
    runs = training_server[1]
    before = set(runs.iterdir()) if runs.exists() else set()
    stream = events(client)
    assert start(client, epochs=50).status_code == 202
    assert client.post("/api/train/stop").status_code == 200
    _, end = until_ended(stream)
    stream.close()
    assert end["status"] == "stopped", end["message"]
    assert end["message"] in ("Stopped before the run started.", "stopped before the run started.")
    assert (set(runs.iterdir()) if runs.exists() else set()) == before  # no run folder was made


def _gone(pid: int) -> bool:
    """The process has exited (a zombie whose new parent has not reaped it yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_stopping_or_killing_the_server_mid_run_leaves_a_resumable_run_folder(real_data_dir, tmp_path, how):
    process, url = start_server(None, tmp_path, "--allow-training", "--data-dir", str(real_data_dir))
    try:
        with httpx.Client(base_url=url, timeout=30, headers={"authorization": f"Bearer {server_token(url)}"}) as c:
            stream = events(c)
            assert start(c, epochs=50).status_code == 202
            state = until_epoch(stream)
            stream.close()
    finally:
        if how == "SIGTERM":  # as a service manager stops it: the server stops the run as Ctrl-C would, then exits
            code, _, err = stop_server(process)
            assert code == 0 and "Traceback" not in err, err
            assert _gone(state["worker_pid"])
        process.kill()  # SIGKILL: no shutdown of any kind
        process.communicate()
    deadline = time.monotonic() + LONG
    while not _gone(state["worker_pid"]):  # the worker finds the server gone and stops itself
        assert time.monotonic() < deadline, "the worker outlived the server"
        time.sleep(0.2)
    run_dir = tmp_path / "runs" / state["run"]  # no RUN_DIR, no --runs-dir: ./runs
    done = len((run_dir / "metrics.csv").read_text().splitlines()) - 1
    assert folder.completed_epochs(run_dir) == done >= 1
    if how == "SIGTERM":
        return  # resuming once (below) is enough to show that such a folder resumes
    resumed = run_cli("train", "--resume", str(run_dir), "--epochs", str(done + 1), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert len((run_dir / "metrics.csv").read_text().splitlines()) - 1 == done + 1


@pytest.mark.parametrize("args, message", [
    (["--runs-dir", "x"], "`--runs-dir` needs --allow-training"),
    (["--allow-training", "--workers", "2"],
     "`--allow-training` needs --workers 1 (one process owns the training run); got 2."),
])  # fmt: skip
def test_serve_refuses_training_options_that_cannot_work(trained_run, tmp_path, args, message):
    result = run_cli("serve", str(trained_run.dir), "--port", "0", *args, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("softmaxreg: error: " + message) and result.stderr.count("\n") == 1
