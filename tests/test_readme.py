"""The example outputs of the README and the docs that no command alone makes are what the code prints.

Most outputs in README.md and docs/ follow the command that prints them (a ```sh block, then a
```text block), and `tests/test_docs.py` runs those commands in order. This file covers the rest:
outputs that need a staged fault (a damaged file, a lock another process holds, an image too large to
keep in the repository). Each is a fenced block without a language, marked by a line
``<!-- output: NAME -->`` just before it, in README.md or any page of docs/. For each NAME a
function below makes that output on the real data, in this process; the test compares the two,
masking only what changes from run to run (seconds, a timestamped run folder, the cache's path).
When the code's output changes on purpose, paste the new output (the assertion shows it) into
the page.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import SRC

README = SRC.parent / "README.md"
REPO = SRC.parent
PAGES = [README, *sorted((REPO / "docs").rglob("*.md"))]


def output_blocks(text: str) -> list[tuple[str | None, str, str]]:
    """``(marker name or None, language, body)`` of every fenced block, bodies dedented."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            indent, lang = line[: len(line) - len(line.lstrip())], line.strip()[3:]
            end = next(j for j in range(i + 1, len(lines)) if lines[j] == indent + "```")
            marker = re.fullmatch(r"\s*<!-- output: ([\w-]+) -->", lines[i - 1]) if i else None
            body = "\n".join(row.removeprefix(indent) for row in lines[i + 1 : end])
            blocks.append((marker.group(1) if marker else None, lang, body))
            i = end
        i += 1
    return blocks


def readme_outputs() -> dict[str, str]:
    """The marked outputs of README.md and docs/ (a name is used once in all of them)."""
    named = [(name, body) for page in PAGES for name, lang, body in output_blocks(page.read_text("utf-8")) if name]
    assert len({name for name, _ in named}) == len(named), "an output name is used twice"
    return dict(named)


def mask(text: str) -> str:
    """What differs between two runs of the same command: seconds and timestamped run folders."""
    text = re.sub(r"(?m)  \d+\.\ds$", "  <seconds>", text)
    return re.sub(r"runs/\d{8}-\d{6}(-\d+)?", "runs/<timestamp>", text)


def cli(*args: str | Path, cwd: Path) -> tuple[int, str, str]:
    """``softmaxreg ARGS`` in this process, in ``cwd``: (exit code, stdout, stderr)."""
    from softmaxreg.commands import cli as command_line

    out, err, before = io.StringIO(), io.StringIO(), Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = command_line.main([str(a) for a in args])
    finally:
        os.chdir(before)
        logging.root.handlers = []  # main() configured logging onto the redirected stderr
    return code, out.getvalue(), err.getvalue()


def test_every_output_block_is_marked_and_checked():
    blocks = [block for page in PAGES for block in output_blocks(page.read_text(encoding="utf-8"))]
    unmarked = [body.splitlines()[0] for name, lang, body in blocks if not lang and not name]
    assert unmarked == [], "give each example output a <!-- output: NAME --> line and a maker below"
    assert sorted(readme_outputs()) == sorted(MAKERS)


# -- the makers: one per example output ---------------------------------------------------------------


@pytest.fixture(scope="module")
def book_run(real_data_dir, tmp_path_factory):
    """`make demo`, i.e. ``softmaxreg train`` (the book's configuration, default run folder)."""
    base = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(base / "cache"))
        code, out, err = cli("train", "--data-dir", real_data_dir, "--offline", cwd=base)
    assert code == 0, err
    (run,) = (base / "runs").iterdir()
    return base, run, out


def _checkpoint(book_run, real_data_dir, tmp_path):
    """A run folder whose weights were stored transposed."""
    from safetensors.torch import load_file, save_file

    run = tmp_path / "runs" / "a"
    shutil.copytree(book_run[1], run)
    tensors = load_file(run / "model.safetensors")
    tensors["net.1.weight"] = tensors["net.1.weight"].T.contiguous()
    save_file(tensors, run / "model.safetensors", metadata={"epoch": "10"})
    code, out, err = cli("evaluate", "runs/a", cwd=tmp_path)
    assert code == 2
    return err.rstrip()


def _huge_image(book_run, real_data_dir, tmp_path):
    from PIL import Image

    Image.new("1", (10_000, 10_000)).save(tmp_path / "huge.png")
    code, out, err = cli("predict", book_run[1], "huge.png", cwd=tmp_path)
    assert code == 2
    return err.rstrip()


def _damaged_cache(book_run, real_data_dir, tmp_path, monkeypatch):
    """A download cut off after 1,000,000 bytes in the cache; offline, no other copy."""
    cache = tmp_path / "xdg" / "softmaxreg" / "fashion-mnist"
    shutil.copytree(real_data_dir, cache)
    images = cache / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:1_000_000])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(tmp_path / "none"))
    code, out, err = cli("train", "--epochs", "1", "--offline", cwd=tmp_path)
    assert code == 2
    return err.rstrip().replace(str(cache), "~/.cache/softmaxreg/fashion-mnist")


def _run_in_use(book_run, real_data_dir, tmp_path):
    """``train --out runs/book`` while another claim holds runs/book (here: this process's own)."""
    from softmaxreg.runs import lock

    claim = lock.claim_new(tmp_path / "runs" / "book")
    try:
        code, out, err = cli("train", "--out", "runs/book", "--data-dir", real_data_dir, cwd=tmp_path)
    finally:
        claim.release()
    assert code == 2
    holder = r"PID \d+ on host [^,]+, started [^)]+"  # the README's made-up holder stands for any
    return re.sub(holder, "PID 4242 on host lab1, started 2026-11-30 02:10:11 UTC", err.rstrip())


def _no_locks(book_run, real_data_dir, tmp_path, monkeypatch):
    """A file system that answers flock with ENOLCK (NFS without its lock service)."""
    import errno

    from softmaxreg.runs import lock

    def refuse(fd):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(lock, "_try_lock", refuse)
    out_dir = tmp_path / "mnt" / "nfs" / "runs" / "book"
    code, out, err = cli("train", "--out", out_dir, "--data-dir", real_data_dir, cwd=tmp_path)
    assert code == 1
    return err.rstrip().replace(str(tmp_path), "")


MAKERS = {
    "checkpoint": _checkpoint, "huge-image": _huge_image, "damaged-cache": _damaged_cache,
    "run-in-use": _run_in_use, "no-locks": _no_locks,
}  # fmt: skip


@pytest.mark.real_data
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_the_readme_shows_what_the_code_prints(name, book_run, real_data_dir, tmp_path, monkeypatch):
    maker = MAKERS[name]
    extra = {"monkeypatch": monkeypatch} if "monkeypatch" in maker.__code__.co_varnames else {}
    printed, quoted = mask(maker(book_run, real_data_dir, tmp_path, **extra)), mask(readme_outputs()[name])
    if quoted.endswith(" ..."):  # a long line, quoted up to "..."
        assert printed.startswith(quoted.removesuffix(" ...")), printed
    else:
        assert printed == quoted


@pytest.mark.real_data
def test_the_books_batch_shapes_in_the_docs(real_data_dir):
    import softmaxreg as d2l

    text = "".join(page.read_text(encoding="utf-8") for page in PAGES)
    (comment,) = re.findall(r"print\(X\.shape, y\.shape\) +# (.*)", text)
    X, y = next(iter(d2l.FashionMNIST(batch_size=256, root=real_data_dir).train_dataloader()))
    assert f"{X.shape} {y.shape}" == comment
