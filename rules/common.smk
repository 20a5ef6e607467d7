# Validates the config and the study tables before any job runs, and holds every input
# function. Jobs' scripts import the installed haplexpr (each env installs it); this
# process may run from a Snakemake without it, so it reads the library from src/.
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from haplexpr.config import (
    cohort_runs,
    embedding_settings,
    evaluated_runs,
    enabled_models,
    precomputed,
    reference_fasta,
    trained_runs,
)
from haplexpr.consensus_settings import ConsensusSettings
from haplexpr.coordinates import VariantSettings
from haplexpr.effects.plan import EffectSettings, scored_runs
from haplexpr.cluster_resources import (
    GPU_REQUEST_KEYS,
    ClusterSettings,
    check_limits,
    cpu_request,
    gpu_request,
    job_gpu_seconds,
)
from haplexpr.inputs import check_inputs
from haplexpr.models import registry
from haplexpr.plan import embedding_shards
from haplexpr.study.design import REFERENCE_INDIVIDUAL
from haplexpr.embeddings.imported import check_present

# The config's schema and cross-checks, its files, the study tables, the VCF URL list and
# the reference, once.
# The checked partition table is cached in .snakemake/ (keyed by the file's size and time).
INPUTS = check_inputs(config, cache_dir=".snakemake/haplexpr")
STUDY = INPUTS.study
VCF_SOURCES = INPUTS.vcf_sources
# The configured FASTA, or where rule reference_download puts the one at its URL.
REFERENCE = reference_fasta(config)
S2F_MODELS = list(enabled_models(config, "s2f"))
GLM_MODELS = list(enabled_models(config, "glm"))
# gLMs whose embeddings are imported from the seed's .pt files (rule embeddings_import).
PRECOMPUTED_GLMS = [m for m in GLM_MODELS if precomputed(config, m)]
COMPUTED_GLMS = [m for m in GLM_MODELS if m not in PRECOMPUTED_GLMS]
STRATEGIES = config["strategies"]
BASELINES = ["elastic_net"] if config["baselines"]["elastic_net"]["enabled"] else []
CLUSTER = ClusterSettings.from_config(config)
CONSENSUS = ConsensusSettings.from_config(config)
VARIANTS = VariantSettings.from_config(config)
EFFECTS = EffectSettings.from_config(config)
# New cohorts to predict (config cohorts; haplexpr.cohorts), their VCFs and individuals.
COHORTS = INPUTS.cohorts
# (model, strategy) runs: those that train; those `all` evaluates (the trained ones, S2F
# zero-shot zs, the elastic net); those a new cohort is predicted by (not imported gLMs).
TRAINED_RUNS = trained_runs(config)
RUNS = evaluated_runs(config)
COHORT_RUNS = cohort_runs(config)


def alternatives(names):
    """Regex matching exactly one of ``names`` (never empty, so constraints stay valid)."""
    return "|".join(names) if names else "(?!)"


wildcard_constraints:
    chrom=alternatives(VCF_SOURCES),
    cohort=alternatives(COHORTS),
    strategy="r|p|rp|zs",
    shard="shard[0-9]+",


def metrics_targets():
    return [f"results/metrics/{m}/{s}.tsv" for m, s in RUNS]


def prediction_targets():
    return [f"results/predictions/{m}/{s}.parquet" for m, s in RUNS]


def heritability_targets():
    """The elastic net's per-gene CV R² (the report's heritability proxy), if it runs."""
    if "elastic_net" in BASELINES:
        return ["results/predictions/elastic_net/heritability.tsv"]
    return []


def cohort_targets():
    """Each cohort's genes x individuals table (and its long form) per run."""
    return [
        f"results/cohorts/{c}/{m}/{s}.{form}"
        for c in COHORTS
        for m, s in COHORT_RUNS
        for form in ("tsv", "long.tsv")
    ]


def cohort_vcf_files(wildcards):
    """A cohort's downloaded, normalised, checked and indexed VCFs, one per chromosome."""
    return vcf_files(f"results/cohorts/{wildcards.cohort}/vcf")


def cohort_vcf_normalise_inputs(wildcards):
    """vcf_normalise's inputs, with the cohort's downloaded VCF."""
    return {
        **vcf_normalise_inputs(wildcards),
        "vcf": f"results/cohorts/{wildcards.cohort}/vcf/download/{wildcards.chrom}.vcf.gz",
    }


def cohort_store_files(cohort, individuals):
    """The study's reference windows with the cohort's haplotype shards holding ``individuals``."""
    return store_files(
        individuals,
        f"results/cohorts/{cohort}/sequences",
        COHORT_SEQUENCE_SHARDS[cohort],
    )


