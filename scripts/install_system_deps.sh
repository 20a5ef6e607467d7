#!/usr/bin/env bash
# Install the Debian packages haplexpr needs, if they are missing (idempotent).
#
#   scripts/install_system_deps.sh            # bcftools, tabix, samtools
#   scripts/install_system_deps.sh --slurm    # ... plus slurm-wlm and munge (SLURM tests)
#   scripts/install_system_deps.sh --browser  # ... plus chromium (the report's browser test)
#   scripts/install_system_deps.sh --realdata # ... plus package lists that know the Debian packages
#                                             # the real-data builder and tests download
#
# Prints nothing and exits 0 when everything is already present (root or not). A package
# counts as present when dpkg lists it as installed or its main binary is on PATH (e.g. from
# conda). Missing packages are installed with apt-get (one `apt-get update` first), via sudo
# when not root.
set -euo pipefail

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0"
}

want_slurm=0
want_browser=0
want_realdata=0
for arg in "$@"; do
    case "$arg" in
        --slurm) want_slurm=1 ;;
        --browser) want_browser=1 ;;
        --realdata) want_realdata=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install_system_deps.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

# package:binary that proves it is there
wanted=(bcftools:bcftools tabix:tabix samtools:samtools)
if [ "$want_slurm" = 1 ]; then
    wanted+=(slurm-wlm:slurmctld munge:munged)
fi
if [ "$want_browser" = 1 ]; then
    wanted+=(chromium:chromium)
fi

have_binary() {
    # sbin dirs are often missing from a non-root PATH
    PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1
}

dpkg_installed() {
    command -v dpkg-query >/dev/null 2>&1 &&
        dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for entry in "${wanted[@]}"; do
    pkg=${entry%%:*}
    bin=${entry#*:}
    if ! dpkg_installed "$pkg" && ! have_binary "$bin"; then
        missing+=("$pkg")
    fi
done

# apt-get download (the real-data builder) needs package lists that know its packages.
stale_lists=0
if [ "$want_realdata" = 1 ] && command -v apt-cache >/dev/null 2>&1 &&
    ! apt-cache show qtltools-example hisat2 shapeit4-example vt-examples >/dev/null 2>&1; then
    stale_lists=1
fi

[ "${#missing[@]}" -eq 0 ] && [ "$stale_lists" = 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_system_deps.sh: missing ${missing[*]}, and apt-get is not available;" \
        "install them with your system's package manager (or conda)." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install_system_deps.sh: missing ${missing[*]}; run as root (or install sudo)." >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
[ "${#missing[@]}" -eq 0 ] && exit 0
echo "install_system_deps.sh: installing ${missing[*]}" >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
