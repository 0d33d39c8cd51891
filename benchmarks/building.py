"""What the real-size benchmark's builders share: configs as dicts, and models made with random
weights directly on a device, in inference mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

Config = dict[str, Any]


@contextmanager
def made_on(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """New parameters are created on `device` in `dtype` (random init runs there too)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            yield
    finally:
        torch.set_default_dtype(previous)


def ready(model: Any) -> Any:
    """Inference mode, as `from_pretrained` leaves a model (no dropout)."""
    return model.eval().requires_grad_(False)


def vocab(config: Config, tokenizer: Any) -> Config:
    """`config` with its vocabulary size, or the tokenizer's own where it says None."""
    return {**config, "vocab_size": config["vocab_size"] or len(tokenizer)}
