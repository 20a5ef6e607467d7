"""Bad inputs given to the CLI: VCFs to ``haplexpr sequence`` (the pipeline's checks on one
indexed region), trained models and embedding shards to ``haplexpr inspect`` (the checks
the pipeline makes when it reads them): exit status 1, a message naming the file, the
record and the fix, nothing on stdout and nothing written next to the inputs.
"""

from __future__ import annotations

import gzip
import os

import pysam
import pytest
from support.pipeline_runs import file_listing
from torch import nn

from haplexpr.cli import main
from haplexpr.embeddings.computed import compute_embeddings
from haplexpr.training.checkpoints import save_weights

DEMO_VCF = "data/demo/vcf/demo.chr1.vcf.gz"
REFERENCE = "data/demo/reference.fa"


def write_vcf(workdir, edit=lambda lines: lines, index=True):
    """``calls.vcf.gz``: the demo's chromosome 1 after ``edit(lines)``, bgzipped (+ CSI)."""
    lines = gzip.decompress((workdir / DEMO_VCF).read_bytes()).decode().splitlines(True)
    plain = workdir / "calls.vcf"
    plain.write_text("".join(edit(lines)))
    path = workdir / "calls.vcf.gz"
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    if index:
        pysam.tabix_index(str(path), preset="vcf", csi=True, force=True)
    return path


def records_at(edit_one, number):
    """Apply ``edit_one(fields) -> fields`` to data record ``number`` (1-based)."""

    def edit(lines):
        at = [i for i, line in enumerate(lines) if not line.startswith("#")][number - 1]
        lines[at] = "\t".join(edit_one(lines[at].rstrip("\n").split("\t"))) + "\n"
        return lines

    return edit


def duplicate_first_sample(lines):
    at = next(i for i, line in enumerate(lines) if line.startswith("#CHROM"))
    names = lines[at].rstrip("\n").split("\t")
    names[10] = names[9]
    lines[at] = "\t".join(names) + "\n"
    return lines


def truncated(workdir):
    path = write_vcf(workdir)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def stale_index(workdir):
    path = write_vcf(workdir)
    index = workdir / "calls.vcf.gz.csi"
    os.utime(index, (path.stat().st_mtime - 60,) * 2)
    return path


# case: (builds the bad VCF in the working directory, message fragments)
CASES = {
    "vcf: malformed line": (
        lambda workdir: write_vcf(workdir, records_at(lambda fields: fields[:5], 2)),
        [
            "calls.vcf.gz: record 2 (1:112): sample HG00125 has no genotype: the record has no "
            "FORMAT and sample columns; is the line malformed"
        ],
    ),  # fmt: skip
    "vcf: truncated BGZF": (
        truncated,
        ["calls.vcf.gz: no BGZF end-of-file block: the file is truncated", "download it again"],
    ),
    "vcf: missing index": (
        lambda workdir: write_vcf(workdir, index=False),
        ["calls.vcf.gz: cannot fetch 1:1-3000", "index it with bcftools index"],
    ),
    "vcf: stale index": (
        stale_index,
        ["calls.vcf.gz.csi is older than", "rebuild it with bcftools index -f"],
    ),
    "vcf: duplicate samples": (
        lambda workdir: write_vcf(workdir, duplicate_first_sample),
        [
            "calls.vcf.gz: samples listed twice in the header: HG00125",
            "bcftools reheader --samples",
        ],
    ),  # fmt: skip
    "vcf: non-diploid ploidy": (
        lambda workdir: write_vcf(
            workdir, records_at(lambda fields: [*fields[:9], "0|1|1", *fields[10:]], 1)
        ),
        [
            "calls.vcf.gz: record 1 (1:57): sample HG00125 has a genotype of 3 alleles",
            "must be haploid or diploid",
        ],
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_vcf_stops_the_cli(workdir, capsys, case):
    build, fragments = CASES[case]
    vcf = build(workdir)
    before = file_listing(workdir)
    status = main(
        ["sequence", "--reference", str(workdir / REFERENCE), "--vcf", str(vcf),
         "--sample", "HG00125", "--haplotype", "1", "--region", "1:1-3000"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 1
    assert err.startswith(f"haplexpr sequence: {vcf}"), err
    for fragment in fragments:
        assert fragment in err, err
    assert out == ""
    assert file_listing(workdir) == before


def checkpoint(workdir, architecture="enformer"):
    path = workdir / "results" / "models" / "enformer" / "r" / "model.pt"
    save_weights(path, nn.Linear(4, 1), {"epochs": 1}, architecture)
    return path


def cut_checkpoint(workdir):
    path = checkpoint(workdir)
    path.write_bytes(path.read_bytes()[:300])
    return path


def shard(workdir, store):
    """A real embedding shard (one-hot stand-in gLM) of the shared test store."""
    folder = workdir / "results" / "embeddings" / "nt"
    array = folder / "shard000.npy"
    config = {"architecture": "caduceus", "input_length": 64, "batch_size": 4}  # a base, a state
    compute_embeddings(store, store.individuals(), config, array, folder / "shard000.json", "cpu")
    return array


def cut_shard(workdir, store):
    path = shard(workdir, store)
    path.write_bytes(path.read_bytes()[:-8])
    return path


def flip_shard_byte(workdir, store):
    path = shard(workdir, store)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    return path


# case: (builds the bad file, extra arguments, message fragments)
FILES = {
    "checkpoint: corrupt file": (
        lambda workdir, store: cut_checkpoint(workdir),
        [],
        [
            "model.pt is damaged or not a PyTorch checkpoint",
            "delete it and rerun: Snakemake retrains it",
        ],
    ),  # fmt: skip
    "checkpoint: wrong architecture": (
        lambda workdir, store: checkpoint(workdir, architecture="nucleotide_transformer"),
        ["--architecture", "enformer"],
        [
            "model.pt holds the weights of a nucleotide_transformer model, not of enformer",
            "delete it and rerun",
        ],
    ),  # fmt: skip
    "store: truncated shard": (
        cut_shard,
        [],
        [
            "shard000.npy is damaged (",
            "bytes, expected",
            "delete",
            "and rerun the job that wrote it (embeddings_compute",
        ],
    ),  # fmt: skip
    "store: checksum mismatch": (
        flip_shard_byte,
        [],
        ["shard000.npy is damaged (its data's CRC-32 is not the", "rerun the job that wrote it"],
    ),
}


@pytest.mark.parametrize("case", list(FILES))
def test_damaged_results_are_named_by_inspect(workdir, capsys, fake, shared_store, case):
    build, extra, fragments = FILES[case]
    path = build(workdir, shared_store)
    before = file_listing(workdir)
    capsys.readouterr()
    status = main(["inspect", str(path), *extra])
    out, err = capsys.readouterr()
    assert status == 1
    assert err.startswith(f"haplexpr inspect: {path}") or f"shard {path}" in err, err
    for fragment in fragments:
        assert fragment in err, err
    assert out == ""
    assert file_listing(workdir) == before


@pytest.mark.parametrize("kind", ["checkpoint", "shard"])
def test_inspect_describes_sound_files(workdir, capsys, fake, shared_store, kind):
    path = checkpoint(workdir) if kind == "checkpoint" else shard(workdir, shared_store)
    assert main(["inspect", str(path), "--architecture", "enformer"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: ")
    assert ("enformer, 2 tensors, 5 values" if kind == "checkpoint" else "(float16) of") in out
