"""``python -m softmaxreg``: the command line."""

import sys

from softmaxreg.commands.cli import main

sys.exit(main())
