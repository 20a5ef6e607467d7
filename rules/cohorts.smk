# New cohorts (config cohorts): their VCFs through the study's download, normalisation and
# checks, their personal sequences over the study's gene windows (and each computed gLM's
# embeddings of them), then every run's predictions for their individuals, each gene with
# the study's held-out evidence. The study's own rules, pointed at the cohort's files.


use rule vcf_download as cohorts_vcf_download with:
    output:
        "results/cohorts/{cohort}/vcf/download/{chrom}.vcf.gz",
    log:
        "results/logs/cohorts/{cohort}/vcf/download/{chrom}.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/vcf/download/{chrom}.tsv"
    params:
        url=lambda wildcards: COHORTS[wildcards.cohort].vcf_sources[wildcards.chrom].url,
        md5=lambda wildcards: COHORTS[wildcards.cohort].vcf_sources[wildcards.chrom].md5,


use rule vcf_normalise as cohorts_vcf_normalise with:
    input:
        unpack(cohort_vcf_normalise_inputs),
    output:
        vcf="results/cohorts/{cohort}/vcf/{chrom}.vcf.gz",
    log:
        "results/logs/cohorts/{cohort}/vcf/{chrom}.normalise.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/vcf/{chrom}.normalise.tsv"
    params:
        samples=lambda wildcards: list(COHORTS[wildcards.cohort].samples),
        # rerun triggers, read by no script (VariantSettings, ConsensusSettings.from_config)
        contig_map=VARIANTS.contig_map,
        harmonise_contigs=VARIANTS.harmonise_contigs,
        normalise=CONSENSUS.normalise,


use rule vcf_index as cohorts_vcf_index with:
    input:
        vcf="results/cohorts/{cohort}/vcf/{chrom}.vcf.gz",
        reference=REFERENCE,
    output:
        index="results/cohorts/{cohort}/vcf/{chrom}.vcf.gz.csi",
        report="results/cohorts/{cohort}/vcf/{chrom}.check.json",
    log:
        "results/logs/cohorts/{cohort}/vcf/{chrom}.index.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/vcf/{chrom}.index.tsv"
    params:
        samples=lambda wildcards: list(COHORTS[wildcards.cohort].samples),
        # rerun triggers, read by no script (ConsensusOptions.from_config)
        unphased=CONSENSUS.options.unphased,
        missing=CONSENSUS.options.missing,


use rule sequences_consensus as cohorts_sequences_consensus with:
    input:
        unpack(cohort_vcf_files),
        reference=REFERENCE,
        table=config["data"]["partition_table"],
    output:
        "results/cohorts/{cohort}/sequences/{shard}.haplotypes.npz",
    log:
        "results/logs/cohorts/{cohort}/sequences/{shard}.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/sequences/{shard}.tsv"
    params:
        samples=lambda wildcards: COHORT_SEQUENCE_SHARDS[wildcards.cohort][
            wildcards.shard
        ],
        chroms=list(VCF_SOURCES),
        # rerun triggers, read by no script (ConsensusSettings.from_config)
        window_length=CONSENSUS.window_length,
        engine=CONSENSUS.options.engine,
        missing=CONSENSUS.options.missing,
        variants=CONSENSUS.options.variants,
        unphased=CONSENSUS.options.unphased,


use rule embeddings_compute as cohorts_embeddings_compute with:
    input:
        unpack(
            lambda wildcards: cohort_store_files(
                wildcards.cohort,
                COHORT_EMBEDDING_SHARDS[wildcards.cohort, wildcards.model][
                    wildcards.shard
                ].individuals,
            )
        ),
    output:
        array="results/cohorts/{cohort}/embeddings/{model}/{shard}.npy",
        index="results/cohorts/{cohort}/embeddings/{model}/{shard}.json",
    log:
        "results/logs/cohorts/{cohort}/embeddings/{model}/{shard}.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/embeddings/{model}/{shard}.tsv"
    params:
        individuals=lambda wildcards: list(
            COHORT_EMBEDDING_SHARDS[wildcards.cohort, wildcards.model][
                wildcards.shard
            ].individuals
        ),
        genes=None,  # each individual's: the genes the study predicts for individuals
        embedder=embedder_params,
        device=config["training"]["device"],


use rule predictions_s2f as cohorts_predictions_s2f with:
    input:
        unpack(cohort_prediction_inputs),
    output:
        "results/cohorts/{cohort}/predictions/{model}/{strategy}.parquet",
    log:
        "results/logs/cohorts/{cohort}/predictions/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/predictions/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="r|p|rp|zs",
        model=alternatives(S2F_MODELS),
    params:
        settings=model_settings,
        individuals=lambda wildcards: list(COHORTS[wildcards.cohort].samples),


use rule predictions_tower as cohorts_predictions_tower with:
    input:
        unpack(cohort_prediction_inputs),
    output:
        "results/cohorts/{cohort}/predictions/{model}/{strategy}.parquet",
    log:
        "results/logs/cohorts/{cohort}/predictions/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/predictions/{model}/{strategy}.tsv"
    params:
        settings=model_settings,
        individuals=lambda wildcards: list(COHORTS[wildcards.cohort].samples),


rule cohorts_elastic_net:
    input:
        unpack(cohort_vcf_files),
        reference=REFERENCE,
        table=config["data"]["partition_table"],
        heritability="results/predictions/elastic_net/heritability.tsv",
        weights="results/predictions/elastic_net/weights.tsv",
    output:
        "results/cohorts/{cohort}/predictions/elastic_net/p.parquet",
    log:
        "results/logs/cohorts/{cohort}/predictions/elastic_net/p.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/predictions/elastic_net/p.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        **cpu_resources(),
        mem_mb=4000,
        runtime=60,
    params:
        samples=lambda wildcards: list(COHORTS[wildcards.cohort].samples),
        chroms=list(VCF_SOURCES),
    script:
        "../workflow_scripts/cohorts_elastic_net.py"


rule cohorts_table:
    input:
        predictions="results/cohorts/{cohort}/predictions/{model}/{strategy}.parquet",
        per_gene="results/metrics/{model}/{strategy}.per_gene.tsv",
    output:
        wide="results/cohorts/{cohort}/{model}/{strategy}.tsv",
        long="results/cohorts/{cohort}/{model}/{strategy}.long.tsv",
    log:
        "results/logs/cohorts/{cohort}/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/cohorts/{cohort}/{model}/{strategy}.tsv"
    wildcard_constraints:
        model=alternatives(sorted({m for m, _ in COHORT_RUNS})),
    conda:
        "../envs/analysis.yaml"
    resources:
        **cpu_resources(),
        mem_mb=4000,
        runtime=30,
    params:
        samples=lambda wildcards: list(COHORTS[wildcards.cohort].samples),
        usable_q_value=config["evaluation"]["usable_q_value"],
    script:
        "../workflow_scripts/cohorts_table.py"
