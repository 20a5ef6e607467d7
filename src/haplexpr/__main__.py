"""``python -m haplexpr``: the ``haplexpr`` command where the entry point is not installed."""

import sys

from haplexpr.cli import main

sys.exit(main())
