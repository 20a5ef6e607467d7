"""Sequence models: S2F models fine-tuned end to end and frozen gLM feature extractors.

- ``registry``: every architecture, its family, class and settings (start here to add one)
- ``settings``: each architecture's config keys as a typed dataclass, with their defaults
- ``s2f``: what Enformer and Borzoi share: the seed's attention-pool head, the track readout
- ``enformer``, ``borzoi``: the S2F trunks (tiny random configs or pretrained weights)
- ``nucleotide_transformer``, ``evo2``, ``caduceus``: the frozen gLM embedders (NT v2's
  architecture is ours, on transformers' ESM; ``nt_tokenizer``: its 6-mer tokens and the
  genome-anchored grid)
- ``caduceus_model``, ``mamba``: Caduceus's network and checkpoints, and the Mamba block and
  selective scan beneath it, in plain PyTorch (no ``mamba_ssm``)
- ``embedding_windows``: how a long window is tiled for a gLM and its states pooled
- ``tower``: the trainable head on gLM embeddings
- ``wrappers``: haplotype averaging and reverse-complement averaging around any model
- ``precision``: float32 heads under reduced-precision trunks

Nothing here is imported by the package itself, so one model family never pays for the
imports (enformer-pytorch, borzoi-pytorch, transformers) of the others.
"""
