# Training (strategies r, p, rp; rp starts from the r checkpoint, an input file) and
# predictions for every individual and the reference.


rule train_s2f:
    input:
        unpack(train_s2f_inputs),
        table=config["data"]["partition_table"],
    output:
        model="results/models/{model}/{strategy}/model.pt",
        log_table="results/models/{model}/{strategy}/train_log.tsv",
    log:
        "results/logs/models/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/models/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(S2F_MODELS),
    conda:
        "../envs/s2f.yaml"
    threads: 4
    resources:
        # Measured on an H200 (README, Resources): the seed's recipe at 64 kb, batch 8 is
        # ~0.28 s/step for Enformer (41 GiB GPU memory) and ~0.12 s for Borzoi (18 GiB), so
        # 50,000 steps take ~4 h and ~2 h. Native lengths need ~16 h (Enformer) and ~28 h
        # (Borzoi): raise runtime, and name a large-memory GPU with gpu_model (e.g. "h200";
        # model names are cluster-specific).
        mem_mb=32000,
        runtime=720,
        gpu=1,
    params:
        # a rerun trigger, read by no script (common.smk: model_settings)
        settings=model_settings,
    script:
        "../workflow_scripts/train.py"


rule train_tower:
    input:
        unpack(train_tower_inputs),
        table=config["data"]["partition_table"],
    output:
        model="results/models/{model}/{strategy}/model.pt",
        log_table="results/models/{model}/{strategy}/train_log.tsv",
    log:
        "results/logs/models/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/models/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(GLM_MODELS),
    conda:
        "../envs/glm.yaml"
    threads: 4
    resources:
        mem_mb=16000,
        runtime=240,
        gpu=1,
    params:
        # a rerun trigger, read by no script (common.smk: model_settings)
        settings=model_settings,
    script:
        "../workflow_scripts/train.py"


rule predict_s2f:
    input:
        **store_files(all_individuals()),
        model="results/models/{model}/{strategy}/model.pt",
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
        # H200 at 64 kb: ~0.1 s per 8 individuals x 2 haplotypes, ~10 min per 50,000
        mem_mb=16000,
        runtime=120,
        gpu=1,
    params:
        # a rerun trigger, read by no script (common.smk: model_settings)
        settings=model_settings,
    script:
        "../workflow_scripts/predict.py"


rule predict_zero_shot:
    input:
        **store_files(all_individuals()),
    output:
        "results/predictions/{model}/{strategy}.parquet",
    log:
        "results/logs/predictions/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/predictions/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="zs",
        model=alternatives(S2F_MODELS),
    conda:
        "../envs/s2f.yaml"
    threads: 4
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1,
    params:
        # a rerun trigger, read by no script (common.smk: model_settings)
        settings=model_settings,
    script:
        "../workflow_scripts/predict.py"


rule predict_tower:
    input:
        model="results/models/{model}/{strategy}/model.pt",
        embeddings=lambda wildcards: embedding_files(wildcards.model, all_individuals()),
    output:
        "results/predictions/{model}/{strategy}.parquet",
    log:
        "results/logs/predictions/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/predictions/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(GLM_MODELS),
    conda:
        "../envs/glm.yaml"
    threads: 4
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=1,
    params:
        # a rerun trigger, read by no script (common.smk: model_settings)
        settings=model_settings,
    script:
        "../workflow_scripts/predict.py"


rule baseline_elastic_net:
    input:
        **vcf_files(),
        table=config["data"]["partition_table"],
        reference=REFERENCE,
    output:
        predictions="results/predictions/elastic_net/p.parquet",
        # per gene: cis variants kept and CV R² on the training individuals (the
        # heritability proxy the report plots every model's R against)
        heritability="results/predictions/elastic_net/heritability.tsv",
    log:
        "results/logs/predictions/elastic_net/p.log",
    benchmark:
        "results/benchmarks/predictions/elastic_net/p.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        settings=config["baselines"]["elastic_net"],
        chroms=list(VCF_SOURCES),
    script:
        "../workflow_scripts/baseline_elastic_net.py"
