#!/usr/bin/env bash
# Install what the tests need (Debian packages incl. SLURM + munge and Chromium, .venv) and
# run them: style and workflow checks, then pytest (unit, snakemake end-to-end, real SLURM
# end-to-end, the report in a headless browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_system_deps.sh --slurm --browser --realdata
bash scripts/setup.sh
export PATH="$(pwd)/.venv/bin:$PATH"
start=$(date +%s)
echo "== ruff"
ruff check src tests workflow_scripts benchmarks data/demo/make_demo.py data/geuvadis_chr22/build.py
ruff format --check src tests workflow_scripts benchmarks data/demo/make_demo.py data/geuvadis_chr22/build.py
echo "== snakefmt"
snakefmt --check Snakefile rules/
echo "== snakemake --lint"
lint=$(snakemake --lint 2>&1) || { echo "$lint"; exit 1; }
echo "$lint" | grep -q "Congratulations" || { echo "$lint"; exit 1; }
echo "== pytest"
# As root (CI), the SLURM end-to-end test must run, not skip.
if [ "$(id -u)" = 0 ]; then export HAPLEXPR_REQUIRE_SLURM=1; fi
# Chromium was installed above: the report's browser test must run, not skip.
export HAPLEXPR_REQUIRE_BROWSER=1
# Two workers (CI has 2 cores; many tests wait on Snakemake or leave one core idle), one file
# per worker, the longest end-to-end files first (tests/conftest.py).
pytest -n 2 --dist loadfile --no-loadscope-reorder -ra "$@"
echo "tests finished in $(( $(date +%s) - start )) s"
