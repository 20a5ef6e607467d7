"""``unphased: iupac`` on real unphased genotypes: both engines against bcftools 1.24.

Debian's ``shapeit4-example`` ships ``unphased.vcf.gz``: 203 EUR individuals of the 1000
Genomes Project on GRCh37 chromosome 20, 1-4 Mb (24,990 biallelic records, 1,320 of them
indels), with 570 real unphased heterozygous calls (0/1; also 0/0 and 1/1 written
unphased) among phased ones; ``vt-examples`` ships GRCh37 chromosome 20
(``20.fa.gz``). Both are fetched with ``apt-get download`` into the real-data package cache
and checked by SHA-256 (``haplexpr.realdata.debian``). The reference is cut to the VCF's
first 4.1 Mb (same coordinates) to keep the test quick; the windows are 1-kb stretches
around unphased heterozygous calls, spread over the region, and the samples those who
have such calls plus a few with phased calls only.
"""

from __future__ import annotations

import gzip
import shutil
from collections import Counter

import pysam
import pytest
from support import ROOT
from support.consensus_parity import (
    ENGINES,
    InputFiles,
    Outcome,
    ParityInput,
    all_jobs,
    compare,
    run_bcftools,
)

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.coordinates import Interval
from haplexpr.realdata.debian import PackageFile, extract
from haplexpr.sequences.personal_sequences import window_sequences

PACKAGES = ROOT / "data" / "geuvadis_chr22" / "packages"
EXAMPLES = "/usr/share/doc/shapeit4/examples/test"
VT = "/usr/share/doc/vt/examples/ref"
FILES = {
    "vcf": PackageFile("shapeit4-example", f"{EXAMPLES}/unphased.vcf.gz",
                       "224996c591e445e62fc02dad6660545a012d903de5f5627565eb91524690cd2f"),
    "csi": PackageFile("shapeit4-example", f"{EXAMPLES}/unphased.vcf.gz.csi",
                       "b037b46e15d8e196474365dcc4e2eb02f7e74d1ab98917a1a7fb0794a59dce2d"),
    "fasta": PackageFile("vt-examples", f"{VT}/20.fa.gz",
                         "83c80b3fb23822ff0a66f26306e46f5db3c83d48fcff68bcddc353a3d8ef581b"),
    "fai": PackageFile("vt-examples", f"{VT}/20.fa.gz.fai",
                       "9d25ad9f68b9deeff4a681d2315930ed3ac8a788d873e6fcf9e91c1c1755cabd"),
    "gzi": PackageFile("vt-examples", f"{VT}/20.fa.gz.gzi.gz",
                       "6ca284e4a1d18141d0a1e83e8ba06070abeed8a1478c516d7204a585e9fb65dd"),
}  # fmt: skip
CONTIG_END = 4_100_000
N_WINDOWS = 40
N_PHASED_SAMPLES = 3
HALF_WINDOW = 500


@pytest.fixture(scope="module")
def real_inputs(tmp_path_factory) -> tuple[InputFiles, list[str], list[Interval]]:
    """The package files, a 4.1-Mb chromosome-20 FASTA, samples and windows."""
    folder = tmp_path_factory.mktemp("shapeit4")
    found = {key: extract(wanted, PACKAGES, folder) for key, wanted in FILES.items()}
    with gzip.open(found["gzi"]) as packed, open(folder / "20.fa.gz.gzi", "wb") as out:
        shutil.copyfileobj(packed, out)
    reference = folder / "chr20_4mb.fa"
    with pysam.FastaFile(str(found["fasta"])) as fasta:
        reference.write_text(f">20\n{fasta.fetch('20', 0, CONTIG_END)}\n")
    pysam.faidx(str(reference))
    vcf = found["vcf"]

    carriers: set[str] = set()
    sites: list[int] = []
    with pysam.VariantFile(str(vcf)) as records:
        names = list(records.header.samples)
        for record in records:
            for name, call in record.samples.items():
                if not call.phased and len(set(call["GT"])) > 1:
                    carriers.add(name)
                    sites.append(record.start)
    assert len(sites) == 570, "another shapeit4-example than the one this test describes"
    phased = [name for name in names if name not in carriers][:N_PHASED_SAMPLES]
    step = len(sites) // N_WINDOWS
    windows = sorted(
        {Interval("20", pos - HALF_WINDOW, pos + HALF_WINDOW) for pos in sites[::step]},
        key=lambda w: w.start,
    )
    region_fasta = folder / "windows.fa"
    with pysam.FastaFile(str(reference)) as fasta, region_fasta.open("w") as out:
        for window in windows:
            out.write(f">{window.to_region()}\n{fasta.fetch('20', window.start, window.end)}\n")
    return InputFiles(reference, vcf, region_fasta), sorted(carriers) + phased, windows


@pytest.mark.parametrize("variants", ["all", "snvs"])
def test_iupac_on_real_unphased_genotypes(real_inputs, variants):
    files, samples, windows = real_inputs
    with pysam.FastaFile(str(files.reference)) as fasta:
        contig = {"20": fasta.fetch("20")}
    data = ParityInput(contig, tuple(samples), (), tuple(windows))  # messages list no records
    jobs = all_jobs(data, "N", variants, "iupac")
    outcome: Outcome = run_bcftools(files, jobs, data.windows)
    assert not outcome.failures, outcome.failures
    codes = Counter(b for seqs in outcome.sequences.values() for s in seqs for b in s.upper())
    assert sum(codes[c] for c in "RYKMSW") >= len(windows), codes  # IUPAC codes were written
    for engine in ENGINES:
        actual = window_sequences(
            files.reference, files.vcf, samples, windows,
            ConsensusOptions(engine, variants, missing="N", unphased="iupac"),
        )  # fmt: skip
        problems = compare(data, outcome, actual)
        assert not problems, f"{engine} engine:\n" + "\n\n".join(problems[:3])
