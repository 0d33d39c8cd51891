"""Kandinsky generation: the pure request model, the family registry and the diffusers engine.

Import the pure part from `generation.request`, `generation.families` (the families' specs) and
`generation.timing` (how long a pipeline call took);
engine modules (`generation.engine`, each family's `pipelines` and `tiny`) import torch and
diffusers.
"""
