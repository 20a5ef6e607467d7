"""The self-contained HTML report that says how well the models did.

- ``page``: the page assembly: sections, tables and the embedded figures.
- ``figures``: the figures, drawn with matplotlib and embedded as PNG.
- ``effects``: the variant-effects section.
"""
