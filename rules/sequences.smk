# Personal sequences: the reference windows once, then both haplotypes of every individual
# over every gene window, one job per shard of individuals, stored as edits of those windows.


rule sequences_reference:
    input:
        reference=REFERENCE,
        table=config["data"]["partition_table"],
    output:
        fasta="results/sequences/reference.fa.gz",
        fai="results/sequences/reference.fa.gz.fai",
        gzi="results/sequences/reference.fa.gz.gzi",
        table="results/sequences/reference.tsv",
    log:
        "results/logs/sequences/reference.log",
    benchmark:
        "results/benchmarks/sequences/reference.tsv"
    conda:
        "../envs/bcftools.yaml"
    resources:
        **cpu_resources(),
        mem_mb=2000,
        runtime=60,
    params:
        # rerun trigger, read by no script (ConsensusSettings.from_config)
        window_length=CONSENSUS.window_length,
    script:
        "../workflow_scripts/sequences_reference.py"


rule sequences_consensus:
    input:
        **vcf_files(),
        reference=REFERENCE,
        table=config["data"]["partition_table"],
    output:
        "results/sequences/{shard}.haplotypes.npz",
    log:
        "results/logs/sequences/{shard}.log",
    benchmark:
        "results/benchmarks/sequences/{shard}.tsv"
    conda:
        "../envs/bcftools.yaml"
    threads: 2
    resources:
        **cpu_resources(),
        # fast engine: one VCF pass per chromosome; memory grows with records x individuals
        # of the shard
        mem_mb=8000,
        runtime=240,
    params:
        samples=lambda wildcards: SEQUENCE_SHARDS[wildcards.shard],
        chroms=list(VCF_SOURCES),
        # rerun triggers, read by no script (ConsensusSettings.from_config)
        window_length=CONSENSUS.window_length,
        engine=CONSENSUS.options.engine,
        missing=CONSENSUS.options.missing,
        variants=CONSENSUS.options.variants,
        unphased=CONSENSUS.options.unphased,
    script:
        "../workflow_scripts/sequences_consensus.py"
