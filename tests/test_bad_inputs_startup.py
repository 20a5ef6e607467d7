"""Bad config, study tables and reference, caught by the start-up checks that Snakemake runs
before it builds the DAG (each case through ``haplexpr check``, which runs the same
function in-process, and one of each kind through ``snakemake -n``), or by the rule that
reads the reference's bases: a non-zero exit, a message naming the file, line or key and
the fix, and nothing written (the working directory is left as it was).
"""

from __future__ import annotations

import gzip
import logging
import re

import pytest
from support import ROOT
from support.pipeline_runs import edit_config, file_listing, snakemake

from haplexpr.cli import main

TABLE = "data/demo/all_partition_data.csv.gz"
REFERENCE = "data/demo/reference.fa"
FIX_CONFIG = "fix it in the config file"
FIX_TABLE = "fix the table (schema: haplexpr/schemas/partition_table.schema.yaml)"
SITES_ONLY = "ALL.phase1_release_v3.20101123.snps_indels_sv.sites.gdid.gdannot.v2.vcf.gz"
GEUVADIS = (
    "https://www.ebi.ac.uk/biostudies/files/E-GEUV-1/E-GEUV-1/genotypes/"
    "GEUVADIS.chr{}.PH1PH2_465.IMPFRQFILT_BIALLELIC_PH.annotv2.genotypes.vcf.gz"
)


def both(*edits):
    def apply(workdir):
        for edit in edits:
            edit(workdir)

    return apply


def config_edit(edit):
    return lambda workdir: edit_config(workdir, edit)


def set_key(section, key, value):
    return config_edit(lambda config: config[section].__setitem__(key, value))


def table_edit(edit):
    """Apply ``edit(rows) -> rows`` to the partition table's lines (header first)."""

    def apply(workdir):
        path = workdir / TABLE
        rows = gzip.decompress(path.read_bytes()).decode().splitlines()
        path.write_bytes(gzip.compress(("\n".join(edit(rows)) + "\n").encode()))

    return apply


def set_cell(line, column, value):
    """Set one cell of the table (``line`` 1-based, the header is line 1)."""

    def edit(rows):
        header = rows[0].split(",")
        cells = rows[line - 1].split(",")
        cells[header.index(column)] = value
        rows[line - 1] = ",".join(cells)
        return rows

    return table_edit(edit)


def drop_column(column):
    def edit(rows):
        at = rows[0].split(",").index(column)
        return [",".join(c for i, c in enumerate(r.split(",")) if i != at) for r in rows]

    return table_edit(edit)


def first_gene_rows(edit_cells):
    """Apply ``edit_cells(cells)`` to every row of the table's first gene."""

    def edit(rows):
        gene = rows[1].split(",")[2]
        for number, row in enumerate(rows):
            cells = row.split(",")
            if cells[2] == gene:
                edit_cells(cells)
                rows[number] = ",".join(cells)
        return rows

    return table_edit(edit)


def append_line(name, line):
    def apply(workdir):
        path = workdir / "data" / "demo" / name
        path.write_text(path.read_text() + line + "\n")

    return apply


def first_line(name):
    return lambda workdir: (workdir / "data" / "demo" / name).read_text().split()[0]


def edit_reference(edit):
    """Rewrite the demo FASTA's text with ``edit(text) -> text``."""

    def apply(workdir):
        path = workdir / REFERENCE
        path.write_text(edit(path.read_text()))

    return apply


def gzip_reference(workdir):
    path = workdir / REFERENCE
    (workdir / f"{REFERENCE}.gz").write_bytes(gzip.compress(path.read_bytes()))
    edit_config(workdir, lambda config: config["data"].__setitem__("reference", f"{REFERENCE}.gz"))


def shorten_first_line(text):
    """Drop one base from contig 1's first sequence line: contig 2's offset is now stale."""
    header, rest = text.split("\n", 1)
    return f"{header}\n{rest[1:]}"


