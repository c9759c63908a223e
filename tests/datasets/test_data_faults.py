"""Bad data files, case by case, in each kind of place: one clear error, and a sound state after.

Each case damages one file of a good (synthetic) Fashion-MNIST folder. The same damage is then
tried where the user put it (``root``/``SOFTMAXREG_DATA``: never modified, a clear error), in the
user cache (moved aside, fetched again on the next online run), in the system copy (left alone,
another copy used), and through the CLI (one line on stderr, exit 2). Tests run as root, which
ignores file permissions, so "unreadable" is simulated two ways, each saying which: a folder where
the file should be (real, for any user), and a monkeypatched read raising PermissionError.
"""

import gzip
import logging
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, synthetic_arrays, write_fashion_files
from http_mirror import serve

from softmaxreg.datasets import sources
from softmaxreg.datasets.idx import encode_idx
from softmaxreg.errors import ChecksumError, DataError, IDXFormatError

IMAGES = "train-images-idx3-ubyte.gz"
LABELS = "train-labels-idx1-ubyte.gz"


def _gz(array):
    return gzip.compress(encode_idx(array), mtime=0)


def _replace(name, data):
    return lambda folder, mp: (folder / name).write_bytes(data)


def _unreadable_by_permissions(folder, mp):
    """Monkeypatched: reading this one file raises PermissionError, as chmod 000 would for a non-root user."""
    target, real = folder / IMAGES, sources.read_idx_bytes

    def read_idx_bytes(path, *limit):
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *limit)

    mp.setattr(sources, "read_idx_bytes", read_idx_bytes)


def _folder_in_place(folder, mp):
    """Real: a folder where the file should be cannot be read as a file, by any user."""
    (folder / IMAGES).unlink()
    (folder / IMAGES / "stray").mkdir(parents=True)


def _count_mismatch(folder, mp):
    arrays = synthetic_arrays()
    (folder / LABELS).write_bytes(_gz(arrays["train_labels"][:-1]))
    mp.setattr(sources, "FILES", tuple(replace(f, md5=_md5_of(folder, f)) for f in sources.FILES))  # all pass MD5


def _md5_of(folder, file):
    import hashlib

    return hashlib.md5(gzip.decompress((folder / (file.name + ".gz")).read_bytes())).hexdigest()


def _digit_like(folder, mp):
    other = synthetic_arrays(seed=1)
    for file in sources.FILES:
        (folder / (file.name + ".gz")).write_bytes(_gz(np.roll(other[file.key], 1, axis=0)))


_GOOD = synthetic_arrays()
_bad_labels = _GOOD["train_labels"].copy()
_bad_labels[5] = 12
_header_says_more = encode_idx(_GOOD["train_images"])[: -28 * 28]  # header: 96 images; payload: 95

