"""How well models predict personal expression, and the report that says so.

- ``metrics``: per-gene correlation across individuals, across-gene R, sign agreement.
- ``report``: the self-contained HTML report (page assembly); ``report_figures`` draws its
  figures, ``report_effects`` its variant-effects section.
"""
