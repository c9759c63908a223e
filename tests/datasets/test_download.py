"""Downloads against a real HTTP server on 127.0.0.1 (tests/http_mirror.py): mirrors, timeouts,
retries, truncated bodies, wrong content, progress, proxies, TLS, and two processes at once."""

import gzip
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import SRC, synthetic_arrays
from http_mirror import MirrorServer, serve

from softmaxreg.datasets import download, sources
from softmaxreg.datasets.idx import encode_idx
from softmaxreg.errors import ConfigError, DownloadError, MachineError

NAMES = [f.name + ".gz" for f in sources.FILES]


@pytest.fixture
def mirror(fake_fashion):
    """A server holding the fake Fashion-MNIST files (good) and digit-MNIST-like ones (wrong)."""
    files = {p.name: p.read_bytes() for p in fake_fashion.iterdir()}
    other = {key: np.roll(array, 1, axis=0) for key, array in synthetic_arrays(seed=1).items()}  # labels differ too
    wrong = {f.name + ".gz": gzip.compress(encode_idx(other[f.key]), mtime=0) for f in sources.FILES}
    with serve(files, wrong) as server:
        yield server


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(download, "BACKOFF_SECONDS", 0.01)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def _use(monkeypatch, *urls):
    monkeypatch.setenv("SOFTMAXREG_MIRRORS", " ".join(urls))


def _cache_listing():
    folder = sources.default_cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _fetch_train_labels():
    file = sources.FILES[1]
    return download.fetch(file.name, file.md5, _ready_cache())


def _ready_cache():
    folder = sources.default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_mirrors_come_from_the_environment(monkeypatch):
    assert download.mirrors() == download.MIRRORS
    monkeypatch.setenv("SOFTMAXREG_MIRRORS", "http://a/x  https://b/y/")
    assert download.mirrors() == ("http://a/x/", "https://b/y/")


@pytest.mark.parametrize("mode", ["404", "503", "truncated", "wrong", "html"])
def test_a_failing_mirror_hands_over_to_the_next(mirror, monkeypatch, caplog, mode):
    _use(monkeypatch, mirror.url(mode), mirror.url("good"))
    arrays, folder = sources.load_fashion_mnist(offline=False)
    assert folder == sources.default_cache_dir() and arrays["train_labels"].shape == (96,)
    assert mirror.count("good") == 4
    assert [n for n in _cache_listing() if not n.startswith(".")] == sorted(NAMES)  # no .part leftovers
    why = {
        "404": "HTTP 404", "503": "HTTP 503", "wrong": "served other content (MD5",
        "truncated": "the connection closed after ", "html": "served other content",
    }[mode]  # fmt: skip
    assert any(mirror.url(mode) in r.message and why in r.message for r in caplog.records)


@pytest.mark.parametrize(
    ("mode", "message", "requests"),
    [
        ("404", r"404 Not Found", 1),  # permanent: not asked again
        ("wrong", r"served other content \(MD5 [0-9a-f]{32} of the decompressed data, expected [0-9a-f]{32}\)", 1),
        ("503", r"HTTP 503 Service Unavailable", 3),  # 1 + SOFTMAXREG_RETRIES=2 rounds
        ("truncated", r"the connection closed after 20 of 40 bytes", 3),
    ],
)
def test_when_every_mirror_fails_nothing_is_left_behind(mirror, monkeypatch, mode, message, requests):
    _use(monkeypatch, mirror.url(mode))
    with pytest.raises(
        DownloadError, match=rf"Expected train-labels-idx1-ubyte\.gz from one of the mirrors; got .*{message}"
    ):
        _fetch_train_labels()
    assert mirror.requests[f"{mode}/train-labels-idx1-ubyte.gz"] == requests
    assert [n for n in _cache_listing() if not n.startswith(".download")] == []  # no partial or wrong file


