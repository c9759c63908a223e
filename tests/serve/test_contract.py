"""The OpenAPI document is the contract: schemathesis checks the live server against it.

Every status a route answers is documented and every body matches its schema, for schema-valid and
schema-invalid requests (a fixed seed, a few examples per route: about half a minute). Two servers:
the one serving the session's run with the real test set, and one with training on (its worker has
no data, so a run that starts fails at once instead of training for minutes).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import server_token, start_server, stop_server

pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")
pytestmark = pytest.mark.real_data
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"


def schemathesis(url: str, cwd: Path, *options: str) -> subprocess.CompletedProcess:
    """The schemathesis CLI against ``url``; run in ``cwd``, where it keeps its cache (``.schemathesis``)."""
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    return subprocess.run(
        [command, "run", url + "/openapi.json", "--checks", CHECKS, "--seed", "1", "--max-examples", "8",
         "--mode", "all", "--exclude-path", "/api/train/events", "--no-color", *options],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )  # fmt: skip


def summary(done: subprocess.CompletedProcess) -> str:
    start = max(done.stdout.find("=== FAILURES"), done.stdout.find("=== ERRORS"))
    return done.stdout[start:][-6000:] if start >= 0 else done.stdout[-3000:]


def test_the_prediction_server_keeps_its_contract(server, tmp_path):
    done = schemathesis(server, tmp_path)
    assert done.returncode == 0, summary(done)


def test_the_training_server_keeps_its_contract(trained_run, tmp_path):
    served = shutil.copytree(trained_run.dir, tmp_path / "served")
    (tmp_path / "no-data").mkdir()
    process, url = start_server(served, tmp_path, "--allow-training", "--data-dir", str(tmp_path / "no-data"))
    try:
        done = schemathesis(url, tmp_path, "-H", f"Authorization: Bearer {server_token(url)}")
    finally:
        code, _, err = stop_server(process)
    assert done.returncode == 0, summary(done)
    assert code == 0 and "Traceback" not in err, err
