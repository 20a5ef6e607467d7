"""Regenerate the embedded demo dataset in this folder, byte-identically.

Run from anywhere (e.g. ``python data/demo/make_demo.py`` from the repository root); the
package source is put on ``sys.path`` so no install is needed.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from haplexpr.demo_data import write_demo_dataset  # noqa: E402

if __name__ == "__main__":
    write_demo_dataset(HERE)
