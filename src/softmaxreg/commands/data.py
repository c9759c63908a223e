"""``softmaxreg data``: where Fashion-MNIST is (or why not), every file checked against its MD5."""

from __future__ import annotations

import argparse
from pathlib import Path

from softmaxreg.datasets import sources
from softmaxreg.commands._common import say
from softmaxreg.errors import DataError
from softmaxreg.datasets.idx import parse_idx


def run(args: argparse.Namespace) -> int:
    """Report every place tried, then verify and describe the four files of the place that has them."""
    place, tried = sources.locate(args.data_dir)
    if place is None:
        # raises DataNotFoundError (every place tried, how to fix) when offline; otherwise downloads
        sources.load_fashion_mnist(args.data_dir, True if args.offline else None)
        place, tried = sources.locate(args.data_dir)
        if place is None:  # pragma: no cover - the download succeeded, so the files are there
            raise DataError("Fashion-MNIST was downloaded but cannot be found again; please report this.")
    for note in tried:
        say(f"not here: {note}")
    say(f"found:    {place.path} ({place.origin})")
    failures = [message for file in sources.FILES if (message := _check(place.path, file))]
    if failures:
        raise DataError(
            f"{len(failures)} of {len(sources.FILES)} Fashion-MNIST files in {place.path} failed verification. "
            "Delete or replace them (see the lines above)."
        )
    say("Fashion-MNIST is ready: 60,000 training and 10,000 test images, checksums verified.")
    return 0


def _check(folder: Path, file: sources.IDXFile) -> str | None:
    """Verify one file and say so; return the problem, if any."""
    path = sources.find_file(folder, file)
    if path is None:  # pragma: no cover - locate() found all four a moment ago
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