def test_retries_back_off_and_then_succeed(mirror, monkeypatch, caplog):
    _use(monkeypatch, mirror.url("flaky"))
    assert _fetch_train_labels().name == "train-labels-idx1-ubyte.gz"
    assert mirror.requests["flaky/train-labels-idx1-ubyte.gz"] == 2
    assert "trying again in 0.01 s" in caplog.text


def test_retries_are_configurable(mirror, monkeypatch):
    _use(monkeypatch, mirror.url("503"))
    monkeypatch.setenv("SOFTMAXREG_RETRIES", "0")
    with pytest.raises(DownloadError):
        _fetch_train_labels()
    assert mirror.count("503") == 1


@pytest.mark.parametrize("mode", ["slow", "stall"])
def test_a_slow_mirror_times_out_and_the_next_wins(mirror, monkeypatch, caplog, mode):
    monkeypatch.setenv("SOFTMAXREG_TIMEOUT", "0.3")
    monkeypatch.setenv("SOFTMAXREG_RETRIES", "0")
    _use(monkeypatch, mirror.url(mode), mirror.url("good"))
    started = time.monotonic()
    assert _fetch_train_labels().exists()
    assert time.monotonic() - started < mirror.slow_seconds  # it did not wait for the slow answer
    assert "no answer within 0.3 s (SOFTMAXREG_TIMEOUT)" in caplog.text


@pytest.mark.parametrize(
    ("name", "value"), [("SOFTMAXREG_TIMEOUT", "0"), ("SOFTMAXREG_TIMEOUT", "soon"), ("SOFTMAXREG_RETRIES", "-1")]
)
def test_bad_settings_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"`{name}` must be a .*; got '{value}'"):
        download.timeout() if "TIMEOUT" in name else download.retries()


def test_progress_bar_on_request_and_silent_when_not_a_terminal(mirror, monkeypatch, capsys):
    _use(monkeypatch, mirror.url("good"))
    _fetch_train_labels()
    assert capsys.readouterr().err == ""  # pytest's stderr is not a TTY
    monkeypatch.setenv("SOFTMAXREG_PROGRESS", "1")
    _fetch_train_labels()
    err = capsys.readouterr().err
    assert "train-labels-idx1-ubyte.gz" in err and "100%" in err
    assert download.show_progress(False) is False
    monkeypatch.setenv("SOFTMAXREG_PROGRESS", "0")
    assert download.show_progress() is False


def test_proxy_from_the_environment_is_used(mirror, monkeypatch):
    """The mirror's host does not resolve; only the proxy named in http_proxy can serve it."""
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{mirror.server_port}")
    _use(monkeypatch, "http://fashion-mnist.invalid/good/")
    assert sources.load_fashion_mnist(offline=False)[0]["test_labels"].shape == (40,)
    assert sorted(mirror.proxied) == sorted(f"http://fashion-mnist.invalid/good/{n}" for n in NAMES)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
         "-out", str(folder / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


@pytest.fixture
def tls_mirror(mirror, self_signed):
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(self_signed / "cert.pem", self_signed / "key.pem")
    server = MirrorServer(mirror.files)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server, f"https://127.0.0.1:{server.server_port}/good/"
    server.shutdown()
    server.server_close()


def test_tls_certificates_are_verified(tls_mirror, monkeypatch, self_signed):
    """A self-signed mirror is refused (no way to turn that off); trusting its CA via SSL_CERT_FILE works."""
    _server, url = tls_mirror
    _use(monkeypatch, url)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(DownloadError, match=r"TLS certificate not trusted \(.*self.signed certificate\)"):
        _fetch_train_labels()
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed / "cert.pem"))
    assert _fetch_train_labels().exists()


