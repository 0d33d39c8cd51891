"""Quantized weights (`KBOT_QUANTIZE`): which backend serves a mode, and its diffusers config.

`int8` is int8 weight-only quantization through torchao when it is installed, else 8-bit
bitsandbytes; `nf4` is 4-bit NF4 through bitsandbytes. Both are optional extras
(`pip install 'kandinsky-bot[torchao]'` or `[bitsandbytes]`). The backend is chosen when the
engine is built, so a missing one stops the start with a sentence that says what to install,
not the first job. Only the components a pipeline role names are quantized
(`generation.engine.cache.Load.quantize`). Imports torch, diffusers and the backends only
when a config is built.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any

QUANTIZE_MODES = ("none", "int8", "nf4")
"""The values of `KBOT_QUANTIZE`."""

# mode -> the backends that serve it, preferred first (import names)
_BACKENDS: dict[str, tuple[str, ...]] = {
    "int8": ("torchao", "bitsandbytes"),
    "nf4": ("bitsandbytes",),
}
_EXTRAS = {"torchao": "torchao", "bitsandbytes": "bitsandbytes"}


class QuantizationUnavailable(RuntimeError):
    """A quantization mode whose backend is not installed (or a mode nobody knows)."""


def backend_for(mode: str) -> str | None:
    """The installed backend that serves `mode` (None for "none").

    Raises QuantizationUnavailable naming what to install.
    """
    if mode == "none":
        return None
    if mode not in _BACKENDS:
        raise QuantizationUnavailable(
            f"KBOT_QUANTIZE must be one of {', '.join(QUANTIZE_MODES)}, got {mode!r}"
        )
    candidates = _BACKENDS[mode]
    for name in candidates:
        if importlib.util.find_spec(name) is not None:
            return name
    extras = " or ".join(f"pip install 'kandinsky-bot[{_EXTRAS[name]}]'" for name in candidates)
    raise QuantizationUnavailable(
        f"KBOT_QUANTIZE={mode} needs {' or '.join(candidates)}, which is not installed: {extras}"
    )


def pipeline_quantization(mode: str, components: Sequence[str], compute_dtype: Any) -> Any:
    """A diffusers `PipelineQuantizationConfig` quantizing `components`, or None.

    None when `mode` is "none" or no component is named. `components` are pipeline component
    names; "transformer" is a diffusers model, every other one a transformers model.
    """
    backend = backend_for(mode)
    if backend is None or not components:
        return None
    diffusers = importlib.import_module("diffusers")
    transformers = importlib.import_module("transformers")
    mapping = {
        name: _config(
            mode, backend, diffusers if name == "transformer" else transformers, compute_dtype
        )
        for name in components
    }
    return diffusers.PipelineQuantizationConfig(quant_mapping=mapping)


def _config(mode: str, backend: str, library: Any, compute_dtype: Any) -> Any:
    """One component's quantization config, from `library` (diffusers or transformers)."""
    if backend == "torchao":
        quantization = importlib.import_module("torchao.quantization")
        return library.TorchAoConfig(quantization.Int8WeightOnlyConfig())
    if mode == "int8":
        return library.BitsAndBytesConfig(load_in_8bit=True)
    return library.BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute_dtype
    )
