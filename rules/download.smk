# Download the phased VCFs (resumable, verified), then check them against the reference
# and the study samples and index them with bcftools.


rule vcf_download:
    output:
        "results/vcf/{chrom}.vcf.gz",
    log:
        "results/logs/vcf/{chrom}.download.log",
    benchmark:
        "results/benchmarks/vcf/{chrom}.download.tsv"
    conda:
        "../envs/bcftools.yaml"
    resources:
        mem_mb=500,
        runtime=240,
    params:
        url=lambda wildcards: VCF_SOURCES[wildcards.chrom].url,
        md5=lambda wildcards: VCF_SOURCES[wildcards.chrom].md5,
    script:
        "../workflow_scripts/vcf_download.py"


rule vcf_index:
    input:
        vcf="results/vcf/{chrom}.vcf.gz",
        reference=config["data"]["reference"],
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
        mem_mb=1000,
        runtime=120,
    params:
        samples=STUDY.individuals,
    script:
        "../workflow_scripts/vcf_index.py"