# case -> (damage, error type, what the message must say; {file} is the damaged file's path)
CASES = {
    "truncated gzip": (
        lambda folder, mp: (folder / IMAGES).write_bytes(_gz(_GOOD["train_images"])[:5000]),
        IDXFormatError,
        r"Expected a complete gzip stream in {file}; got one that ends after [\d,]+ bytes of content\. "
        r"The file is truncated",
    ),
    "not gzip (an HTML page)": (
        _replace(IMAGES, b"<!DOCTYPE html><html><body>Access denied</body></html>"),
        IDXFormatError,
        r"Expected a gzip or IDX file in {file}; got neither: it starts with b'<!DOCTYPE ht' "
        r"\(an HTML page, e\.g\. a proxy's error page\?\)",
    ),
    "wrong magic": (
        _replace(IMAGES, gzip.compress(b"\x00\x00\x0a\x03" + encode_idx(_GOOD["train_images"])[4:])),
        IDXFormatError,
        r"Expected an IDX magic number 0x0000TTNN \(TT a type code, NN ≥ 1 dimensions\) in {file}; "
        r"got 0x00000a03\. Is this an IDX file\?",
    ),
    "wrong dimensions (a labels file)": (
        _replace(IMAGES, _gz(_GOOD["train_labels"])),
        IDXFormatError,
        r"Expected 3 dimensions in {file}; got 1 \(magic 0x00000801\)\. Is this a labels file\?",
    ),
    "wrong dimensions (32x32 images)": (
        _replace(IMAGES, _gz(np.zeros((96, 32, 32), np.uint8))),
        IDXFormatError,
        r"Expected examples of 28×28 in {file}; got 32×32 \(shape \(96, 32, 32\)\)\. "
        r"Is this another dataset, or a resized copy\?",
    ),
    "header count larger than the payload": (
        _replace(IMAGES, gzip.compress(_header_says_more)),
        IDXFormatError,
        r"Expected 75,264 bytes of data in {file} for shape \(96, 28, 28\); got 74,480\. "
        r"The file is truncated or its header is wrong\.",
    ),
    "image/label count mismatch": (
        _count_mismatch,
        IDXFormatError,
        r"Expected as many train labels as images; got 95 labels in {dir}/train-labels-idx1-ubyte\.gz "
        r"for 96 images in {file}\.",
    ),
    "label >= 10": (
        _replace(LABELS, _gz(_bad_labels)),
        IDXFormatError,
        r"Expected labels 0\.\.9 in {dir}/train-labels-idx1-ubyte\.gz; got 12 at index 5\. "
        r"This is not a Fashion-MNIST labels file\.",
    ),
    "empty file": (
        _replace(IMAGES, b""),
        IDXFormatError,
        r"Expected an IDX file in {file}; got an empty file \(0 bytes\), too short for a header\.",
    ),
    "right format, wrong content": (
        _digit_like,
        ChecksumError,
        r"Expected the official train-images-idx3-ubyte \(MD5 [0-9a-f]{{32}} of the decompressed content\) in {file}; "
        r"got MD5 [0-9a-f]{{32}}: the right format, other content \(digit MNIST under Fashion-MNIST's name\?\)\.",
    ),
    "unreadable (a folder in its place)": (
        _folder_in_place,
        DataError,
        r"Expected a readable file at {file}; got an error: Is a directory\. "
        r"Something other than a file is in its place\.",
    ),
    "unreadable (permission denied, monkeypatched)": (
        _unreadable_by_permissions,
        DataError,
        r"Expected a readable file at {file}; got an error: Permission denied\. Check its permissions\.",
    ),
}


@pytest.fixture
def good_md5s(monkeypatch, tmp_path):
    """Make the synthetic files the 'official' ones; hide the real system copy."""
    digests = write_fashion_files(tmp_path / "reference", synthetic_arrays())
    monkeypatch.setattr(sources, "FILES", tuple(replace(f, md5=digests[f.key]) for f in sources.FILES))
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(tmp_path / "no-system-copy"))
    sources.clear_memo()
    return tmp_path / "reference"


def _damaged(folder: Path, case: str, mp: pytest.MonkeyPatch) -> str:
    """Write good files into ``folder``, damage them as ``case`` says; return the expected message regex."""
    write_fashion_files(folder, synthetic_arrays())
    damage, _, message = CASES[case]
    damage(folder, mp)
    return message.format(file=re.escape(str(folder / IMAGES)), dir=re.escape(str(folder)))


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): (p.read_bytes() if p.is_file() else "dir") for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", CASES)
def test_in_a_folder_the_user_chose_the_error_is_clear_and_the_file_untouched(good_md5s, tmp_path, case):
    folder = tmp_path / "mine"
    with pytest.MonkeyPatch.context() as mp:
        message = _damaged(folder, case, mp)
        before = _snapshot(folder)
        with pytest.raises(CASES[case][1], match=message + r".* To fix: replace it with the official file, "
                           rf"or delete it to have a fresh copy downloaded into {re.escape(str(folder))}; "
                           r"softmaxreg never deletes or changes files in a folder you chose \(the `root` argument\)\.$"
                           ) as info:  # fmt: skip
            sources.load_fashion_mnist(root=folder, offline=True)
        assert "\n" not in str(info.value)
        assert _snapshot(folder) == before
    shutil.rmtree(folder)
    shutil.copytree(good_md5s, folder)  # the user's fix; nothing stale (memo, decoded cache) gets in the way
    assert sources.load_fashion_mnist(root=folder, offline=True)[0]["train_labels"].shape == (96,)


