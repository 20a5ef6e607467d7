# Personal sequences: bcftools consensus per individual and haplotype over every gene
# window, into one indexed store per individual (the reference is individual "reference").


rule sequences_consensus:
    input:
        unpack(consensus_inputs),
        table=config["data"]["partition_table"],
    output:
        fasta="results/sequences/{individual}.fa.gz",
        fai="results/sequences/{individual}.fa.gz.fai",
        gzi="results/sequences/{individual}.fa.gz.gzi",
        table="results/sequences/{individual}.tsv",
    log:
        "results/logs/sequences/{individual}.log",
    benchmark:
        "results/benchmarks/sequences/{individual}.tsv"
    conda:
        "../envs/bcftools.yaml"
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        window_length=config["consensus"]["window_length"],
        variants=config["consensus"]["variants"],
        tss_base=config["data"]["tss_coordinate_base"],
        chroms=list(VCF_SOURCES),
    script:
        "../workflow_scripts/sequences_consensus.py"
