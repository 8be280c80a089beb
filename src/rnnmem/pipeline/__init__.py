"""One run: train a unit on a corpus (or load a saved one) and assess its memory, for every task.

`rnnmem assess`, the sweep's cells and `rnnmem assess --task lm` all go through it. Its modules:

- config.py: `RunConfig`, the settings of a run; its field defaults are the defaults of the CLI and the sweep.
- settings.py: the TOML files that hold settings (`assess --config`, `sweep --grid`), checked against `RunConfig`,
  and the comma-separated lists of flags.
- classify.py: a classifier trained and assessed, or a saved one assessed; the provenance every run keeps.
- lm.py: a next-token language model trained and assessed, with its context curve (`assess --task lm`).

Nothing is imported here, so that reading `RunConfig`'s defaults (the CLI's help) does not load torch.
"""
