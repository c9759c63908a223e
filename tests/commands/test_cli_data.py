"""`softmaxreg data`: where Fashion-MNIST is, checksums verified, or why it is not found."""

import gzip
import json
import shutil

from conftest import run_cli


def test_data_on_the_real_files(real_data_dir, tmp_path):
    result = run_cli("data", "--data-dir", str(real_data_dir), "--offline", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"found:    {real_data_dir} (the `root` argument)"
    assert [line.split()[1] for line in lines[1:5]] == ["ok"] * 4
    assert "60,000 x 28 x 28" in lines[1] and "f4a8712d7a061bf5bd6d2ca38dc4d50a" in lines[1]
    assert lines[-1].startswith("Fashion-MNIST is ready")


def test_data_with_a_damaged_file(real_data_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(real_data_dir, copy)
    damaged = next(copy.glob("t10k-labels*"))
    raw = bytearray(gzip.decompress(damaged.read_bytes()) if damaged.suffix == ".gz" else damaged.read_bytes())
    raw[-1] = (raw[-1] + 1) % 10
    damaged.write_bytes(gzip.compress(bytes(raw)) if damaged.suffix == ".gz" else bytes(raw))
    result = run_cli("data", "--data-dir", str(copy), "--offline", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stdout.count(" ok ") == 3
        and f"{damaged.name:<28} FAILED  Expected the official t10k-labels" in result.stdout
    )
    assert result.stderr.strip().splitlines() == [
        f"softmaxreg: error: 1 of 4 Fashion-MNIST files in {copy} failed verification. "
        "Delete or replace them (see the lines above)."
    ]


def test_data_not_found_offline(tmp_path):
    env = {"SOFTMAXREG_SYSTEM_DATA": str(tmp_path / "none")}
    result = run_cli("data", "--data-dir", str(tmp_path / "empty"), "--offline", cwd=tmp_path, env=env)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("softmaxreg: error: Fashion-MNIST was not found. Tried: ")
    assert f"{tmp_path / 'empty'} (the `root` argument: does not exist)" in line and "no download (offline)" in line


def test_data_sets_aside_a_damaged_cached_file_as_train_does(fake_fashion, tmp_path, cli_in_process, monkeypatch):
    """Found by review: `data` failed on a truncated cached file that `train` moved aside and skipped."""
    system, cache = tmp_path / "system", tmp_path / "xdg" / "softmaxreg" / "fashion-mnist"
    shutil.copytree(fake_fashion, system)
    shutil.copytree(fake_fashion, cache)
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(system))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    damaged = next(cache.glob("t10k-labels*"))
    damaged.write_bytes(damaged.read_bytes()[:-30])
    code, out, err = cli_in_process("data", "--offline")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"not here: {cache} (the user cache: {damaged.name} is damaged)"
    assert lines[1] == f"found:    {system} (the system copy)"
    assert [line.split()[1] for line in lines[2:6]] == ["ok"] * 4
    assert f"softmaxreg moved it aside to {damaged}.quarantined" in err
    code, _, err = cli_in_process("train", "--epochs", "1", "--batch-size", "16", "--quiet", "--out", tmp_path / "r")
    assert code == 0, err
    assert json.loads((tmp_path / "r" / "config.json").read_text())["data_source"] == str(system)  # the same copy