def test_download_target_not_writable(monkeypatch, tmp_path, mirror):
    """Root ignores permissions, so the honest stand-in for a read-only cache is a cache path under a
    regular file: nothing can be created there, for any user. Nothing is requested from the mirror."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder's parent should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    _use(monkeypatch, mirror.url("good"))
    with pytest.raises(MachineError) as info:  # the machine's problem (exit code 1), not a missing dataset
        sources.load_fashion_mnist(offline=False)
    message = str(info.value)
    assert (
        f"Expected a writable folder to download Fashion-MNIST into; got {blocker}/softmaxreg/fashion-mnist" in message
    )
    assert (
        "Not a directory" in message
        and "set SOFTMAXREG_DATA (or pass --data-dir / root=) to a writable folder" in message
    )
    assert sum(mirror.requests.values()) == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the fix: the next run works
    assert sources.load_fashion_mnist(offline=False)[1] == tmp_path / "cache" / "softmaxreg" / "fashion-mnist"


def test_disk_errors_while_writing_are_not_blamed_on_the_mirror(mirror, monkeypatch):
    _use(monkeypatch, mirror.url("good"), mirror.url("good"))
    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(download.os, "fsync", full_disk)
    with pytest.raises(MachineError, match=r"which cannot be written \(No space left on device\)"):
        _fetch_train_labels()
    monkeypatch.setattr(download.os, "fsync", real_fsync)
    assert mirror.count("good") == 1 and [n for n in _cache_listing() if not n.startswith(".download")] == []


# -- two processes at once -------------------------------------------------------------------------

_CHILD = (
    "from softmaxreg import sources; a, f = sources.load_fashion_mnist(offline=False); "
    "print(f, a['train_labels'].sum())"
)


def test_two_processes_downloading_at_once_share_one_download(real_data_dir, tmp_path):
    """Process A starts downloading (the server holds its answer); process B then waits on the lock
    (it says so) instead of downloading too; both end with the same verified files."""
    files = {p.name: p.read_bytes() for p in real_data_dir.iterdir() if p.name in NAMES}
    env = {
        **os.environ, "PYTHONPATH": str(SRC), "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "SOFTMAXREG_SYSTEM_DATA": str(tmp_path / "none"), "SOFTMAXREG_OFFLINE": "0",
    }  # fmt: skip
    with serve(files) as server:
        env["SOFTMAXREG_MIRRORS"] = server.url("hold")
        spawn = lambda: subprocess.Popen(  # noqa: E731
            [sys.executable, "-c", _CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        first = spawn()
        assert server.first_request.wait(60), "process A never asked the mirror"
        second = spawn()
        waiting: list[str] = []
        threading.Thread(target=lambda: waiting.extend(second.stderr), daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.count("hold") == 1:
            if "Waiting for another process" in "".join(waiting):
                break
            time.sleep(0.02)
        server.release.set()
        out_a, err_a = first.communicate(timeout=120)
        out_b, _ = second.communicate(timeout=120)
        err_b = "".join(waiting)
    assert first.returncode == 0 and second.returncode == 0, err_a + err_b
    assert "Waiting for another process that is downloading into" in err_b
    assert all(n == 1 for n in server.requests.values()) and len(server.requests) == 4  # each file fetched once
    assert out_a == out_b and out_a.endswith(" 270000\n")  # same folder, same labels (sum of 6000 × 0..9)
    cache = tmp_path / "cache" / "softmaxreg" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES + [download.LOCK_NAME])


def test_https_mirrors_come_first():
    """The plain-HTTP S3 mirror is the fallback, not the first place asked (review of issue 18)."""
    schemes = [url.split(":")[0] for url in download.MIRRORS]
    assert schemes == sorted(schemes, key=lambda scheme: scheme != "https") and schemes[0] == "https"


def test_a_body_longer_than_the_file_can_be_is_cut_off():
    import io

    body = io.BytesIO(b"\x1f\x8b" + bytes(200_000))
    with pytest.raises(download.MirrorFailure, match=r"served more than 65,637 bytes") as failure:
        download._copy_body(body, io.BytesIO(), download._NoBar(), max_bytes=100)
    assert failure.value.permanent
