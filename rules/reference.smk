# Fetch the reference FASTA when config data.reference is a URL (resumable, md5-checked),
# bgzip-compress and index it; a local path is used as it is and no rule runs.


if REFERENCE != config["data"]["reference"]:  # a URL: fetch it

    rule reference_download:
        output:
            fasta=REFERENCE,
            fai=f"{REFERENCE}.fai",
            gzi=f"{REFERENCE}.gzi",
        log:
            "results/logs/reference/download.log",
        benchmark:
            "results/benchmarks/reference/download.tsv"
        conda:
            "../envs/bcftools.yaml"
        resources:
            **cpu_resources(),
            mem_mb=1000,
            runtime=240,
        params:
            url=config["data"]["reference"],
            md5=config["data"].get("reference_md5"),
        script:
            "../workflow_scripts/reference_download.py"
