"""What a Kandinsky family is, as data: `FamilySpec`, and `Families`, the registry of them.

Everything the bot needs to know about a family outside the engine lives in its spec: the
name users type, the tasks it runs (or the sentence that refuses one), its defaults, its size
rule (`MultipleOf` or `SizeList`), the schedulers it takes, whether its requests may share a
pipeline call, the checkpoints it loads and where its pipelines and tiny builder are. The
engine imports those two modules by their dotted paths, so this module and every spec stay
pure: they import only the standard library.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

Capability = Literal[True] | str
"""What a family says of a task: True when it runs it, else the id of the sentence that
refuses it (a key of `generation.messages.ERRORS`)."""

_PREFIX = re.compile(r"^(?:kandinsky|k)[-_ ]?")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A loadable checkpoint: a hub id or local folder, and an optional weights variant."""

    id: str
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class MultipleOf:
    """Any size whose sides are multiples of `multiple` (within the operator's limits)."""

    multiple: int

    def nearest(
        self, width: float, height: float, area: int, low: int, high: int, max_pixels: int
    ) -> tuple[int, int]:
        """The size of about `area` pixels nearest to `width:height`, each side a multiple
        within `low` and `high` (bounds that are not multiples themselves included), at most
        `max_pixels` in all."""
        multiple = self.multiple
        aspect = width / height
        target_h = (area / aspect) ** 0.5

        lowest, highest = -(-low // multiple) * multiple, high // multiple * multiple

        def snap(side: float) -> int:
            return int(max(lowest, min(highest, round(side / multiple) * multiple)))

        w, h = snap(target_h * aspect), snap(target_h)
        while w * h > max_pixels:
            w, h = (w - multiple, h) if w >= h else (w, h - multiple)
        return w, h

    def default_size(self, width: int, height: int) -> tuple[int, int]:
        """A default size (one nobody asked for) as it is: validation judges it."""
        return width, height


@dataclass(frozen=True, slots=True)
class SizeList:
    """Only the listed (width, height) sizes: a model trained on a fixed list of them.

    A size off the list is refused with the list; an aspect ratio, a picture's shape or a
    default size becomes the listed size of the nearest aspect (the first on a tie, as the
    Kandinsky 5 pipelines choose).
    """

    sizes: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.sizes or any(w <= 0 or h <= 0 for w, h in self.sizes):
            raise ValueError(f"a size list needs positive sizes, got {self.sizes!r}")

    def nearest(self, width: float, height: float) -> tuple[int, int]:
        """The listed size whose aspect is nearest to `width:height`."""
        aspect = width / height
        return min(self.sizes, key=lambda size: abs(size[0] / size[1] - aspect))

    def default_size(self, width: int, height: int) -> tuple[int, int]:
        """A default size (one nobody asked for) moved to the listed size of its aspect."""
        return (width, height) if (width, height) in self.sizes else self.nearest(width, height)

    def spoken(self) -> str:
        """The sizes as a list for a sentence: `1024x1024, 640x1408`."""
        return ", ".join(f"{width}x{height}" for width, height in self.sizes)


SizeRule = MultipleOf | SizeList
"""Which sizes a family makes."""


@dataclass(frozen=True, slots=True)
class VideoRule:
    """What a video family makes: lengths (each its own checkpoint), frame rates and the
    pipelines' frame and side rules.

    Frames are `seconds * fps` moved to the nearest `frame_step * k + 1` (the video VAE
    packs `frame_step` frames into one latent frame after the first). Starting from a picture
    needs `min_image_frames` at least: below that the image-to-video pipeline returns black
    frames without an error. `fast_steps` and `fast_guidance` are the distilled checkpoints'
    defaults (`--fast`).
    """

    seconds: tuple[int, ...] = (5, 10)
    fps: int = 24
    max_fps: int = 30
    frame_step: int = 4
    side_multiple: int = 16
    min_image_frames: int = 17
    fast_steps: int = 16
    fast_guidance: float = 1.0

    def frames(self, seconds: int, fps: int) -> int:
        """How many frames a video of `seconds` at `fps` has."""
        return max(int(seconds * fps / self.frame_step + 0.5), 1) * self.frame_step + 1

    @staticmethod
    def role(seconds: int, *, image: bool, fast: bool) -> str:
        """The checkpoint role of a video: `text2video-5s`, `text2video-fast-10s`,
        `image2video-5s`..."""
        kind = "image2video" if image else "text2video"
        return f"{kind}{'-fast' if fast else ''}-{seconds}s"


@dataclass(frozen=True, slots=True)
class PriorDefaults:
    """The prior's own defaults, for a family that makes image embeddings first."""

    steps: int
    guidance_scale: float


@dataclass(frozen=True, slots=True)
class FamilySpec:
    """One Kandinsky family, declared once.

    `tasks` names every task of `generation.request.Task` (by its value). `checkpoints` maps
    each checkpoint role the family's pipelines load (prior, text2img, inpaint,
    controlnet_depth...) to its hub checkpoint; an operator's registry file may replace any of
    them. `pipelines` and `tiny` are dotted module paths: the module that calls diffusers
    (it declares `PIPELINES`, a `generation.engine.family.FamilyPipelines`) and the module
    that builds the family's tiny random checkpoints (it declares `TINY`, a
    `generation.engine.tiny.TinyBuilder`). `schedulers` names the schedulers of
    `generation.request.SCHEDULERS` the family takes (None: all of them); `batches` says
    whether compatible requests may share one pipeline call (False where a shared call
    would change a request's pixels). `step_seconds` is about how long one decoder step of
    one 1024x1024 image takes on a data-centre GPU: what waiting times are estimated from
    until the bot has timed the family itself (`bot.jobs.eta`). `video` is set for a family
    that makes videos (`VideoRule`), None for one that makes pictures.
    """

    name: str
    title: str
    tasks: Mapping[str, Capability]
    steps: int
    guidance_scale: float
    prior: PriorDefaults | None
    size_rule: SizeRule
    checkpoints: Mapping[str, Checkpoint]
    pipelines: str
    tiny: str
    schedulers: tuple[str, ...] | None = None
    batches: bool = True
    step_seconds: float = 0.1
    video: VideoRule | None = None

    @property
    def has_prior(self) -> bool:
        """Whether the family makes image embeddings with a prior first."""
        return self.prior is not None

    def supports(self, task: str) -> bool:
        """Whether the family runs `task`."""
        return self.tasks.get(task) is True

    def refusal(self, task: str) -> str | None:
        """The id of the sentence refusing `task`, or None when the family runs it."""
        capability = self.tasks[task]
        return None if capability is True else capability

    def takes_scheduler(self, name: str) -> bool:
        """Whether the family runs with the scheduler called `name`."""
        return self.schedulers is None or name in self.schedulers


@dataclass(frozen=True, slots=True)
class Families:
    """The families the bot knows, in the order users see them, and the default one."""

    specs: tuple[FamilySpec, ...]
    default: str

    def __post_init__(self) -> None:
        names = [spec.name for spec in self.specs]
        if len(set(names)) != len(names):
            raise ValueError(f"model family names must differ, got {', '.join(names)}")
        if self.default not in names:
            raise ValueError(f"the default model family {self.default!r} is not one of {names}")

    def __iter__(self) -> Iterator[FamilySpec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __contains__(self, name: object) -> bool:
        return any(spec.name == name for spec in self.specs)

    def names(self) -> tuple[str, ...]:
        """The family names, as users type them after `--model`."""
        return tuple(spec.name for spec in self.specs)

    def choices(self) -> tuple[tuple[str, str], ...]:
        """(name, title) of each family, for menus and autocomplete."""
        return tuple((spec.name, spec.title) for spec in self.specs)

    def get(self, name: str) -> FamilySpec:
        """The family called `name` exactly; LookupError names the known ones."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise LookupError(f"unknown model family {name!r}; the families are {self.spoken()}")

    def lookup(self, word: str) -> FamilySpec | None:
        """The family `word` names, as a person may write it (`2.2`, `k2.2`, `Kandinsky-3`)."""
        text = word.strip().lower()
        for candidate in (text, _PREFIX.sub("", text, count=1)):
            for spec in self.specs:
                if spec.name.lower() == candidate:
                    return spec
        return None

    def spoken(self) -> str:
        """The names as a list for a sentence: `2.1, 2.2, 3`."""
        return ", ".join(self.names())

    def supporting(self, task: str) -> str:
        """The names of the families that run `task`, as a list for a sentence."""
        return ", ".join(spec.name for spec in self.specs if spec.supports(task))

    def for_task(self, task: str, preferred: str) -> str:
        """`preferred` when it runs `task`, else the first family that does (else `preferred`)."""
        if preferred in self and self.get(preferred).supports(task):
            return preferred
        return next((spec.name for spec in self.specs if spec.supports(task)), preferred)

    def with_family(self, spec: FamilySpec) -> Families:
        """A new registry with `spec` added after the others."""
        return dataclasses.replace(self, specs=(*self.specs, spec))

    def with_sizes(self, sizes: Mapping[str, SizeRule]) -> Families:
        """A new registry where each family named in `sizes` has that size rule."""
        unknown = set(sizes) - set(self.names())
        if unknown:
            raise LookupError(
                f"unknown model families {sorted(unknown)}; the families are {self.spoken()}"
            )
        specs = tuple(
            dataclasses.replace(spec, size_rule=sizes[spec.name]) if spec.name in sizes else spec
            for spec in self.specs
        )
        return dataclasses.replace(self, specs=specs)
