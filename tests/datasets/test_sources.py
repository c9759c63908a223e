"""Where Fashion-MNIST is looked for, in which order, and how it is verified."""

import gzip
import json
import shutil

import numpy as np
import pytest
from conftest import synthetic_arrays, write_fashion_files

from softmaxreg.datasets import sources
from softmaxreg.datasets.fashion_mnist import FashionMNIST
from softmaxreg.errors import ChecksumError, DataNotFoundError, IDXFormatError


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_explicit_root_wins(fake_fashion, tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAXREG_DATA", str(_copy(fake_fashion, tmp_path / "env")))
    _copy(fake_fashion, sources.default_cache_dir())
    _, folder = sources.load_fashion_mnist(root=fake_fashion)
    assert folder == fake_fashion


def test_env_var_before_cache(fake_fashion, tmp_path, monkeypatch):
    env = _copy(fake_fashion, tmp_path / "env")
    _copy(fake_fashion, sources.default_cache_dir())
    monkeypatch.setenv("SOFTMAXREG_DATA", str(env))
    assert sources.load_fashion_mnist(root=tmp_path / "empty-root")[1] == env


def test_cache_before_system(fake_fashion, monkeypatch):
    cache = _copy(fake_fashion, sources.default_cache_dir())
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(fake_fashion))
    assert sources.load_fashion_mnist()[1] == cache


def test_system_copy_last(fake_fashion, monkeypatch, tmp_path):
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", f"{tmp_path / 'nothing'}:{fake_fashion}")
    assert sources.load_fashion_mnist()[1] == fake_fashion


def test_cache_dir_follows_xdg(isolated_env):
    assert sources.default_cache_dir() == isolated_env / "softmaxreg" / "fashion-mnist"


def test_torchvision_layout_is_found(fake_fashion, tmp_path):
    root = tmp_path / "data"
    _copy(fake_fashion, root / "FashionMNIST" / "raw")
    arrays, folder = sources.load_fashion_mnist(root=root)
    assert folder == root and arrays["train_images"].shape == (96, 28, 28)


def test_raw_and_gzip_files_pass_the_same_checksum(fake_fashion, tmp_path):
    """The MD5 is of the decompressed content: a recompressed or raw copy passes too."""
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for path in fake_fashion.iterdir():
        content = gzip.decompress(path.read_bytes())
        (raw_dir / path.name.removesuffix(".gz")).write_bytes(content)
        (tmp_path / "recompressed").mkdir(exist_ok=True)
        (tmp_path / "recompressed" / path.name).write_bytes(gzip.compress(content, compresslevel=1, mtime=123))
    a = sources.load_fashion_mnist(root=raw_dir)[0]
    b = sources.load_fashion_mnist(root=tmp_path / "recompressed")[0]
    np.testing.assert_array_equal(a["train_images"], b["train_images"])


def test_wrong_content_fails_the_checksum_naming_the_file(fake_fashion, tmp_path):
    other = synthetic_arrays(seed=1)  # right format, wrong content
    write_fashion_files(tmp_path / "other", other)
    with pytest.raises(
        ChecksumError, match=r"official train-images-idx3-ubyte .* in .*other/train-images-idx3-ubyte\.gz; got MD5"
    ):
        sources.load_fashion_mnist(root=tmp_path / "other")


def test_image_and_label_counts_must_match(tmp_path, monkeypatch):
    arrays = synthetic_arrays()
    arrays["test_labels"] = arrays["test_labels"][:-1]
    digests = write_fashion_files(tmp_path / "d", arrays)
    from dataclasses import replace

    monkeypatch.setattr(sources, "FILES", tuple(replace(f, md5=digests[f.key]) for f in sources.FILES))
    with pytest.raises(
        IDXFormatError,
        match=r"Expected as many test labels as images; got 39 labels in .*t10k-labels-idx1-ubyte\.gz "
        r"for 40 images in .*t10k-images-idx3-ubyte\.gz\. "
        r"The two files come from different datasets\.",
    ):
        sources.load_fashion_mnist(root=tmp_path / "d")


