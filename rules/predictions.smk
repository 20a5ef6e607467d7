# Predictions for every individual and the reference: each trained model, the S2F models'
# zero-shot tracks, and the genotype-only elastic net.


rule predictions_s2f:
    input:
        **store_files(all_individuals()),
        model="results/training/{model}/{strategy}/model.pt",
    output:
        "results/predictions/{model}/{strategy}.parquet",
    log:
        "results/logs/predictions/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/predictions/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(S2F_MODELS),
    conda:
        "../envs/s2f.yaml"
    threads: 4
    resources:
        **gpu_resources("predictions_s2f"),
    params:
        # a rerun trigger, read by no script (common.smk: model_settings)
        settings=model_settings,
    script:
        "../workflow_scripts/predictions.py"


use rule predictions_s2f as predictions_zero_shot with:
    input:
        **store_files(all_individuals()),
    wildcard_constraints:
        strategy="zs",
        model=alternatives(S2F_MODELS),
    resources:
        **gpu_resources("predictions_zero_shot"),


use rule predictions_s2f as predictions_tower with:
    input:
        model="results/training/{model}/{strategy}/model.pt",
        embeddings=lambda wildcards: embedding_files(wildcards.model, all_individuals()),
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(GLM_MODELS),
    conda:
        "../envs/glm.yaml"
    resources:
        **gpu_resources("predictions_tower"),


rule predictions_elastic_net:
    input:
        **vcf_files(),
        table=config["data"]["partition_table"],
        reference=REFERENCE,
    output:
        predictions="results/predictions/elastic_net/p.parquet",
        # per gene: cis variants kept and CV R² on the training individuals (the
        # heritability proxy the report plots every model's R against)
        heritability="results/predictions/elastic_net/heritability.tsv",
        # per gene: the non-zero weights (gene, variant, weight) new cohorts are predicted by
        weights="results/predictions/elastic_net/weights.tsv",
    log:
        "results/logs/predictions/elastic_net/p.log",
    benchmark:
        "results/benchmarks/predictions/elastic_net/p.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        **cpu_resources(),
        mem_mb=8000,
        runtime=120,
    params:
        chroms=list(VCF_SOURCES),
        # rerun triggers, read by no script (ElasticNetSettings.from_config)
        settings=config["baselines"]["elastic_net"],
        seed=config["training"]["seed"],
    script:
        "../workflow_scripts/predictions_elastic_net.py"
