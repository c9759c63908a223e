"""Every command and Python block in the docs runs, in order, and prints what the docs show (README.md too).

The convention, for every page of ``docs/`` (``docs/contributing.md`` says the same for writers):

- A ```` ```sh ```` block holds commands, one per line (a trailing ``\\`` continues a line; ``# ...``
  comments are dropped). A page's commands run in the order of the page, in one fresh folder per
  page, which holds a link to the repository's ``examples/`` and ``.venv`` (so ``.venv/bin/python``
  works); the real Fashion-MNIST is found through ``SOFTMAXREG_DATA``; the cache is private.
  ``softmaxreg ...`` runs in this process (fast); anything else runs in ``bash``.
- A ```` ```python ```` block runs, in the page's order among the commands, as a script: in a fresh
  ``.venv/bin/python`` process whose folder is the page's folder (so it sees the files earlier commands
  made, and later commands see the files it makes), with the same environment and one OpenMP thread
  (spinning threads make training many times slower on a shared machine). It must exit with 0; a
  traceback names the page and the line of the page that failed.
- A ```` ```text ```` block that follows a ```` ```sh ```` block, with only blank lines between, is that
  block's output: the stdout, then the stderr, of its commands; after a ```` ```python ```` block, its
  stdout (warnings on stderr are not part of it). It is compared after masking what
  changes from run to run (seconds at a line's end, timestamped run folders, the page's folder).
  ``...`` stands for any text: part of a line, or any number of lines when alone on its line.
- ``softmaxreg serve ... [--port P]`` is started in the background on a free port, and ``127.0.0.1:P``
  or ``localhost:P`` (P is 8000 unless the command names a port) in the page's later commands, Python
  blocks and outputs means that server; it is stopped at the end of the page.
- ``<!-- docs-test: skip -->`` on the line before a ```` ```sh ```` or ```` ```python ```` block leaves it
  out (say why in the text: it needs several machines, a GPU, the network, or minutes).
- An output that no command of the page can make alone (a damaged file, a lock another process
  holds) is a block without a language marked ``<!-- output: NAME -->``, made by a maker in
  ``tests/test_readme.py``.

A page without ```` ```sh ```` or ```` ```python ```` blocks costs nothing here. A page that trains should
train the book's run (``softmaxreg train --out runs/book``): identical ``train`` commands run once per
test session. Blocks in other languages (``bash``, ``text`` alone, ``json``) are not run.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import SRC
from test_readme import cli

REPO = SRC.parent
PAGES = sorted((REPO / "docs").rglob("*.md")) + [REPO / "README.md"]
ADDRESS = "127.0.0.1:8000"  # the address pages show; the harness's server is elsewhere
RUN = ("sh", "python")  # the blocks that run; a ```text block after one is its output
# What a page's command stands for here: `make demo` is `softmaxreg train` (checked against the
# Makefile below); `make test` would run this suite inside itself.
ALIASES = {"make demo": "softmaxreg train", "make test": None}


@dataclasses.dataclass
class Block:
    lang: str
    body: str
    line: int  # 1-based line of the opening fence
    skip: bool = False  # <!-- docs-test: skip --> before it
    output: Block | None = None  # the ```text block that shows what it prints

    def source(self) -> str:
        """A python block's code, at its lines of the page: a traceback names the page's line."""
        return "\n" * self.line + self.body + "\n"


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, each ```sh or ```python block with its output block."""
    found: list[Block] = []
    lines, i, previous_end = text.splitlines(), 0, -10
    while i < len(lines):
        stripped = lines[i].lstrip()
        if stripped.startswith("```"):
            indent = lines[i][: len(lines[i]) - len(stripped)]
            end = next(j for j in range(i + 1, len(lines)) if lines[j].rstrip() == indent + "```")
            body = "\n".join(row.removeprefix(indent) for row in lines[i + 1 : end])
            block = Block(stripped[3:].strip(), body, i + 1, skip=i > 0 and "docs-test: skip" in lines[i - 1])
            follows = found and found[-1].lang in RUN and all(not row.strip() for row in lines[previous_end + 1 : i])
            if block.lang == "text" and follows:
                found[-1].output = block
            else:
                found.append(block)
            previous_end, i = end, end
        i += 1
    return found


