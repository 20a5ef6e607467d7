"""How well models predict personal expression: per-run metrics and comparisons of runs.

- ``evaluation``: per-gene correlation across individuals, across-gene R, sign agreement,
  and the tables (with schemas) they are written to.
- ``comparisons``: model-to-model differences of per-gene R, paired and FDR-controlled.
"""
