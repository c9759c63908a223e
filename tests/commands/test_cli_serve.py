"""`softmaxreg serve`: what it refuses before serving, how it starts and how it stops."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest
from conftest import run_cli, start_server, stop_server


def test_serve_without_a_run_folder_is_one_line(tmp_path):
    result = run_cli("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "softmaxreg: error: `RUN_DIR` is required: pass a folder made by `softmaxreg train`.\n"


def test_serve_checks_the_run_folder_as_predict_does(tmp_path):
    served, predicted = run_cli("serve", "nowhere", cwd=tmp_path), run_cli("predict", "nowhere", "x.png", cwd=tmp_path)
    assert served.returncode == predicted.returncode == 2
    assert served.stderr == predicted.stderr and served.stderr.count("\n") == 1


def test_serve_without_the_extra_names_the_install_command(tmp_path):
    code = ("import sys; sys.modules['fastapi'] = None; from softmaxreg.commands import cli; "
            "sys.exit(cli.main(['serve', 'somewhere']))")  # fmt: skip
    result = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={**__import__("os").environ,
                                 "PYTHONPATH": str(__import__("conftest").SRC)})  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("softmaxreg: error: `softmaxreg serve` needs FastAPI and uvicorn")
    assert result.stderr.endswith('install them with: pip install "softmaxreg[serve]"\n')


@pytest.mark.real_data
def test_serve_on_a_port_in_use_is_one_line(trained_run, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli("serve", str(trained_run.dir), "--port", str(taken.getsockname()[1]), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "Address already in use. Choose another --port (0 picks a free one)." in result.stderr


@pytest.mark.real_data
def test_serve_on_another_loopback_address_does_not_warn_and_ctrl_c_stops_it(trained_run, tmp_path):
    pytest.importorskip("fastapi")
    process, url = start_server(trained_run.dir, tmp_path, "--host", "127.0.0.2")  # loopback, yet not 127.0.0.1
    assert url.startswith("http://127.0.0.2:")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0 and out.endswith("stopped\n")
    assert err == ""  # 127.0.0.0/8 is this machine only: no other machine reaches it


@pytest.mark.parametrize("token", [None, "t"])
def test_serve_on_a_network_address_warns_what_is_open(capsys, token):
    from softmaxreg.commands import serve

    serve._warn_exposed("0.0.0.0", token)
    needs = "the token" if token else "nothing"
    assert capsys.readouterr().err == (
        "softmaxreg: warning: listening on 0.0.0.0: every machine that reaches this port can use the page and the "
        f"prediction API ({needs} is asked for them), and the token travels unencrypted over plain HTTP. On an open "
        "network put the server behind an HTTPS reverse proxy (see docs/guide/security.md).\n"
    )


@pytest.mark.real_data
def test_serve_with_two_workers_answers_and_stops_on_sigterm(trained_run, tmp_path):
    pytest.importorskip("fastapi")
    import httpx

    process, url = start_server(trained_run.dir, tmp_path, "--workers", "2")
    try:
        assert httpx.get(url + "/api/health", timeout=30).json()["model_epoch"] == 3  # the line waits for a worker
    finally:
        code, out, err = stop_server(process)
    assert code == 0 and "Traceback" not in err