def base_in_window(text, base):
    """Put ``base`` at the TSS of the table's first gene (contig 1, 1-based 23,329)."""
    header, rest = text.split("\n", 1)
    at = 23_329 - 1
    at += at // 60  # 60 bases per line, each line ends with \n
    return f"{header}\n{rest[:at]}{base}{rest[at + 1 :]}"


def lowercase_sequence(text):
    return "\n".join(line if line.startswith(">") else line.lower() for line in text.split("\n"))


# case: (edit of the working directory, message fragments)
STARTUP = {
    "config: unknown key": (
        set_key("data", "partition_tabel", TABLE),
        [
            "config key data: Additional properties are not allowed ('partition_tabel' was "
            "unexpected)",
            FIX_CONFIG,
        ],
    ),  # fmt: skip
    "config: wrong type": (
        set_key("consensus", "window_length", "4096"),
        ["config key consensus/window_length: '4096' is not of type 'integer'", FIX_CONFIG],
    ),
    "config: missing file": (
        set_key("data", "train_individuals", "data/demo/train.txt"),
        [
            "config data.train_individuals: no such file 'data/demo/train.txt'",
            "fix the path in the config file",
        ],
    ),  # fmt: skip
    "config: unknown model architecture": (
        config_edit(lambda config: config["models"]["nt"].__setitem__("architecture", "hyena")),
        ["config key models/nt/architecture: 'hyena' is not one of", FIX_CONFIG],
    ),
    "config: unknown strategy": (
        config_edit(lambda config: config.__setitem__("strategies", ["r", "q"])),
        ["config key strategies/1: 'q' is not one of ['r', 'p', 'rp']", FIX_CONFIG],
    ),
    "config: window shorter than a model's input": (
        set_key("consensus", "window_length", 1024),
        ["input_length (2048) exceeds consensus.window_length (1024); raise the window"],
    ),
    "table: missing column": (
        drop_column("strand"),
        [f"{TABLE}: missing columns ['strand']", "(config data.target_column)"],
    ),
    "table: NaN target (data.missing_targets: error)": (
        both(set_cell(3, "log_TPM", "NaN"), set_key("data", "missing_targets", "error")),
        [f"{TABLE}: line 3, column log_TPM: 'NaN' is not a finite number", FIX_TABLE],
    ),
    "table: non-numeric target": (
        set_cell(3, "log_TPM", "high"),
        [f"{TABLE}: line 3, column log_TPM: 'high' is not a finite number", FIX_TABLE],
    ),
    "VCF list: a name without a chromosome (data.vcf_unmatched_urls: error)": (
        both(
            append_line("vcf_urls.txt", SITES_ONLY),
            set_key("data", "vcf_unmatched_urls", "error"),
        ),
        [
            f"data/demo/vcf_urls.txt:3: cannot tell the chromosome of '{SITES_ONLY}'",
            "set data.vcf_unmatched_urls: skip to leave such lines out",
        ],
    ),
    "table: duplicate (sample, gene) rows": (
        table_edit(lambda rows: rows[:3] + rows[2:]),
        [
            f"{TABLE}: lines 3 and 4 are both sample HG00125, gene ENSG00000166928; keep one row "
            "per (sample, gene)"
        ],
    ),  # fmt: skip
    "table: TSS outside the contig": (
        first_gene_rows(lambda cells: cells.__setitem__(4, "900000")),
        [
            f"{TABLE}: gene ENSG00000166928: TSS 900000 is outside contig 1 (length 700037)",
            "is data.tss_coordinate_base right",
            f"(reference {REFERENCE})",
        ],
    ),  # fmt: skip
    "table: bad strand": (
        set_cell(5, "strand", "."),
        [f"{TABLE}: line 5, column strand: '.' is not one of +, -", FIX_TABLE],
    ),
    "table: gene in the list but not the table": (
        append_line("random_genes.txt", "ENSG99999999999"),
        [
            "individual-level genes not in the table (or only in rows without a target): "
            "['ENSG99999999999']; add their rows or drop them from data.individual_genes"
        ],
    ),  # fmt: skip
    "table: empty split": (
        set_cell(4, "split", ""),
        [f"{TABLE}: line 4, column split: '' is empty: every row needs a value", FIX_TABLE],
    ),
    "table: individual in both lists": (
        lambda workdir: append_line("train_indivs.txt", first_line("test_indivs.txt")(workdir))(
            workdir
        ),
        [
            "individuals in both train and test lists",
            "remove each from data.train_individuals or data.test_individuals",
        ],
    ),  # fmt: skip
    "reference: contig absent": (
        first_gene_rows(lambda cells: cells.__setitem__(3, "chr7")),
        [
            f"{TABLE}: gene ENSG00000166928: contig 'chr7' is not in the reference",
            "use the same genome build",
        ],
    ),  # fmt: skip
    "reference: missing .fai": (
        lambda workdir: (workdir / f"{REFERENCE}.fai").unlink(),
        [f"{REFERENCE}: no index {REFERENCE}.fai; index the reference with samtools faidx"],
    ),
    "reference: stale .fai": (
        edit_reference(shorten_first_line),
        [
            f"{REFERENCE}: its index {REFERENCE}.fai does not match the file at contig 2",
            f"rebuild the index with samtools faidx {REFERENCE}",
        ],
    ),  # fmt: skip
    "reference: plain gzip instead of bgzip": (
        gzip_reference,
        [
            f"{REFERENCE}.gz is plain gzip, which cannot be read at random positions; "
            "recompress it with bgzip"
        ],
    ),  # fmt: skip
}

