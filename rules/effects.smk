# Variant effects of trained runs (config effects; docs/effects.md): each scored variant's
# ALT-minus-REF prediction in the reference and in sampled held-out individuals' haplotypes,
# with per-gene checks against eQTL slopes, the elastic net and (config effects.truth) the
# causal variants. S2F models read one-hot windows; towers embed each edited window anew.


def effect_runs():
    """The trained (model, strategy) runs config effects asks to score."""
    return EFFECTS.runs(trained_runs())


def effect_targets():
    return [f"results/effects/{m}/{s}.tsv" for m, s in effect_runs()]


def effect_inputs(wildcards):
    """The store of the held-out individuals, the normalised VCFs, the model, the truth."""
    inputs = {
        **store_files(STUDY.test_individuals),
        **vcf_files(),
        "model": f"results/models/{wildcards.model}/{wildcards.strategy}/model.pt",
    }
    if EFFECTS.truth:
        inputs["truth"] = EFFECTS.truth
    return inputs


rule effects_s2f:
    input:
        unpack(effect_inputs),
        table=config["data"]["partition_table"],
    output:
        effects="results/effects/{model}/{strategy}.tsv",
        checks="results/effects/{model}/{strategy}.checks.tsv",
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
        table=config["data"]["partition_table"],
    output:
        effects="results/effects/{model}/{strategy}.tsv",
        checks="results/effects/{model}/{strategy}.checks.tsv",
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
