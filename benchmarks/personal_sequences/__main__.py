"""``python benchmarks/personal_sequences ...``: run the benchmark (or, internally, one engine).

Puts ``benchmarks/`` (so this folder imports as the package ``personal_sequences``) and the
checkout's ``src/`` (so the engines time this checkout's haplexpr) first on the path.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[0] = str(HERE.parent)  # Python put this folder itself there
sys.path.insert(1, str(HERE.parents[1] / "src"))

from personal_sequences.cli import main  # noqa: E402

main()
