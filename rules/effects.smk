# Variant effects of trained runs (config effects; docs/effects.md): a GPU job scores each
# variant's ALT-minus-REF prediction in the reference and in sampled held-out individuals'
# haplotypes (S2F models read one-hot windows; towers embed each edited window anew); a CPU
# job checks them per gene against eQTL slopes, the elastic net and (config effects.truth)
# the causal variants.


def effect_runs():
    """The trained (model, strategy) runs config effects asks to score."""
    return EFFECTS.runs(trained_runs())


def effect_targets():
    """Each scored run's checks (which need its effects)."""
    return [f"results/effects/{m}/{s}.checks.tsv" for m, s in effect_runs()]


def effect_inputs(wildcards):
    """The store of the held-out individuals, the normalised VCFs and the trained model."""
    return {
        **store_files(STUDY.test_individuals),
        **vcf_files(),
        "model": f"results/models/{wildcards.model}/{wildcards.strategy}/model.pt",
    }


def effect_check_inputs(wildcards):
    """A scored run's tables, the VCFs, the reference (gene windows) and the truth."""
    run = f"results/effects/{wildcards.model}/{wildcards.strategy}"
    inputs = {
        "effects": f"{run}.tsv",
        "backgrounds": f"{run}.backgrounds.tsv",
        **vcf_files(),
        "reference": REFERENCE,
    }
    if EFFECTS.truth:
        inputs["truth"] = EFFECTS.truth
    return inputs


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
