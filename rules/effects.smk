# Variant effects of trained runs (config effects; docs/effects.md): a GPU job scores each
# variant's ALT-minus-REF prediction in the reference and in sampled held-out individuals'
# haplotypes (S2F models read one-hot windows; towers embed each edited window anew); a CPU
# job checks them per gene against eQTL slopes, the elastic net and (config effects.truth)
# the causal variants.


rule effects_s2f:
    input:
        unpack(effect_inputs),
    output:
        effects="results/effects/{model}/{strategy}.tsv",
        backgrounds="results/effects/{model}/{strategy}.backgrounds.tsv",
    log:
        "results/logs/effects/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/effects/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(S2F_MODELS),
    conda:
        "../envs/s2f.yaml"
    threads: 4
    resources:
        **gpu_resources("effects_s2f"),
    params:
        chroms=list(VCF_SOURCES),
        # rerun triggers, read by no script (common.smk: model_settings)
        settings=model_settings,
        effects=config["effects"],
    script:
        "../workflow_scripts/effects_score.py"


rule effects_tower:
    input:
        unpack(effect_inputs),
    output:
        effects="results/effects/{model}/{strategy}.tsv",
        backgrounds="results/effects/{model}/{strategy}.backgrounds.tsv",
    log:
        "results/logs/effects/{model}/{strategy}.log",
    benchmark:
        "results/benchmarks/effects/{model}/{strategy}.tsv"
    wildcard_constraints:
        strategy="r|p|rp",
        model=alternatives(GLM_MODELS),
    conda:
        embedding_env
    threads: 4
    resources:
        **gpu_resources("effects_tower"),
    params:
        chroms=list(VCF_SOURCES),
        # rerun triggers, read by no script (common.smk: model_settings)
        settings=model_settings,
        effects=config["effects"],
    script:
        "../workflow_scripts/effects_score.py"


rule effects_checks:
    input:
        unpack(effect_check_inputs),
        table=config["data"]["partition_table"],
    output:
        "results/effects/{model}/{strategy}.checks.tsv",
    log:
        "results/logs/effects/{model}/{strategy}.checks.log",
    benchmark:
        "results/benchmarks/effects/{model}/{strategy}.checks.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        **cpu_resources(),
        mem_mb=4000,
        runtime=60,
    params:
        chroms=list(VCF_SOURCES),
        # rerun triggers, read by no script
        effects=config["effects"],
        elastic_net=config["baselines"]["elastic_net"],
    script:
        "../workflow_scripts/effects_check.py"
