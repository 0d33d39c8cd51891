"""The pipeline cache: each checkpoint loaded once, siblings derived, speed options applied.

A pipeline is loaded from its checkpoint (`Load`), possibly taking some components from a
pipeline of the same family already in the cache (the same modules, one copy in memory), or
derived from a cached one with `from_pipe` (`Derive`). Nothing here runs at import time;
`import diffusers` happens on the first load. A checkpoint
that is not downloaded while the model hub cannot be reached is refused in one sentence that
names the family, the checkpoint and the ways out (`model_missing`), not a loader's traceback.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from generation.engine.checkpoints import ModelRegistry
from generation.engine.hub import not_downloaded
from generation.engine.quantize import pipeline_quantization
from generation.request import RequestError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Device and speed switches (DESIGN.md section 1, the guide's speed options)."""

    device: str = "auto"
    fp16: bool | None = None  # None: fp16 exactly when the device is CUDA
    cpu_offload: bool = False
    compile: bool = False
    xformers: bool | None = None  # None: use it when installed and on CUDA
    quantize: str = "none"  # generation.engine.quantize.QUANTIZE_MODES

    def resolved_device(self) -> torch.device:
        """Return the torch device: CUDA when available for "auto", else CPU."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def dtype(self, half: torch.dtype = torch.float16) -> torch.dtype:
        """Return `half` (fp16 unless a pipeline asks for bf16) on CUDA, unless half
        precision is switched off; fp32 elsewhere."""
        on_cuda = self.resolved_device().type == "cuda"
        use_half = on_cuda if self.fp16 is None else self.fp16 and on_cuda
        return half if use_half else torch.float32


@dataclass(frozen=True, slots=True)
class Load:
    """A pipeline loaded from the family's checkpoint for `checkpoint` role.

    `half` is the torch dtype it runs in where half precision is on (CUDA). `shared` names
    components it takes from a pipeline of the same family already cached, when one has
    them (the checkpoints must hold the same weights there). `quantize` names the components
    `KBOT_QUANTIZE` applies to. `xformers` says whether xFormers attention may be switched on.
    `attention` pairs an `attention_type` of the transformer's own config (the checkpoint's)
    with the diffusers attention backend that kind needs (`set_attention_backend`).
    `imports` names modules to import first: diffusers loads a component class that a
    checkpoint's `model_index.json` names outside diffusers and transformers only from a
    module already imported.
    """

    cls: str
    checkpoint: str
    half: str = "float16"
    shared: tuple[str, ...] = ()
    quantize: tuple[str, ...] = ()
    xformers: bool = True
    imports: tuple[str, ...] = ()
    attention: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Derive:
    """A pipeline derived with `from_pipe` from the already cached `base` role (shared weights)."""

    cls: str
    base: str


PipelineSpec = Load | Derive


def diffusers_class(name: str) -> Any:
    """Return a diffusers pipeline class by name (imports diffusers lazily)."""
    return getattr(importlib.import_module("diffusers"), name)


class PipelineCache:
    """Loads each checkpoint once per process and keeps it until `unload`.

    `loads` counts real `from_pretrained` calls, so callers (and tests) can see that a
    second request for a loaded checkpoint loads nothing; `load_seconds` adds up the time
    spent loading and deriving pipelines, so a call's timing can leave it out.
    """

    def __init__(self, registry: ModelRegistry, options: EngineOptions | None = None) -> None:
        self.registry = registry
        self.options = options or EngineOptions()
        self.device = self.options.resolved_device()
        self.dtype = self.options.dtype()
        self.loads = 0
        self.load_seconds = 0.0
        self._pipes: dict[tuple[str, str], Any] = {}
        self._depth: Any = None
        self._classifier: Any = None
        self._lock = threading.RLock()

    def get(self, family: str, role: str, specs: Mapping[str, PipelineSpec]) -> Any:
        """Return the cached pipeline for `role` of `family`, loading or deriving it once."""
        key = (family, role)
        with self._lock:
            pipe = self._pipes.get(key)
            if pipe is None:
                spec = specs[role]
                base = self.get(family, spec.base, specs) if isinstance(spec, Derive) else None
                started = time.perf_counter()
                if isinstance(spec, Derive):
                    pipe = diffusers_class(spec.cls).from_pipe(base, dtype=self.dtype)
                else:
                    pipe = self._load(family, spec)
                self.load_seconds += time.perf_counter() - started
                self._pipes[key] = pipe
            return pipe

    @property
    def label(self) -> str:
        """The device as timings name it: `cpu`, or `cuda` and the GPU's model."""
        if self.device.type == "cuda":
            return f"cuda {torch.cuda.get_device_name(self.device)}"
        return self.device.type

    def _load(self, family: str, spec: Load) -> Any:
        checkpoint = self.registry.get(family, spec.checkpoint)
        log.info("loading Kandinsky %s %s from %s", family, spec.checkpoint, checkpoint.id)
        for module in spec.imports:
            importlib.import_module(module)
        dtype = self.options.dtype(getattr(torch, spec.half))
        shared = self._shared(family, spec.shared)
        kwargs: dict[str, Any] = {"dtype": dtype, **shared}
        if checkpoint.variant:
            kwargs["variant"] = checkpoint.variant
        quantized = [name for name in spec.quantize if name not in shared]
        quantization = pipeline_quantization(self.options.quantize, quantized, dtype)
        if quantization is not None:
            kwargs["quantization_config"] = quantization
        try:
            pipe = diffusers_class(spec.cls).from_pretrained(checkpoint.id, **kwargs)
        except Exception as error:
            if not_downloaded(error):
                raise RequestError.of(
                    "model", family, "model_missing", family=family, checkpoint=checkpoint.id
                ) from error
            raise
        self.loads += 1
        self._apply_options(pipe, spec)
        return pipe

    def _shared(self, family: str, names: tuple[str, ...]) -> dict[str, Any]:
        """The components called `names` of a cached pipeline of `family`, where one has them."""
        found: dict[str, Any] = {}
        for (owner, _role), pipe in self._pipes.items():
            if owner != family:
                continue
            components = pipe.components
            for name in names:
                if name not in found and components.get(name) is not None:
                    found[name] = components[name]
        return found

    def _apply_options(self, pipe: Any, spec: Load) -> None:
        options = self.options
        if options.cpu_offload and self.device.type == "cuda":
            pipe.enable_model_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)
        unet = getattr(pipe, "unet", None)
        if unet is not None and options.compile:
            unet.to(memory_format=torch.channels_last)
            pipe.unet = torch.compile(unet, mode="reduce-overhead", fullgraph=True)
        transformer = getattr(pipe, "transformer", None)
        kind = getattr(getattr(transformer, "config", None), "attention_type", None)
        backend = dict(spec.attention).get(kind) if isinstance(kind, str) else None
        if transformer is not None and backend is not None:
            transformer.set_attention_backend(backend)
        if (
            spec.xformers
            and self._use_xformers()
            and hasattr(pipe, "enable_xformers_memory_efficient_attention")
        ):
            pipe.enable_xformers_memory_efficient_attention()

    def _use_xformers(self) -> bool:
        if self.options.xformers is False or self.device.type != "cuda":
            return False
        installed = importlib.util.find_spec("xformers") is not None
        if self.options.xformers and not installed:
            log.warning("xformers was asked for but is not installed; using PyTorch SDPA")
        return installed

    def depth_estimator(self) -> Callable[[Any], Any]:
        """Return the transformers depth-estimation pipeline, loaded once."""
        with self._lock:
            if self._depth is None:
                started = time.perf_counter()
                transformers = importlib.import_module("transformers")
                checkpoint = self.registry.depth_estimator
                try:
                    self._depth = transformers.pipeline(
                        "depth-estimation", model=checkpoint.id, device=self.device
                    )
                except Exception as error:
                    if not_downloaded(error):
                        raise RequestError.of(
                            "depth", checkpoint.id, "depth_model_missing", checkpoint=checkpoint.id
                        ) from error
                    raise
                self.loads += 1
                self.load_seconds += time.perf_counter() - started
            return self._depth  # type: ignore[no-any-return]

    def classifier(self, model: str) -> Callable[..., Any]:
        """Return the transformers image-classification pipeline of the image check, loaded
        once (`generation.engine.safety`)."""
        with self._lock:
            if self._classifier is None:
                started = time.perf_counter()
                transformers = importlib.import_module("transformers")
                log.info("loading the image safety classifier from %s", model)
                try:
                    self._classifier = transformers.pipeline(
                        "image-classification", model=model, device=self.device
                    )
                except Exception as error:
                    if not_downloaded(error):
                        raise RequestError.of(
                            "safety", model, "safety_model_missing", checkpoint=model
                        ) from error
                    raise
                self.loads += 1
                self.load_seconds += time.perf_counter() - started
            classifier: Callable[..., Any] = self._classifier
            return classifier

    def loaded(self) -> list[str]:
        """Return "family/role" for every cached pipeline.

        Without the lock, so it answers at once while a checkpoint is loading (copying the
        keys is one step for the interpreter).
        """
        keys = list(self._pipes)
        names = [f"{family}/{role}" for family, role in keys]
        extras = [
            name
            for name, held in (
                ("depth-estimator", self._depth),
                ("safety-classifier", self._classifier),
            )
            if held is not None
        ]
        return names + extras

    def unload(self, family: str | None = None) -> int:
        """Drop cached pipelines (all, or one family's); return how many were dropped."""
        with self._lock:
            keys = [key for key in self._pipes if family is None or key[0] == family]
            for key in keys:
                del self._pipes[key]
            dropped = len(keys)
            if family is None:
                dropped += (self._depth is not None) + (self._classifier is not None)
                self._depth = self._classifier = None
        if dropped and self.device.type == "cuda":
            gc.collect()  # pipelines with offload hooks hold reference cycles
            torch.cuda.empty_cache()
        return dropped