# Cases only the rule reading the reference's bases (sequences_reference) can see.
BASES = {
    "reference: lowercase only": (
        edit_reference(lowercase_sequence),
        [
            f"{REFERENCE}: every base of the",
            "gene windows is lowercase (soft-masked)",
            "use the unmasked FASTA",
        ],
    ),  # fmt: skip
    "reference: non-ACGTN character": (
        edit_reference(lambda text: base_in_window(text, "X")),
        [
            f"{REFERENCE}: 'X' at 1:23329 (1-based, in the window of gene ENSG00000166928) is "
            "not a base",
            "use the nucleotide FASTA",
        ],
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(STARTUP))
def test_bad_input_fails_the_startup_checks(workdir, monkeypatch, capsys, case):
    edit, fragments = STARTUP[case]
    edit(workdir)
    before = file_listing(workdir)
    monkeypatch.chdir(workdir)  # config paths are relative to the working directory
    assert main(["check"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("haplexpr check: ")
    for fragment in fragments:
        assert fragment in err, err
    assert out == ""
    assert file_listing(workdir) == before  # nothing written, no index built on the way


@pytest.mark.parametrize(
    "case", ["config: unknown key", "table: duplicate (sample, gene) rows", "reference: stale .fai"]
)
def test_snakemake_stops_on_them_before_any_job(workdir, case):
    edit, fragments = STARTUP[case]
    edit(workdir)
    before = file_listing(workdir)
    result = snakemake(workdir, "-n", "results/vcf/1.vcf.gz.csi")
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in result.stdout + result.stderr, result.stdout + result.stderr
    assert file_listing(workdir) == before


def test_the_demo_passes_the_startup_checks(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("config.yaml: inputs pass the start-up checks")


def test_plan_prints_every_stage_before_anything_runs(monkeypatch, capsys, tmp_path):
    """haplexpr plan on the demo; a sample of unseen genes shrinks what is embedded."""
    monkeypatch.chdir(ROOT)
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    for stage in ("vcf", "sequences", "embeddings", "training", "predictions", "metrics"):
        assert re.search(rf"^{stage}\s", out, re.M), out
    assert "15 unseen" in out and "gLM job limits" in out
    windows = int(re.search(r"^embeddings\s+nt\s+\d+\s+([\d,]+)", out, re.M)[1].replace(",", ""))
    sample = tmp_path / "sample.yaml"
    sample.write_text("evaluation:\n  unseen_genes: 5\n")
    assert main(["plan", "--configfile", str(sample)]) == 0
    fewer = capsys.readouterr().out
    assert "(36 seen + 5 unseen)" in fewer
    sampled = int(re.search(r"^embeddings\s+nt\s+\d+\s+([\d,]+)", fewer, re.M)[1].replace(",", ""))
    assert windows - sampled == 10 * (1 + 2 * 40)  # 10 genes fewer, reference + 40 x 2


def test_config_files_are_laid_over_config_yaml_in_order(monkeypatch, capsys, tmp_path):
    """As snakemake --configfile A B: each file's keys replace those before it, key by key."""
    wrong, right = tmp_path / "wrong.yaml", tmp_path / "right.yaml"
    wrong.write_text("consensus:\n  engine: nonsense\n")
    right.write_text("consensus:\n  engine: bcftools\n")
    monkeypatch.chdir(ROOT)
    assert main(["check", "--configfile", str(wrong), str(right)]) == 0
    assert capsys.readouterr().out.startswith(f"config.yaml + {wrong} + {right}: inputs pass")
    assert main(["check", "--configfile", str(right), str(wrong)]) == 1
    assert "config key consensus/engine: 'nonsense' is not one of" in capsys.readouterr().err


def test_the_seeds_own_url_list_passes_with_its_sites_only_vcf_skipped(
    workdir, monkeypatch, capsys, caplog
):
    """The seed's data/vcf_files/VCF_urls.txt as it is: 22 Geuvadis VCFs, then a sites-only one."""
    seed_list = workdir / "data" / "demo" / "VCF_urls.txt"
    seed_list.write_text("".join(f"{GEUVADIS.format(n)}\n" for n in range(1, 23)) + SITES_ONLY)
    set_key("data", "vcf_urls", "data/demo/VCF_urls.txt")(workdir)
    monkeypatch.chdir(workdir)
    with caplog.at_level(logging.WARNING):
        assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("config.yaml: inputs pass the start-up checks"), err
    chromosomes = ", ".join(str(n) for n in range(1, 23))
    assert out.endswith(
        f"VCFs for chromosomes {chromosomes} (URL lines skipped: 1, data/demo/VCF_urls.txt:23)\n"
    )
    assert (
        f"data/demo/VCF_urls.txt:23: skipped {SITES_ONLY}: a sites-only VCF, which carries no "
        "genotypes (nothing to read)" in caplog.text
    )


def test_missing_targets_are_dropped_and_pass_the_startup_checks(
    workdir, monkeypatch, capsys, caplog
):
    """Empty and NA targets (the demo's ref row and an individual's row) are left out, logged."""
    both(set_cell(2, "log_TPM", ""), set_cell(3, "log_TPM", "NA"))(workdir)
    monkeypatch.chdir(workdir)
    with caplog.at_level(logging.WARNING):
        assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("config.yaml: inputs pass the start-up checks")
    assert (
        f"{TABLE}: left out 2 of 2460 rows whose log_TPM is missing, e.g. (sample, gene) "
        "(ref, ENSG00000166928) line 2, (HG00125, ENSG00000166928) line 3 (config "
        "data.missing_targets: drop; set error to refuse such a table)" in caplog.messages
    )


@pytest.mark.parametrize("case", list(BASES))
def test_bad_reference_bases_stop_the_reference_rule(workdir, case):
    edit, fragments = BASES[case]
    edit(workdir)
    before = file_listing(workdir)
    result = snakemake(workdir, "--cores", "1", "results/sequences/reference.tsv")
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "sequences" / "reference.log").read_text()
    for fragment in fragments:
        assert fragment in log, log
    written = sorted(set(file_listing(workdir)) - set(before))
    assert all(name.startswith(("results/logs/", "results/benchmarks/")) for name in written), (
        written
    )