def cohort_embedding_files(cohort, model):
    """The cohort's embedding shard arrays of one gLM."""
    return [
        f"results/cohorts/{cohort}/embeddings/{model}/{name}.npy"
        for name in COHORT_EMBEDDING_SHARDS[cohort, model]
    ]


def cohort_prediction_inputs(wildcards):
    """What a cohort's run reads: its store or embeddings, and the trained model."""
    cohort, model = wildcards.cohort, wildcards.model
    if model in GLM_MODELS:
        inputs = {"embeddings": cohort_embedding_files(cohort, model)}
    else:
        inputs = cohort_store_files(cohort, COHORTS[cohort].samples)
    if wildcards.strategy != "zs":
        inputs["model"] = f"results/training/{model}/{wildcards.strategy}/model.pt"
    return inputs


def effect_runs():
    """The trained runs config effects asks to score (haplexpr.effects.plan)."""
    return scored_runs(config)


def effect_targets():
    """Each scored run's checks (which need its effects)."""
    return [f"results/effects/{m}/{s}.checks.tsv" for m, s in effect_runs()]


def effect_inputs(wildcards):
    """The store of the held-out individuals, the normalised VCFs and the trained model."""
    return {
        **store_files(STUDY.test_individuals),
        **vcf_files(),
        "model": f"results/training/{wildcards.model}/{wildcards.strategy}/model.pt",
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


def model_settings(wildcards):
    """Everything in the config that changes a model's weights or predictions.

    Rules pass it as a param no script reads: Snakemake reruns a job whose params changed,
    so editing a model's keys or its family's training recipe retrains and repredicts that
    model (the other family's recipe is left out: a tower edit retrains no S2F model).
    """
    model = config["models"][wildcards.model]
    own = registry.training_block(model)
    training = {
        k: v
        for k, v in config["training"].items()
        if k == own or k not in registry.TRAINING_BLOCKS
    }
    return {"model": model, "training": training}


def embedder_params(wildcards):
    """The keys of the shard's gLM that change its embeddings (a tower edit reruns none)."""
    return embedding_settings(config["models"][wildcards.model])


def import_params(wildcards):
    """The keys that change an imported gLM's shards: its folder, window and pooling."""
    model = config["models"][wildcards.model]
    keys = ("architecture", "input_length", "pooling", "precomputed_root")
    return {key: model.get(key) for key in keys}


def sequence_targets():
    files = store_files(STUDY.individuals)
    return [files["reference"], files["reference_fasta"], *files["haplotypes"]]


def shards(individuals, size):
    """``individuals`` in groups of ``size``, named shard000, shard001, ..."""
    return {
        f"shard{number:03d}": individuals[start : start + size]
        for number, start in enumerate(range(0, len(individuals), size))
    }


def embedding_files(model, individuals):
    """The embedding shard arrays holding ``individuals``."""
    wanted = set(individuals)
    return [
        f"results/embeddings/{model}/{name}.npy"
        for name, shard in EMBEDDING_SHARDS[model].items()
        if wanted.intersection(shard.individuals)
    ]


def embedding_targets():
    return [f for g in GLM_MODELS for f in embedding_files(g, all_individuals())]


def vcf_files(folder="results/vcf"):
    """Downloaded, normalised, checked and indexed VCFs, one per chromosome (the study's,
    or a cohort's ``folder``)."""
    return {
        "vcfs": [f"{folder}/{c}.vcf.gz" for c in VCF_SOURCES],
        "indexes": [f"{folder}/{c}.vcf.gz.csi" for c in VCF_SOURCES],
    }


def vcf_normalise_inputs(wildcards):
    """The downloaded VCF and the reference, plus the contig map when one is configured."""
    inputs = {
        "vcf": f"results/vcf/download/{wildcards.chrom}.vcf.gz",
        "reference": REFERENCE,
    }
    if VARIANTS.contig_map:
        inputs["contig_map"] = VARIANTS.contig_map
    return inputs


def embedding_env(wildcards):
    """Evo2 embeds in an env of its own (vtx pins einops); the other gLMs in glm.yaml."""
    evo2 = config["models"][wildcards.model]["architecture"] == "evo2"
    return "../envs/evo2.yaml" if evo2 else "../envs/glm.yaml"


def store_files(individuals, folder="results/sequences", sequence_shards=None):
    """The sequence store holding ``individuals``: the study's reference windows + the
    haplotype shards in ``folder`` (a cohort's, with its ``sequence_shards``) holding them.
    """
    wanted = set(individuals)
    return {
        "reference": "results/sequences/reference.tsv",
        "reference_fasta": "results/sequences/reference.fa.gz",
        "haplotypes": [
            f"{folder}/{shard}.haplotypes.npz"
            for shard, members in (sequence_shards or SEQUENCE_SHARDS).items()
            if wanted.intersection(members)
        ],
    }


def embedding_shard_inputs(wildcards):
    return store_files(EMBEDDING_SHARDS[wildcards.model][wildcards.shard].individuals)


def training_individuals(strategy):
    return [REFERENCE_INDIVIDUAL] if strategy == "r" else STUDY.train_individuals


def training_s2f_inputs(wildcards):
    inputs = store_files(training_individuals(wildcards.strategy))
    if wildcards.strategy == "rp":
        inputs["init"] = f"results/training/{wildcards.model}/r/model.pt"
    return inputs


def training_tower_inputs(wildcards):
    inputs = {
        "embeddings": embedding_files(
            wildcards.model, training_individuals(wildcards.strategy)
        )
    }
    if wildcards.strategy == "rp":
        inputs["init"] = f"results/training/{wildcards.model}/r/model.pt"
    return inputs


def all_individuals():
    return [REFERENCE_INDIVIDUAL, *STUDY.individuals]


# One consensus job per shard of individuals; one embedding job per shard (reference
# first) and gLM, split where its estimated limit exceeds cluster.max_runtime. Cohorts'
# the same way, without the reference (its windows are the study's).
SEQUENCE_SHARDS = shards(STUDY.individuals, CONSENSUS.individuals_per_job)
EMBEDDING_SHARDS = {m: embedding_shards(config, STUDY, m) for m in GLM_MODELS}
COHORT_SEQUENCE_SHARDS = {
    name: shards(list(cohort.samples), CONSENSUS.individuals_per_job)
    for name, cohort in COHORTS.items()
}
COHORT_EMBEDDING_SHARDS = {
    (name, m): embedding_shards(config, STUDY, m, list(cohort.samples))
    for name, cohort in COHORTS.items()
    for m in COMPUTED_GLMS
}
if COHORTS and PRECOMPUTED_GLMS:
    print(
        f"haplexpr: cohorts are not predicted by {PRECOMPUTED_GLMS}: their embeddings are "
        "imported (precomputed_root), so there is no embedder for a cohort's windows",
        file=sys.stderr,
    )

# Every seed embedding file an import will read, one folder listing per sample, unless the
# model's shards are all there already (the folder may then be gone).
for _model in PRECOMPUTED_GLMS:
    if not all(Path(f).exists() for f in embedding_files(_model, all_individuals())):
        check_present(
            config["models"][_model]["precomputed_root"],
            all_individuals(),
            sorted(STUDY.genes["gene"]),
            config["data"]["reference_sample"],
            f"models.{_model}.precomputed_root",
        )


# GPU seconds of a job's workload (measured S2F, estimated gLM), once per job.
gpu_seconds = functools.cache(functools.partial(job_gpu_seconds, config, STUDY))

# The gLM limits are estimates; training or prediction jobs over cluster.max_runtime.
for _note in check_limits(config, STUDY):
    print(f"haplexpr: {_note}", file=sys.stderr)


def gpu_resources(rule):
    """A GPU rule's SLURM request per job (haplexpr.cluster_resources), sized by its model."""

    @functools.cache
    def request_of(model, strategy, shard, cohort):
        if cohort:  # a new cohort's job: its individuals, its shards
            shard_of = COHORT_EMBEDDING_SHARDS.get((cohort, model), {})
            individuals = len(COHORTS[cohort].samples)
        else:
            shard_of, individuals = EMBEDDING_SHARDS.get(model, {}), None
        embedding_shard = shard_of[shard] if shard else None
        seconds = gpu_seconds(rule, model, strategy, embedding_shard, individuals)
        # training jobs use the model's gpus (torchrun ranks); predictions one
        gpus = (
            registry.settings(config["models"][model]).gpus
            if rule.startswith("training_")
            else 1
        )
        return gpu_request(CLUSTER, rule, model, seconds, gpus)

    def request(wildcards):
        return request_of(
            wildcards.model,
            wildcards.get("strategy", ""),
            wildcards.get("shard", ""),
            wildcards.get("cohort", ""),
        )

    resources = {
        key: lambda wildcards, key=key: request(wildcards)[key]
        for key in GPU_REQUEST_KEYS
    }
    resources["cpus_per_gpu"] = lambda wildcards, threads: threads
    return resources


def cpu_resources():
    """A CPU rule's account and partition (the config's cluster block)."""
    return cpu_request(CLUSTER)
