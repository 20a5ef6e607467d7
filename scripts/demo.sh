#!/usr/bin/env bash
# Set up .venv (CPU-only) and run the whole pipeline (`all`) on the embedded demo data.
# Extra arguments go to snakemake, e.g. `bash scripts/demo.sh --cores 4`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
start=$(date +%s)
.venv/bin/snakemake --profile profiles/local --cores "${CORES:-2}" all "$@"
.venv/bin/haplexpr metrics results/metrics
echo "demo finished in $(( $(date +%s) - start )) s: report at $(pwd)/results/report/report.html"
