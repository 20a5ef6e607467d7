"""Personal sequences at study scale: per-window bcftools vs our fast engine vs GenVarLoader.

Builds a synthetic workload with 1000-Genomes-like density (deterministic from ``--seed``,
cached in ``--workdir``) with the library's synthetic-genome generator
(:mod:`haplexpr.demo.genome`, the demo's): one contig of ``--contig-mb`` Mb (random bases,
41% GC, with soft-masked and N stretches), one normalised bi-allelic record per ~250 bp
(~12% indels of 1-20 bp with an anchor base, >= 1 bp apart), ``--samples`` phased samples
whose allele frequencies follow a neutral (1/k) site-frequency spectrum (most variants rare),
bgzipped with CSI and TBI indexes, and ``--windows`` windows of ``--window-length`` bp. Then
every engine builds all samples x 2 haplotypes x all windows in a child process of its own
(so peak memory is per engine):

- per-window bcftools (the seed's way): ``samtools faidx REF region | bcftools consensus
  -s S -H h VCF`` per window, haplotype and sample, with the binaries on PATH; timed on a
  random subset and extrapolated to the whole workload;
- the fast engine (``haplexpr.sequences.personal_sequences``): edit-store build, then
  every sequence materialised into reused NumPy buffers;
- GenVarLoader (optional, ``--gvl-python``, an interpreter with genvarloader installed):
  dataset write, then every haplotype materialised, in its default and its fastest mode;
- copying the reference bytes alone into a buffer, all samples x haplotypes (upper bound).

Prints sequences per second, time, ratio to per-window bcftools, peak RSS, the disk use of
the fast engine's store vs one FASTA per sequence, and checks the fast engine (and reports
GenVarLoader) against the per-window bcftools outputs.

    python benchmarks/personal_sequences [--workdir DIR] [--gvl-python PY] [--threads 1]
    python benchmarks/personal_sequences --tiny      # smoke test (seconds)

Modules: ``cli`` (options; ``--worker`` runs one engine), ``params`` and ``workload`` (the
workload and its cache), ``engines`` and ``gvl`` (the workers), ``runner`` (child processes,
peak RSS) and ``report`` (what is printed).
"""
