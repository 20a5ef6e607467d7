#!/usr/bin/env bash
# Build the real-data study (GRCh37 chr22: 1000 Genomes genotypes, Geuvadis expression, from
# Debian's qtltools-example and hisat2 packages) and run `all` on it in runs/geuvadis_chr22/.
# Extra arguments go to snakemake, e.g. `bash scripts/realdata.sh --cores 4`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_system_deps.sh --realdata
bash scripts/setup.sh
start=$(date +%s)
.venv/bin/python data/geuvadis_chr22/build.py
run=runs/geuvadis_chr22
mkdir -p "$run"
ln -sfn ../../data "$run/data"
cp config/geuvadis_chr22.yaml "$run/config.yaml"
(cd "$run" && ../../.venv/bin/snakemake --snakefile ../../Snakefile --profile ../../profiles/local \
    --cores "${CORES:-2}" all "$@")
.venv/bin/haplexpr metrics "$run/results/metrics"
echo "real-data study finished in $(( $(date +%s) - start )) s: report at $(pwd)/$run/results/report/report.html"
