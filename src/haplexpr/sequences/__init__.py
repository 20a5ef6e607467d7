"""Personal sequences: each haplotype over the gene windows, as bcftools consensus builds it.

- ``edits``: haplotypes stored as edits of the reference windows.
- ``kernel``: the compiled rules for applying variants, for every haplotype at once.
- ``cut_records``: the kernel's rare path: records cut to the buffer or on edited bases.
- ``column_state``: what the kernel carries through a window (bcftools' per-haplotype state).
- ``buffer``: bcftools' text buffer for one haplotype, kept as a list of edits.
- ``table``: a window's table of distinct edits, shared by the haplotypes carrying them.
- ``materialise``: (reference window, edits) into bases at memory-copy speed.
- ``fast_engine``: every sample and window of a chromosome in one VCF pass.
- ``variant_reader``: a chromosome's records in the windows, read once with every call.
- ``personal_sequences``: the bcftools engine and the store builders either engine feeds.
- ``store``: the read side: reference windows once, each haplotype materialised on demand.
"""
