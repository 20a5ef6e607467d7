# Frozen gLM embeddings of every gene window and haplotype, computed once per
# (gLM, shard of individuals: one GPU job each) and reused by every training run.


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
        model=alternatives(GLM_MODELS),
    conda:
        embedding_env
    threads: 4
    resources:
        **gpu_resources("embeddings_compute"),
    params:
        individuals=lambda wildcards: EMBEDDING_SHARDS[wildcards.shard],
        # only the keys that change embeddings, so editing the tower reruns no embedding
        embedder=embedder_params,
        device=config["training"]["device"],
    script:
        "../workflow_scripts/embeddings_compute.py"
