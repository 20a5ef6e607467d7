# The self-contained HTML report across every model, strategy and stage.


rule report_html:
    input:
        summaries=metrics_targets(),
        per_gene=[t.replace(".tsv", ".per_gene.tsv") for t in metrics_targets()],
        predictions=prediction_targets(),
        comparisons="results/metrics/comparisons.tsv",
        heritability=heritability_targets(),
        train_logs=[f"results/training/{m}/{s}/train_log.tsv" for m, s in TRAINED_RUNS],
        effects=[f"results/effects/{m}/{s}.tsv" for m, s in effect_runs()],
        checks=effect_targets(),
    output:
        report(
            "results/report/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        **cpu_resources(),
        mem_mb=2000,
        runtime=30,
    params:
        runs=[f"{m}/{s}" for m, s in RUNS],
        trained=[f"{m}/{s}" for m, s in TRAINED_RUNS],
        models=config["models"],
        data_description=config["data"]["description"],
        effect_runs=[f"{m}/{s}" for m, s in effect_runs()],
    script:
        "../workflow_scripts/report_html.py"
