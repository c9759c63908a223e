"""The decoded cache is never trusted blindly: a damaged entry is noticed, dropped and rebuilt."""

import numpy as np
import pytest

from softmaxreg.datasets import decoded_cache, sources


@pytest.fixture
def cached(fake_fashion):
    """Fake Fashion-MNIST loaded once (so the decoded cache holds it); the memo forgotten."""
    arrays, _ = sources.load_fashion_mnist(root=fake_fashion)
    sources.clear_memo()
    return {key: np.array(a) for key, a in arrays.items()}, sources.decoded_cache_dir()


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _change_header_shape(path):
    data = path.read_bytes().replace(b"(40, 28, 28)", b"(20, 56, 28)")
    path.write_bytes(data)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-100]), "wrong size"),
        (_flip_last_byte, "CRC32 mismatch"),
        (_change_header_shape, "header says (20, 56, 28)"),
        (lambda p: p.write_bytes(b""), "damaged"),
        (lambda p: p.unlink(), "No such file"),
    ],
)
def test_a_damaged_entry_is_rebuilt(cached, fake_fashion, caplog, damage, reason):
    good, folder = cached
    damage(folder / "test_images.npy")
    arrays, _ = sources.load_fashion_mnist(root=fake_fashion)  # verified from the sources again
    np.testing.assert_array_equal(arrays["test_images"], good["test_images"])
    assert f"The decoded-data cache in {folder} is damaged" in caplog.text and reason in caplog.text
    sources.clear_memo()
    caplog.clear()
    arrays, _ = sources.load_fashion_mnist(root=fake_fashion)  # the rebuilt entry is sound
    np.testing.assert_array_equal(arrays["test_images"], good["test_images"])
    assert "damaged" not in caplog.text


def test_an_unreadable_manifest_means_no_entry(cached, fake_fashion):
    good, folder = cached
    (folder / "manifest.json").write_text("{not json")
    np.testing.assert_array_equal(
        sources.load_fashion_mnist(root=fake_fashion)[0]["train_labels"], good["train_labels"]
    )
    assert decoded_cache.load(folder, {f.key: f.md5 for f in sources.FILES}, []) is None
    assert (folder / "manifest.json").read_text().startswith('{"format": 1')  # rewritten


def test_an_unwritable_cache_folder_is_not_an_error(fake_fashion, monkeypatch, tmp_path):
    """Root ignores permissions: the honest stand-in for a read-only cache is a path under a regular file."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    arrays, folder = sources.load_fashion_mnist(root=fake_fashion)
    assert folder == fake_fashion and arrays["train_images"].shape == (96, 28, 28)


def test_cached_arrays_are_read_only_and_outlive_their_entry(cached, fake_fashion):
    """Arrays read from the cache share its files' pages: they must not be writable, and deleting or
    rewriting the entry (as `clear` and `store` do, by unlink and rename) must not change them."""
    good, folder = cached
    arrays, _ = sources.load_fashion_mnist(root=fake_fashion)  # from the cache
    images = arrays["train_images"]
    with pytest.raises(ValueError, match="read-only"):
        images[0, 0, 0] = 1
    decoded_cache.clear(folder)
    sources.clear_memo()
    sources.load_fashion_mnist(root=fake_fashion)  # verified again and stored anew
    assert (folder / "train_images.npy").exists()
    np.testing.assert_array_equal(images, good["train_images"])


def test_a_file_system_that_cannot_map_files_still_uses_the_cache(cached, fake_fashion, caplog, monkeypatch):
    good, folder = cached
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    def refuse(*args, **kwargs):
        raise OSError(19, "No such device")  # what mmap raises where a file system cannot map

    monkeypatch.setattr(decoded_cache.mmap, "mmap", refuse)
    arrays, _ = sources.load_fashion_mnist(root=fake_fashion)
    np.testing.assert_array_equal(arrays["train_images"], good["train_images"])
    assert not arrays["train_images"].flags.writeable
    assert "damaged" not in caplog.text  # read, not mistaken for a damaged entry and rebuilt
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written
