# Metrics per (model, strategy), and the comparisons between them.


rule metrics_evaluate:
    input:
        predictions="results/predictions/{model}/{strategy}.parquet",
        table=config["data"]["partition_table"],
    output:
        summary=report(
            "results/metrics/{model}/{strategy}.tsv",
            caption="../report/metrics.rst",
            category="Metrics",
        ),
        per_gene="results/metrics/{model}/{strategy}.per_gene.tsv",
    log:
        "results/logs/metrics/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/metrics/{model}/{strategy}.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        **cpu_resources(),
        mem_mb=4000,
        runtime=30,
    params:
        settings=config["evaluation"],
        seed=config["training"]["seed"],
        kind=lambda wildcards: (
            "genotype_baseline"
            if wildcards.model in config["baselines"]
            else "sequence_model"
        ),
    script:
        "../workflow_scripts/metrics_evaluate.py"


rule metrics_compare:
    input:
        summaries=metrics_targets(),
        per_gene=[t.replace(".tsv", ".per_gene.tsv") for t in metrics_targets()],
    output:
        report(
            "results/metrics/comparisons.tsv",
            caption="../report/comparisons.rst",
            category="Metrics",
        ),
    log:
        "results/logs/metrics/comparisons.log",
    benchmark:
        "results/benchmarks/metrics/comparisons.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        **cpu_resources(),
        mem_mb=2000,
        runtime=30,
    params:
        runs=[f"{m}/{s}" for m, s in RUNS],
        bootstrap=config["evaluation"]["bootstrap"],
        seed=config["training"]["seed"],
    script:
        "../workflow_scripts/metrics_compare.py"