def commands(body: str) -> list[str]:
    """The commands of a ```sh block: comments dropped, continued lines joined."""
    joined = re.sub(r"\s*\\\n\s*", " ", body)
    result = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            result.append(line.split(" #")[0].strip() if " #" in line else line.strip())
    return result


def matches(shown: str, printed: str) -> bool:
    """``printed`` is what ``shown`` shows, ``...`` standing for any text."""
    pattern, lines = "", shown.splitlines()
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if line.strip() == "...":  # any number of whole lines, none included
            pattern += r"(?:[^\n]*(?:\n|$))*?" if not last else r"(?:[^\n]*(?:\n|$))*"
        else:
            pattern += ".*?".join(re.escape(part) for part in line.rstrip().split("...")) + ("" if last else r"\n")
    return re.fullmatch(pattern, printed, flags=re.DOTALL) is not None


def mask(text: str, folder: Path) -> str:
    text = text.replace(str(folder) + "/", "").replace(str(folder), ".")
    text = re.sub(r"(?m)  \d+\.\ds$", "  0.2s", text)
    text = re.sub(r"runs/\d{8}-\d{6}(-\d+)?", "runs/20261127-224700", text)
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


class Page:
    """One page's folder, its background server, and the commands run so far."""

    trained: dict[tuple[str, ...], tuple[Path, str, str]] = {}  # `train` commands of this session

    def __init__(self, folder: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder, self.server, self.address, self.shown = folder, None, ADDRESS, ADDRESS
        (folder / "examples").symlink_to(REPO / "examples")
        (folder / ".venv").symlink_to(Path(sys.prefix))
        self.env = {**os.environ, "SOFTMAXREG_DATA": str(data_dir), "XDG_CACHE_HOME": str(folder / ".cache")}
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env['PATH']}"
        for name in ("SOFTMAXREG_DATA", "XDG_CACHE_HOME"):
            monkeypatch.setenv(name, self.env[name])

    def here(self, text: str) -> str:
        """``text`` with the address the page shows for its server replaced by the server's."""
        for shown in (self.shown, self.shown.replace("127.0.0.1", "localhost")):
            text = text.replace(shown, self.address)
        return text

    def shown_address(self, printed: str) -> str:
        """``printed`` with the server's address replaced by the one the page shows."""
        return printed.replace(self.address, self.shown)

    def python(self, block: Block, page: Path) -> tuple[int, str, str]:
        """Run a python block as a script in the page's folder: (exit code, stdout, stderr)."""
        code = f"import sys; exec(compile(sys.stdin.read(), {str(page)!r}, 'exec'))"
        env = {**self.env, "OMP_NUM_THREADS": "1"}  # as `one_thread` does for the commands, in this process
        done = subprocess.run([sys.executable, "-c", code], input=self.here(block.source()), cwd=self.folder,
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        return done.returncode, done.stdout, done.stderr

    def run(self, command: str) -> str:
        if command in ALIASES:
            command = ALIASES[command] or ""
        command = self.here(command)
        words = shlex.split(command)
        if words[:1] == [".venv/bin/softmaxreg"]:
            words[0] = "softmaxreg"
        if words[:2] == ["softmaxreg", "serve"]:
            return self.serve(words[2:])
        if words[:1] == ["softmaxreg"]:
            return self.softmaxreg(words[1:])
        done = subprocess.run(["bash", "-c", command], cwd=self.folder, env=self.env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        return done.stdout + done.stderr

    def softmaxreg(self, args: list[str]) -> str:
        key = tuple(args)
        if key in self.trained:  # the same `train` trains the same run (seeded): copy the first one's folder
            source, out, err = self.trained[key]
            shutil.copytree(source, self.folder / _run_folder(out))
            return out + err
        code, out, err = cli(*args, cwd=self.folder)
        if args[:1] == ["train"] and "--resume" not in args and code == 0:
            kept = Path(tempfile.mkdtemp(prefix="softmaxreg-docs-run-"))
            atexit.register(shutil.rmtree, kept, True)
            shutil.copytree(self.folder / _run_folder(out), kept / "run")  # as trained: later commands change it
            self.trained[key] = (kept / "run", out, err)
        return out + err

    def serve(self, args: list[str]) -> str:
        self.stop()
        port, kept = "8000", []
        for i, arg in enumerate(args):  # a given port is the page's example: the server takes a free one
            if arg.startswith("--port="):
                port = arg.removeprefix("--port=")
            elif arg == "--port":
                port = args[i + 1]
            elif not (i and args[i - 1] == "--port"):
                kept.append(arg)
        args, self.shown = kept + ["--port", "0"], f"127.0.0.1:{port}"
        self.server = subprocess.Popen([str(Path(sys.executable).parent / "softmaxreg"), "serve", *args],
                                       cwd=self.folder, env=self.env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)  # fmt: skip
        line = self.server.stdout.readline()
        found = re.search(r"http://([\d.]+:\d+)", line)
        assert found, f"softmaxreg serve did not start: {line}{self.server.stdout.read()}"
        self.address = found.group(1)
        return self.shown_address(line)

    def stop(self) -> None:
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=30)
            self.server = None


def _run_folder(printed: str) -> str:
    return re.search(r"^run folder: (.+)$", printed, flags=re.MULTILINE).group(1)


def runnable_pages() -> list[Path]:
    return [p for p in PAGES if any(b.lang in RUN and not b.skip for b in blocks(p.read_text(encoding="utf-8")))]


@pytest.mark.real_data
@pytest.mark.slow
@pytest.mark.parametrize("page", runnable_pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_the_commands_of_a_page_print_what_it_shows(page, real_data_dir, tmp_path, monkeypatch):
    runner, wrong, updates = Page(tmp_path, Path(real_data_dir), monkeypatch), [], []
    text = page.read_text(encoding="utf-8")
    try:
        for block in blocks(text):
            if block.lang not in RUN or block.skip:
                continue
            if block.lang == "python":
                code, printed, err = runner.python(block, page)
                if code != 0:
                    where = f"{page.relative_to(REPO)}:{block.line}"
                    wrong.append(f"the python block at {where} exits with {code}:\n{runner.shown_address(err)}")
                    continue
            else:
                printed = "".join(runner.run(command) for command in commands(block.body))
            if block.output is not None:
                printed = mask(runner.shown_address(printed), tmp_path)
                if not matches(block.output.body, printed):
                    where = f"{page.relative_to(REPO)}:{block.output.line}"
                    what = "the code prints" if block.lang == "python" else "the commands print"
                    wrong.append(f"{where} shows\n{block.output.body}\nbut {what}\n{printed}\n")
                    updates.append((block.output, printed))
    finally:
        runner.stop()
    if wrong and os.environ.get("SOFTMAXREG_DOCS_UPDATE") == "1":
        for output, printed in reversed(updates):  # from the end, so that line numbers stay right
            text = _updated(text, output, printed)
        page.write_text(text, encoding="utf-8")  # then shorten what a reader need not see with `...`
    assert not wrong, "\n".join(wrong)  # every difference at once (SOFTMAXREG_DOCS_UPDATE=1 pastes them)


def _updated(text: str, output: Block, printed: str) -> str:
    """``text`` with ``output``'s body replaced by ``printed`` (at the block's indentation)."""
    lines = text.splitlines(keepends=True)
    indent = lines[output.line - 1][: len(lines[output.line - 1]) - len(lines[output.line - 1].lstrip())]
    end = output.line + len(output.body.splitlines()) if output.body else output.line
    body = [f"{indent}{row}\n" if row else "\n" for row in printed.splitlines()]
    return "".join(lines[: output.line] + body + lines[end:])


def test_make_demo_is_softmaxreg_train():
    """The alias above is what the Makefile's `demo` target runs."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^demo:.*\n\t(.*)$", makefile, flags=re.MULTILINE).group(1)
    assert recipe == "$(BIN)/" + ALIASES["make demo"]


def test_the_harness_reads_blocks_and_matches_outputs():
    text = (
        "```sh\nsoftmaxreg a  # why\nsoftmaxreg b \\\n  --c\n```\n\n```text\nx\n```\n"
        "<!-- docs-test: skip -->\n```sh\nz\n```\n"
    )
    first, second = blocks(text)
    assert commands(first.body) == ["softmaxreg a", "softmaxreg b --c"]
    assert first.output.body == "x" and second.skip and second.output is None
    assert matches("a ... c\n...\nlast", "a b c\nmore\nlines\nlast")
    assert matches("one\n...", "one\ntwo") and not matches("a ... c", "a b d")
    assert matches("...\nlast", "last") and matches("...\nlast", "x\ny\nlast") and not matches("...\nlast", "lost")


def test_a_python_block_runs_at_its_lines_of_the_page(tmp_path, monkeypatch):
    """Its output is the ```text block after it, and a failure names the page's line."""
    text = "# A page\n\n```python\nprint('hi')\nprint(undefined_name)\n```\n\n```text\nhi\n```\n"
    (block,) = blocks(text)
    assert block.lang == "python" and block.output.body == "hi" and not block.skip
    assert blocks("<!-- docs-test: skip (a GPU) -->\n" + text[10:])[0].skip
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    (tmp_path / "folder").mkdir()
    code, out, err = Page(tmp_path / "folder", tmp_path, monkeypatch).python(block, page)
    assert (code, out) == (1, "hi\n")
    assert f'File "{page}", line 5' in err and "print(undefined_name)" in err
    assert err.rstrip().endswith("NameError: name 'undefined_name' is not defined")


def test_no_page_uses_bare_python():
    """`.venv/bin/python`, as the Makefile installs it: a bare `python` is whatever is on PATH (issue 26)."""
    bare = [
        f"{page.relative_to(REPO)}: {command}"
        for page in PAGES
        for block in blocks(page.read_text(encoding="utf-8"))
        if block.lang == "sh"
        for command in commands(block.body)
        if re.match(r"(python3?|pip) ", command)
    ]
    assert bare == []


def _hooks():
    """docs/hooks.py, the MkDocs hooks that generate the reference pages."""
    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_names_every_command():
    """`softmaxreg --help` listed seven of the eight commands (issue 26, part 9)."""
    from softmaxreg.commands.cli import build_parser

    parser = build_parser()
    missing = [name for name in _hooks()._subcommands(parser) if name not in parser.description]
    assert missing == []


def test_the_cli_reference_lists_every_command_and_option():
    from softmaxreg.commands.cli import build_parser

    hooks, parser = _hooks(), build_parser()
    page = hooks.cli_markdown()
    for name, sub in hooks._subcommands(parser).items():
        assert f"## softmaxreg {name}" in page
        for action in sub._actions:
            for option in action.option_strings:
                assert f"`{option}`" in page, option


def test_the_http_reference_lists_every_path_and_schema():
    pytest.importorskip("fastapi")
    from softmaxreg.serve.app import create_app

    document, page = create_app(None).openapi(), _hooks().http_markdown()
    for path, methods in document["paths"].items():
        for method in methods:
            assert f"## `{method.upper()} {path}`" in page
    for name in document["components"]["schemas"]:
        assert f"### {name} {{ #" in page