def test_no_data_error_lists_every_place_and_the_fixes(tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(tmp_path / "sys"))
    monkeypatch.setenv("SOFTMAXREG_DATA", str(tmp_path / "env"))
    (tmp_path / "root").mkdir()
    with pytest.raises(DataNotFoundError) as info:
        sources.load_fashion_mnist(root=tmp_path / "root", offline=True)
    message = str(info.value)
    assert "\n" not in message
    for place in ("root", "env", "sys"):
        assert str(tmp_path / place) in message
    assert str(sources.default_cache_dir()) in message
    assert "lacks train-images-idx3-ubyte" in message and "does not exist" in message
    assert "apt-get install dataset-fashion-mnist" in message and "SOFTMAXREG_DATA" in message
    assert "no download (offline)" in message


def test_offline_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(tmp_path / "sys"))
    monkeypatch.setenv("SOFTMAXREG_MIRRORS", "http://127.0.0.1:9/")  # would fail fast if tried
    with pytest.raises(DataNotFoundError, match="offline"):
        FashionMNIST()


def test_download_goes_through_a_verified_rename(fake_fashion, tmp_path, monkeypatch):
    """Served over real HTTP from 127.0.0.1; the files land in the cache, nothing partial remains."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(fake_fashion))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SOFTMAXREG_MIRRORS", f"http://127.0.0.1:{server.server_port}/")
        arrays, folder = sources.load_fashion_mnist(offline=False)
    finally:
        server.shutdown()
    assert folder == sources.default_cache_dir()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f.name + ".gz" for f in sources.FILES] + [".download.lock"]
    )
    assert arrays["train_labels"].shape == (96,)


# -- loading fast: the in-process memo and the decoded cache ----------------------------------------


def _count_verifications(monkeypatch):
    calls = []
    real = sources._verify
    monkeypatch.setattr(sources, "_verify", lambda path, file: calls.append(path.name) or real(path, file))
    return calls


def test_arrays_are_read_only_and_remembered_in_the_process(fake_fashion, monkeypatch):
    calls = _count_verifications(monkeypatch)
    first, _ = sources.load_fashion_mnist(root=fake_fashion)
    second, _ = sources.load_fashion_mnist(root=fake_fashion)
    assert len(calls) == 4  # the second load read nothing
    for key, array in first.items():
        assert second[key] is array and not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1  # one caller cannot change another's data


def test_data_modules_get_their_own_copies(fake_fashion):
    a, b = FashionMNIST(root=fake_fashion), FashionMNIST(root=fake_fashion)
    a.train.images[0] = 0
    assert b.train.images[0].any()


def test_decoded_cache_skips_verification_in_a_new_process(fake_fashion, monkeypatch):
    first, _ = sources.load_fashion_mnist(root=fake_fashion)
    sources.clear_memo()  # what a new process starts with
    calls = _count_verifications(monkeypatch)
    again, _ = sources.load_fashion_mnist(root=fake_fashion)
    assert calls == []
    for key in first:
        np.testing.assert_array_equal(again[key], first[key])
    assert sorted(p.name for p in sources.decoded_cache_dir().iterdir()) == [
        "manifest.json", "test_images.npy", "test_labels.npy", "train_images.npy", "train_labels.npy",
    ]  # fmt: skip


def test_a_changed_source_file_is_verified_again(fake_fashion, monkeypatch):
    sources.load_fashion_mnist(root=fake_fashion)
    path = fake_fashion / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1))  # same content, new file
    calls = _count_verifications(monkeypatch)
    sources.load_fashion_mnist(root=fake_fashion)
    assert len(calls) == 4
    path.write_bytes(b"")  # now damaged: neither the memo nor the decoded cache hides it
    with pytest.raises(IDXFormatError, match="got an empty file"):
        sources.load_fashion_mnist(root=fake_fashion)


def test_another_copy_of_the_same_content_shares_the_decoded_cache(fake_fashion, tmp_path):
    sources.load_fashion_mnist(root=fake_fashion)
    sources.load_fashion_mnist(root=_copy(fake_fashion, tmp_path / "copy"))
    manifest = json.loads((sources.decoded_cache_dir() / "manifest.json").read_text())
    assert len(manifest["sources"]) == 2  # both verified sets remembered, one set of arrays


def test_offline_loading_works_from_the_decoded_cache(fake_fashion, monkeypatch):
    _copy(fake_fashion, sources.default_cache_dir())
    sources.load_fashion_mnist(offline=True)
    sources.clear_memo()
    monkeypatch.setenv("SOFTMAXREG_MIRRORS", "http://127.0.0.1:9/")  # would fail if tried
    calls = _count_verifications(monkeypatch)
    assert sources.load_fashion_mnist(offline=True)[1] == sources.default_cache_dir() and calls == []