def test_the_same_for_softmaxreg_data(good_md5s, tmp_path, monkeypatch):
    folder = tmp_path / "env"
    message = _damaged(folder, "truncated gzip", monkeypatch)
    monkeypatch.setenv("SOFTMAXREG_DATA", str(folder))
    with pytest.raises(
        IDXFormatError, match=message + r".*never deletes or changes files in a folder you chose \(\$SOFTMAXREG_DATA\)"
    ):
        sources.load_fashion_mnist(offline=False)  # no fallback to other places, no download over it
    assert (folder / IMAGES).stat().st_size == 5000


@pytest.fixture
def good_mirror(good_md5s):
    with serve({p.name: p.read_bytes() for p in good_md5s.iterdir()}) as server:
        yield server


@pytest.mark.parametrize("case", CASES)
def test_in_the_cache_a_bad_file_is_moved_aside_and_fetched_again(good_md5s, good_mirror, monkeypatch, case):
    cache = sources.default_cache_dir()
    bad = {"label >= 10": [LABELS], "image/label count mismatch": [IMAGES, LABELS]}.get(case, [IMAGES])
    if case == "right format, wrong content":
        bad = [f.name + ".gz" for f in sources.FILES]
    with pytest.MonkeyPatch.context() as mp:
        message = _damaged(cache, case, mp)
        with pytest.raises(CASES[case][1], match=message) as info:
            sources.load_fashion_mnist(offline=True)
    text = str(info.value)
    moved = ", ".join(f"{cache / name}.quarantined" for name in bad)
    it, them = ("it", "it") if len(bad) == 1 else ("the bad files", "them")
    assert f"softmaxreg moved {it} aside to {moved} and will not use {them} again." in text
    assert "To fix: run without --offline (unset SOFTMAXREG_OFFLINE) to download a fresh copy" in text
    assert "\n" not in text
    assert all(not (cache / name).exists() and (cache / (name + ".quarantined")).exists() for name in bad)
    monkeypatch.setenv("SOFTMAXREG_MIRRORS", good_mirror.url("good"))
    arrays, folder = sources.load_fashion_mnist(offline=False)  # the next run: no manual cleanup
    assert folder == cache and arrays["train_labels"].shape == (96,)
    assert good_mirror.count("good") >= 1
    sources.clear_memo()
    assert sources.load_fashion_mnist(offline=True)[1] == cache  # and it stays good


def test_a_bad_cached_file_is_replaced_in_the_same_run_when_online(good_md5s, good_mirror, monkeypatch, caplog):
    cache = sources.default_cache_dir()
    message = _damaged(cache, "truncated gzip", monkeypatch)
    monkeypatch.setenv("SOFTMAXREG_MIRRORS", good_mirror.url("good"))
    arrays, folder = sources.load_fashion_mnist(offline=False)
    assert folder == cache and good_mirror.requests == {f"good/{IMAGES}": 1}  # only the bad file is fetched
    assert re.search(message + r".*moved it aside.*Used another copy\.", caplog.text)


def test_a_bad_cached_file_gives_way_to_the_system_copy(good_md5s, monkeypatch, tmp_path, caplog):
    _damaged(sources.default_cache_dir(), "right format, wrong content", monkeypatch)
    system = shutil.copytree(good_md5s, tmp_path / "system")
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(system))
    with caplog.at_level(logging.WARNING):
        assert sources.load_fashion_mnist(offline=True)[1] == system
    assert "moved the bad files aside" in caplog.text and "Used another copy." in caplog.text


@pytest.mark.parametrize("case", ["truncated gzip", "right format, wrong content", "label >= 10"])
def test_in_the_system_copy_a_bad_file_is_left_alone_and_another_copy_used(
    good_md5s, good_mirror, tmp_path, monkeypatch, case
):
    system = tmp_path / "system"
    message = _damaged(system, case, monkeypatch)
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(system))
    before = _snapshot(system)
    with pytest.raises(
        CASES[case][1],
        match=message
        + r".* The system copy is damaged: reinstall it \(sudo apt-get install --reinstall dataset-fashion-mnist\)\.",
    ):
        sources.load_fashion_mnist(offline=True)
    monkeypatch.setenv("SOFTMAXREG_MIRRORS", good_mirror.url("good"))
    assert sources.load_fashion_mnist(offline=False)[1] == sources.default_cache_dir()  # downloaded instead
    assert _snapshot(system) == before


