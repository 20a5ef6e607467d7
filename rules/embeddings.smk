# Frozen gLM embeddings of every gene window and haplotype, computed once per
# (gLM, shard of individuals: one GPU job each) and reused by every training run; or, for
# a gLM with precomputed_root, imported from the seed's .pt files (CPU jobs, no sequences).


rule embeddings_compute:
    input:
        unpack(embedding_shard_inputs),
    output:
        array="results/embeddings/{model}/{shard}.npy",
        index="results/embeddings/{model}/{shard}.json",
    log:
        "results/logs/embeddings/{model}/{shard}.log",
    benchmark:
        "results/benchmarks/embeddings/{model}/{shard}.tsv"
    wildcard_constraints:
        model=alternatives(COMPUTED_GLMS),
    conda:
        embedding_env
    threads: 4
    resources:
        **gpu_resources("embeddings_compute"),
    params:
        individuals=lambda wildcards: list(
            EMBEDDING_SHARDS[wildcards.model][wildcards.shard].individuals
        ),
        # a slice [lo, hi) of each member's genes, or None: all the design's
        genes=lambda wildcards: EMBEDDING_SHARDS[wildcards.model][wildcards.shard].genes,
        # only the keys that change embeddings, so editing the tower reruns no embedding
        embedder=embedder_params,
        device=config["training"]["device"],
    script:
        "../workflow_scripts/embeddings_compute.py"


rule embeddings_import:
    input:
        # genes and strands; the .pt files are checked at start-up and when read
        table=config["data"]["partition_table"],
    output:
        array="results/embeddings/{model}/{shard}.npy",
        index="results/embeddings/{model}/{shard}.json",
    log:
        "results/logs/embeddings/{model}/{shard}.log",
    benchmark:
        "results/benchmarks/embeddings/{model}/{shard}.tsv"
    wildcard_constraints:
        model=alternatives(PRECOMPUTED_GLMS),
    conda:
        "../envs/glm.yaml"
    resources:
        **cpu_resources(),
        # one file at a time: a 64 kb Evo2 window is 64,000 x 4,096 float32 (1 GB)
        mem_mb=8000,
        runtime=240,
    params:
        individuals=lambda wildcards: list(
            EMBEDDING_SHARDS[wildcards.model][wildcards.shard].individuals
        ),
        embedder=import_params,
        reference_sample=config["data"]["reference_sample"],
    script:
        "../workflow_scripts/embeddings_import.py"
