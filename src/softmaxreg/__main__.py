"""``python -m softmaxreg``: the command line."""

import sys

from softmaxreg.cli import main

sys.exit(main())
