"""Kandinsky generation: the pure request model and the diffusers engine behind it.

Import the pure part from `generation.request`; engine modules import torch and diffusers.
"""
