"""``softmaxreg numerics``: the number-format table of `softmaxreg.numerics` (no torch needed)."""

from __future__ import annotations

import argparse
import dataclasses
import json

from softmaxreg.numerics import exp_limits, render_table


def run(args: argparse.Namespace) -> int:
    """Print the table as text, or as a JSON list of rows with ``--json``."""
    rows = exp_limits()
    if args.json:
        print(json.dumps([dataclasses.asdict(row) for row in rows], indent=2))
    else:
        print(render_table(rows))
    return 0
