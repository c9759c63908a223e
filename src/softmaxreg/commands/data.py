"""``softmaxreg data``: where Fashion-MNIST is (or why not), every file checked against its MD5.

It takes the same path through the sources as training (`sources.find_fashion_mnist`), so it
reports the copy ``softmaxreg train`` would use.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from softmaxreg.commands._common import say, warn
from softmaxreg.datasets import sources
from softmaxreg.datasets.idx import parse_idx
from softmaxreg.errors import DataError


def run(args: argparse.Namespace) -> int:
    """Find the data as training does (damaged cached files set aside, a download last), report every
    place passed over, then verify and describe the four files of the place training would use."""
    offline = True if args.offline else None
    try:
        found = sources.find_fashion_mnist(args.data_dir, offline)
    except DataError:
        place, _ = sources.locate(args.data_dir)
        if place is not None and place.kind in ("root", "env"):  # your folder: show which files fail
            _report_files(place)
        raise
    for note in found.tried:
        say(f"not here: {note}")
    for problem in found.problems:
        warn(f"softmaxreg: {problem}")
    _report_files(found.place)
    say("Fashion-MNIST is ready: 60,000 training and 10,000 test images, checksums verified.")
    return 0


def _report_files(place: sources.Place) -> None:
    """Say where, then verify each file against its MD5, one line each.

    Raises:
        DataError: a file failed.
    """
    say(f"found:    {place.path} ({place.origin})")
    failures = [message for file in sources.FILES if (message := _check(place.path, file))]
    if failures:
        raise DataError(
            f"{len(failures)} of {len(sources.FILES)} Fashion-MNIST files in {place.path} failed verification. "
            "Delete or replace them (see the lines above)."
        )


def _check(folder: Path, file: sources.IDXFile) -> str | None:
    """Verify one file and say so; return the problem, if any."""
    path = sources.find_file(folder, file)
    if path is None:  # pragma: no cover - the search found all four a moment ago
        message = f"{file.name} is missing"
        say(f"  {file.name:<28} MISSING")
        return message
    try:
        content = sources.verified_content(path, file)
        shape = parse_idx(content, str(path), file.ndim).shape
    except DataError as err:
        say(f"  {path.name:<28} FAILED  {err}")
        return str(err)
    say(f"  {path.name:<28} ok  md5 {file.md5}  {' x '.join(f'{n:,}' for n in shape)}")
    return None
