#!/usr/bin/env bash
# Post-deploy script of every env (envs/<env>.post-deploy.sh links here): Snakemake runs it
# once, inside the new env, from its working directory (the haplexpr checkout). Installs
# haplexpr itself, editable and without dependencies (the env pins those), so the rules'
# scripts import the library; HAPLEXPR_SOURCE names the checkout when run from elsewhere.
set -euo pipefail
source_dir=${HAPLEXPR_SOURCE:-$PWD}
if [ ! -f "$source_dir/src/haplexpr/__init__.py" ]; then
    echo "install-haplexpr.sh: $source_dir is not a haplexpr checkout; run snakemake" \
        "from the checkout or set HAPLEXPR_SOURCE to it" >&2
    exit 1
fi
python -m pip install --no-deps -e "$source_dir"