# -- through the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_the_cli_prints_one_line_and_exits_2(good_md5s, tmp_path, cli_in_process, case):
    with pytest.MonkeyPatch.context() as mp:
        message = _damaged(tmp_path / "data", case, mp)
        code, _, err = cli_in_process(
            "train", "--epochs", "1", "--offline", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run")
        )
    assert code == 2
    (line,) = err.splitlines()
    assert re.match(r"softmaxreg: error: " + message, line), line
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def _fresh_env(tmp_path, **extra):
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "SOFTMAXREG_SYSTEM_DATA": str(tmp_path / "none"), **extra}


@pytest.mark.real_data
def test_cli_end_to_end_a_truncated_cached_download_then_a_good_run(real_data_dir, tmp_path):
    """The users' report: a truncated .gz in the cache used to break every later run."""
    cache = tmp_path / "cache" / "softmaxreg" / "fashion-mnist"
    shutil.copytree(real_data_dir, cache)
    labels = cache / LABELS
    labels.write_bytes(labels.read_bytes()[:10_000])
    first = run_cli("train", "--epochs", "1", "--quiet", "--offline", cwd=tmp_path, env=_fresh_env(tmp_path))
    assert first.returncode == 2
    (line,) = first.stderr.splitlines()
    assert line.startswith(f"softmaxreg: error: Expected a complete gzip stream in {labels}; got one that ends after")
    assert f"softmaxreg moved it aside to {labels}.quarantined" in line
    with serve({LABELS: (real_data_dir / LABELS).read_bytes()}) as mirror:
        env = _fresh_env(tmp_path, SOFTMAXREG_OFFLINE="0", SOFTMAXREG_MIRRORS=mirror.url("good"))
        second = run_cli("train", "--epochs", "1", "--quiet", cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stderr
    assert "test accuracy 0.7" in second.stdout or "test accuracy 0.8" in second.stdout


def test_cli_end_to_end_read_only_cache(tmp_path):
    """Root ignores permissions: the cache path lies under a regular file, which no user can write into."""
    (tmp_path / "cache").write_text("a file, not a folder")
    env = _fresh_env(tmp_path, SOFTMAXREG_OFFLINE="0", SOFTMAXREG_MIRRORS="http://127.0.0.1:9/")
    result = run_cli("train", "--epochs", "1", cwd=tmp_path, env=env)
    assert result.returncode == 1  # a folder that cannot be written: the machine's problem
    (line,) = result.stderr.splitlines()
    assert line.startswith("softmaxreg: error: Fashion-MNIST was not found.")
    assert (
        f"download into {tmp_path}/cache/softmaxreg/fashion-mnist failed: Expected a writable folder to download "
        f"Fashion-MNIST into; got {tmp_path}/cache/softmaxreg/fashion-mnist, which cannot be written (Not a directory)."
    ) in line


def test_cli_end_to_end_unreadable_file(tmp_path):
    folder = tmp_path / "data"
    write_fashion_files(folder, synthetic_arrays())
    _folder_in_place(folder, None)
    result = run_cli("train", "--epochs", "1", "--data-dir", str(folder), cwd=tmp_path, env=_fresh_env(tmp_path))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"softmaxreg: error: Expected a readable file at {folder / IMAGES}; got an error: Is a directory."
    )


def test_a_bad_cached_file_and_no_reachable_mirror(good_md5s, monkeypatch):
    cache = sources.default_cache_dir()
    message = _damaged(cache, "empty file", monkeypatch)
    monkeypatch.setenv("SOFTMAXREG_MIRRORS", "http://127.0.0.1:9/")  # the discard port: connection refused
    monkeypatch.setenv("SOFTMAXREG_RETRIES", "0")
    with pytest.raises(IDXFormatError, match=message + r".* softmaxreg moved it aside to .*\.quarantined "
                       rf".*download into {re.escape(str(cache))} failed: "
                       rf"Expected {re.escape(IMAGES)} from one of the mirrors; got only "
                       r"failures \(http://127\.0\.0\.1:9/train-images-idx3-ubyte\.gz: .*\)\..* To fix: install the "
                       r"Debian/Ubuntu package"):  # fmt: skip
        sources.load_fashion_mnist(offline=False)
