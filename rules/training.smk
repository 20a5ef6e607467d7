# Training every model with each strategy (r, p, rp; rp starts from the r checkpoint,
# an input file): S2F models on the sequences, gLM towers on the embeddings.


rule training_s2f:
    input:
        unpack(training_s2f_inputs),
        table=config["data"]["partition_table"],
    output:
        model="results/training/{model}/{strategy}/model.pt",
        log_table="results/training/{model}/{strategy}/train_log.tsv",
    log:
        "results/logs/training/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/training/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(S2F_MODELS),
    conda:
        "../envs/s2f.yaml"
    threads: 4
    resources:
        **gpu_resources("training_s2f"),
    params:
        # a rerun trigger, read by no script (common.smk: model_settings)
        settings=model_settings,
    script:
        "../workflow_scripts/training.py"


use rule training_s2f as training_tower with:
    input:
        unpack(training_tower_inputs),
        table=config["data"]["partition_table"],
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(GLM_MODELS),
    conda:
        "../envs/glm.yaml"
    resources:
        **gpu_resources("training_tower"),
