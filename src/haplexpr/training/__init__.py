"""Training every model with every strategy (r, p, rp).

- ``checkpoints``: ``model.pt`` written with its architecture and read back checked.
- ``datasets``: torch datasets over the sequence store or the embedding shards.
- ``loop``: the one training loop: the seed's recipe plus seeds, checkpoints and resume;
  its pieces ``batches`` (what each batch holds), ``optimisation`` (Adam and the schedules)
  and ``resume`` (the per-epoch checkpoint a killed job resumes from).
- ``runs``: the wiring of a (model, strategy) run: data, model, checkpoint, outputs.
"""
