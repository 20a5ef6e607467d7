# Download the phased VCFs (resumable, verified), normalise them against the reference
# (contig names, split multi-allelics, left-align indels, drop symbolic/* records), then
# check them against the reference and the study samples and index them with bcftools.


rule vcf_download:
    output:
        "results/vcf/download/{chrom}.vcf.gz",
    log:
        "results/logs/vcf/download/{chrom}.log",
    benchmark:
        "results/benchmarks/vcf/download/{chrom}.tsv"
    conda:
        "../envs/bcftools.yaml"
    resources:
        **cpu_resources(),
        mem_mb=1000,
        runtime=240,
    params:
        url=lambda wildcards: VCF_SOURCES[wildcards.chrom].url,
        md5=lambda wildcards: VCF_SOURCES[wildcards.chrom].md5,
    script:
        "../workflow_scripts/vcf_download.py"


rule vcf_normalise:
    input:
        unpack(vcf_normalise_inputs),
    output:
        vcf="results/vcf/{chrom}.vcf.gz",
    log:
        "results/logs/vcf/{chrom}.normalise.log",
    benchmark:
        "results/benchmarks/vcf/{chrom}.normalise.tsv"
    conda:
        "../envs/bcftools.yaml"
    resources:
        **cpu_resources(),
        mem_mb=2000,
        runtime=240,
    params:
        samples=STUDY.individuals,
        # rerun triggers, read by no script (VariantSettings, ConsensusSettings.from_config)
        contig_map=VARIANTS.contig_map,
        harmonise_contigs=VARIANTS.harmonise_contigs,
        normalise=CONSENSUS.normalise,
    script:
        "../workflow_scripts/vcf_normalise.py"


rule vcf_index:
    input:
        vcf="results/vcf/{chrom}.vcf.gz",
        reference=REFERENCE,
    output:
        index="results/vcf/{chrom}.vcf.gz.csi",
        report="results/vcf/{chrom}.check.json",
    log:
        "results/logs/vcf/{chrom}.index.log",
    benchmark:
        "results/benchmarks/vcf/{chrom}.index.tsv"
    conda:
        "../envs/bcftools.yaml"
    resources:
        **cpu_resources(),
        mem_mb=2000,
        runtime=120,
    params:
        samples=STUDY.individuals,
        # rerun triggers, read by no script (ConsensusOptions.from_config)
        unphased=CONSENSUS.options.unphased,
        missing=CONSENSUS.options.missing,
    script:
        "../workflow_scripts/vcf_index.py"
