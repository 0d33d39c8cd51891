"""The common request model every adapter produces, and its validation.

This module is pure: it imports no torch, PIL, chat SDK or SQL library, so adapters and
storage can use it cheaply (enforced by import-linter). What each model family can do and its
defaults come from the family registry (`generation.families`); functions that need it take
it as a parameter, the default registry by default.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from generation.families import DEFAULT_FAMILIES, Families, FamilySpec, MultipleOf
from generation.messages import ERRORS

_T = TypeVar("_T")

MAX_SEED = 2**32 - 1
MAX_IMAGES = 4


class Task(enum.StrEnum):
    """What to generate."""

    TEXT2IMG = "text2img"
    IMG2IMG = "img2img"
    INPAINT = "inpaint"
    MIX = "mix"
    DEPTH = "depth"
    EDIT = "edit"  # a picture changed as an instruction says (no strength)
    ANIMATE = "animate"  # a video, from the prompt or from a picture


class RequestError(ValueError):
    """A request that cannot be run; names the field and the bad value.

    `str(error)` is a complete English sentence fit to show a user. An error made with
    `of` also carries its catalogue id (`key`) and the `values` of its placeholders, so
    a chat can show it in the user's language; one made directly carries a ready message
    (`key` is None).
    """

    def __init__(
        self,
        field: str,
        value: object,
        message: str,
        *,
        key: str | None = None,
        values: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.message = message
        self.key = key
        self.values: dict[str, object] = dict(values or {})

    @classmethod
    def of(cls, field: str, value: object, key: str, /, **values: object) -> Self:
        """An error with the sentence `key` of `generation.messages.ERRORS`, filled in."""
        return cls(field, value, ERRORS[key].format(**values), key=key, values=values)


class GenerationCancelled(Exception):
    """Raised from a step callback to stop a running job at its next step."""


# Schedulers users may choose; "default" keeps the checkpoint's own.
SCHEDULERS: tuple[str, ...] = ("default", "ddim", "ddpm", "dpm++", "dpm++2s")

_IMAGE_TASKS = (Task.IMG2IMG, Task.INPAINT, Task.EDIT)


def supports(family: str, task: Task, families: Families = DEFAULT_FAMILIES) -> bool:
    """Return whether `family` can run `task` (the matrix its spec declares)."""
    return family in families and families.get(family).supports(task)


@dataclass(frozen=True, slots=True)
class MixItem:
    """One ingredient of a mix: a text or an image (bytes), with its weight."""

    weight: float
    text: str | None = None
    image: bytes | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.image is None):
            raise RequestError.of("mix", self.text, "mix_item_kind")


@dataclass(frozen=True, slots=True)
class Limits:
    """Operator-configurable bounds on what a request may ask for."""

    min_side: int = 64
    max_side: int = 1536
    max_pixels: int = 1536 * 1536
    max_prompt_chars: int = 1000
    max_steps: int = 150
    max_prior_steps: int = 100
    max_guidance: float = 30.0
    max_mix_items: int = 8
    max_call_images: int = 32  # in the call an image is made again in (`placement`)


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """Everything needed to make images; images travel as encoded bytes.

    `model` is a family name of the registry (`generation.families`). `steps`,
    `guidance_scale`, the prior's two and `seed` may be left as None: `resolved()` fills
    them (the family's defaults, a random seed) so the stored recipe is always complete.
    For `depth`, `init_image` is the picture the depth map is estimated from (unless
    `depth_hint` is given); with `depth_img2img` it is also the starting image. For `edit`,
    `prompt` is the instruction and `init_image` the picture it changes; `strength` is unused.
    `placement`, to make one image again as it was made, is its place in its pipeline call.
    For `animate`, `seconds` and `fps` (None: the family's defaults) make `frames`, `fast`
    asks for the distilled checkpoint, and `init_image` (optional) is the first frame.
    """

    task: Task = Task.TEXT2IMG
    model: str = DEFAULT_FAMILIES.default
    prompt: str = ""
    negative_prompt: str = ""
    init_image: bytes | None = field(default=None, repr=False)
    mask: bytes | None = field(default=None, repr=False)
    depth_hint: bytes | None = field(default=None, repr=False)
    depth_img2img: bool = False
    mix: tuple[MixItem, ...] = field(default=(), repr=False)
    width: int = 768
    height: int = 768
    steps: int | None = None
    guidance_scale: float | None = None
    prior_guidance_scale: float | None = None
    prior_steps: int | None = None
    strength: float = 0.6
    seed: int | None = None
    scheduler: str = "default"
    num_images: int = 1
    placement: tuple[int, ...] = ()
    seconds: int | None = None
    fps: int | None = None
    fast: bool = False

    def replace(self, **changes: Any) -> GenerationRequest:
        """Return a copy with `changes` applied."""
        return dataclasses.replace(self, **changes)

    def resolved(self, families: Families = DEFAULT_FAMILIES) -> GenerationRequest:
        """Return a copy with the family's defaults and a random seed filled in."""
        spec = families.get(self.model)
        prior, video = spec.prior, spec.video
        fast = video is not None and self.fast
        return self.replace(
            steps=_given(self.steps, video.fast_steps if video and fast else spec.steps),
            guidance_scale=_given(
                self.guidance_scale, video.fast_guidance if video and fast else spec.guidance_scale
            ),
            seconds=_given(self.seconds, video.seconds[0]) if video else None,
            fps=_given(self.fps, video.fps) if video else None,
            prior_steps=_given(self.prior_steps, prior.steps if prior else None),
            prior_guidance_scale=_given(
                self.prior_guidance_scale, prior.guidance_scale if prior else None
            ),
            seed=self.seed if self.seed is not None else secrets.randbelow(MAX_SEED + 1),
        )

    @property
    def uses_strength(self) -> bool:
        """Whether the decoder starts from an image (so strength matters)."""
        return self.task is Task.IMG2IMG or (self.task is Task.DEPTH and self.depth_img2img)

    @property
    def decoder_steps(self) -> int:
        """Steps the decoder runs (image to image skips the first ones); 0 unless resolved."""
        steps = self.steps or 0
        return min(int(steps * self.strength), steps) if self.uses_strength else steps

    def recipe(self, families: Families = DEFAULT_FAMILIES) -> dict[str, Any]:
        """Return the parameters that reproduce this request (no image bytes)."""
        recipe: dict[str, Any] = {
            "task": str(self.task),
            "model": str(self.model),
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "width": self.width,
            "height": self.height,
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "seed": self.seed,
            "scheduler": self.scheduler,
        }
        if families.get(self.model).has_prior:
            recipe["prior_guidance_scale"] = self.prior_guidance_scale
            recipe["prior_steps"] = self.prior_steps
        if self.uses_strength:
            recipe["strength"] = self.strength
        if self.task is Task.DEPTH:
            recipe["depth_img2img"] = self.depth_img2img
        video = families.get(self.model).video
        if video is not None and self.seconds and self.fps:
            frames = video.frames(self.seconds, self.fps)
            recipe.update(seconds=self.seconds, fps=self.fps, frames=frames, fast=self.fast)
        if self.task is Task.MIX:
            recipe["mix"] = [
                {"weight": item.weight, "text": item.text}
                if item.text is not None
                else {"weight": item.weight, "image": True}
                for item in self.mix
            ]
        return recipe

    @classmethod
    def from_recipe(
        cls, recipe: dict[str, Any], families: Families = DEFAULT_FAMILIES
    ) -> GenerationRequest:
        """Rebuild a request from `recipe()` output (image inputs must be added back)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"mix", "init_image", "mask"}
        fields = {key: value for key, value in recipe.items() if key in known}
        mix = tuple(
            MixItem(weight=float(item["weight"]), text=item["text"])
            for item in recipe.get("mix", ())
            if item.get("text") is not None
        )
        return cls(**fields, mix=mix).normalised(families)

    def to_record(self) -> tuple[dict[str, Any], list[bytes]]:
        """Split into a JSON-safe dict and the picture bytes it refers to by index."""
        blobs: list[bytes] = []

        def ref(data: bytes | None) -> int | None:
            if data is None:
                return None
            blobs.append(data)
            return len(blobs) - 1

        record: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name in ("init_image", "mask", "depth_hint"):
                record[item.name] = ref(value)
            elif item.name == "mix":
                record["mix"] = [
                    {"weight": mix.weight, "text": mix.text, "image": ref(mix.image)}
                    for mix in value
                ]
            elif item.name == "placement":
                record["placement"] = list(value)
            else:
                record[item.name] = str(value) if isinstance(value, enum.Enum) else value
        return record, blobs

    @classmethod
    def from_record(
        cls, record: dict[str, Any], blobs: list[bytes], families: Families = DEFAULT_FAMILIES
    ) -> GenerationRequest:
        """Rebuild a request written by `to_record`."""

        def deref(index: int | None) -> bytes | None:
            return None if index is None else blobs[index]

        values = dict(record)
        for name in ("init_image", "mask", "depth_hint"):
            values[name] = deref(values.get(name))
        values["mix"] = tuple(
            MixItem(weight=item["weight"], text=item.get("text"), image=deref(item.get("image")))
            for item in values.get("mix", ())
        )
        values["placement"] = tuple(values.get("placement", ()))
        return cls(**values).normalised(families)

    def normalised(self, families: Families = DEFAULT_FAMILIES) -> GenerationRequest:
        """Return a copy whose task is a `Task` and whose model is a known family name.

        Accepts the task's string value; RequestError names a task or model nobody knows.
        """
        try:
            task = Task(str(self.task))
        except ValueError:
            choices = ", ".join(member.value for member in Task)
            raise _not_one_of("task", self.task, choices) from None
        if str(self.model) not in families:
            raise _not_one_of("model", self.model, families.spoken())
        return self.replace(task=task, model=str(self.model))


def _given(value: _T | None, default: _T) -> _T:
    """`value` unless it is None, else `default`."""
    return default if value is None else value


def _not_one_of(name: str, value: object, choices: str) -> RequestError:
    return RequestError.of(name, value, "one_of", name=name, choices=choices, value=repr(value))


def validate(
    request: GenerationRequest,
    limits: Limits | None = None,
    families: Families = DEFAULT_FAMILIES,
) -> GenerationRequest:
    """Check `request` against its family's matrix and `limits`; return it normalised.

    Raises RequestError naming the first bad field and its value.
    """
    limits = limits or Limits()
    request = request.normalised(families)
    spec = families.get(request.model)
    refusal = spec.refusal(request.task)
    if refusal is not None:
        able = families.supporting(request.task)
        raise RequestError.of("model", request.model, refusal, model=request.model, able=able)
    _check_text(request, limits)
    _check_size(request.width, request.height, limits, spec)
    _check_numbers(request, limits)
    _check_scheduler(request, spec)
    _check_inputs(request, limits)
    _check_video(request, spec)
    return request


def refuse_unused(request: GenerationRequest, given: Collection[str]) -> None:
    """Refuse an option the user set (`given`: request field names) that the task ignores.

    `edit` takes no strength: the instruction says what to change.
    """
    if str(request.task) == Task.EDIT and "strength" in given:
        raise RequestError.of("strength", request.strength, "edit_no_strength")


def _check_text(request: GenerationRequest, limits: Limits) -> None:
    for name in ("prompt", "negative_prompt"):
        text = getattr(request, name)
        if not isinstance(text, str):
            raise RequestError.of(name, text, "not_text", name=name)
        if len(text) > limits.max_prompt_chars:
            raise RequestError.of(
                name,
                f"{len(text)} characters",
                "too_long",
                name=name,
                length=len(text),
                limit=limits.max_prompt_chars,
            )
        if "\x00" in text:
            raise RequestError.of(name, text, "no_nul", name=name)
    if request.task is not Task.MIX and not request.prompt.strip():
        raise RequestError.of("prompt", request.prompt, "prompt_empty")


def _check_size(width: object, height: object, limits: Limits, spec: FamilySpec) -> None:
    """Refuse a size, naming it as users give it: `--size WIDTHxHEIGHT`."""
    rule, size = spec.size_rule, f"{width}x{height}"
    for name, side in (("width", width), ("height", height)):
        if not isinstance(side, int) or isinstance(side, bool):
            raise RequestError.of(name, side, "size_format", name="--size", value=size)
    assert isinstance(width, int) and isinstance(height, int)
    if not isinstance(rule, MultipleOf) and (width, height) not in rule.sizes:
        raise RequestError.of(
            "size", size, "size_not_listed", model=spec.name, sizes=rule.spoken(), value=size
        )
    for name, side in (("width", width), ("height", height)):
        if isinstance(rule, MultipleOf) and side % rule.multiple:
            raise RequestError.of(
                name, side, "size_sides_multiple", size=size, multiple=rule.multiple, value=side
            )
        low, high = limits.min_side, limits.max_side
        if not low <= side <= high:
            raise RequestError.of(
                name, side, "size_sides_between", size=size, low=low, high=high, value=side
            )
    if width * height > limits.max_pixels:
        limit = limits.max_pixels
        raise RequestError.of("size", size, "size_pixels", width=width, height=height, limit=limit)


def _plain(number: float) -> float:
    """A bound as people write it: 20 not 20.0, 4294967295 not 4.29497e+09, 7.5 as is."""
    return int(number) if float(number).is_integer() else number


def _check_range(name: str, value: object, low: float, high: float, *, whole: bool) -> None:
    """Refuse a value that is not a number (`whole`: an integer) from `low` to `high`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError.of(name, value, "not_a_number", name=name, value=repr(value))
    if whole and not isinstance(value, int):
        raise RequestError.of(name, value, "whole_number", name=name, value=repr(value))
    if not low <= value <= high or value != value:  # value != value catches NaN
        raise RequestError.of(
            name, value, "between", name=name, low=_plain(low), high=_plain(high), value=value
        )


def _check_scheduler(request: GenerationRequest, spec: FamilySpec) -> None:
    if spec.takes_scheduler(request.scheduler) or request.scheduler not in SCHEDULERS:
        return  # a scheduler nobody knows was refused with the whole list already
    choices = ", ".join(spec.schedulers or SCHEDULERS)
    raise RequestError.of(
        "scheduler",
        request.scheduler,
        "scheduler_for_model",
        model=spec.name,
        choices=choices,
        value=repr(request.scheduler),
    )


def _check_numbers(request: GenerationRequest, limits: Limits) -> None:
    if request.steps is not None:
        _check_range("steps", request.steps, 1, limits.max_steps, whole=True)
    for name in ("guidance_scale", "prior_guidance_scale"):
        if getattr(request, name) is not None:
            _check_range(name, getattr(request, name), 0, limits.max_guidance, whole=False)
    if request.prior_steps is not None:
        _check_range("prior_steps", request.prior_steps, 1, limits.max_prior_steps, whole=True)
    _check_range("strength", request.strength, 0, 1, whole=False)
    _check_range("num_images", request.num_images, 1, MAX_IMAGES, whole=True)
    if request.seed is not None:
        _check_range("seed", request.seed, 0, MAX_SEED, whole=True)
    if request.scheduler not in SCHEDULERS:
        raise RequestError.of(
            "scheduler",
            request.scheduler,
            "one_of",
            name="scheduler",
            choices=", ".join(SCHEDULERS),
            value=repr(request.scheduler),
        )
    steps = request.steps if request.steps is not None else 1
    if request.uses_strength and request.steps is not None and int(steps * request.strength) < 1:
        raise RequestError.of(
            "strength",
            request.strength,
            "no_denoising_step",
            strength=request.strength,
            steps=steps,
        )


def _check_inputs(request: GenerationRequest, limits: Limits) -> None:
    task = request.task
    if task in _IMAGE_TASKS and not request.init_image:
        raise RequestError.of("init_image", None, "needs_picture", task=str(task))
    if task is Task.INPAINT and request.mask is None:
        raise RequestError.of("mask", None, "inpaint_needs_mask")
    if task is Task.DEPTH:
        if not request.init_image and not request.depth_hint:
            raise RequestError.of("init_image", None, "depth_needs_input")
        if request.depth_img2img and not request.init_image:
            raise RequestError.of("init_image", None, "depth_img2img_needs_picture")
    if task is Task.MIX:
        _check_mix(request.mix, limits)
    elif request.mix:
        raise RequestError.of("mix", len(request.mix), "mix_only", task=str(task))


def _check_video(request: GenerationRequest, spec: FamilySpec) -> None:
    """Refuse a length without a checkpoint, a frame rate out of range, and a picture to set
    in motion in fewer frames than the pipeline can."""
    video = spec.video
    if video is None:
        return
    if request.seconds is not None and request.seconds not in video.seconds:
        choices = ", ".join(map(str, video.seconds))
        raise _not_one_of("seconds", request.seconds, choices)
    if request.fps is not None:
        _check_range("fps", request.fps, 1, video.max_fps, whole=True)
    image, seconds = request.init_image is not None, request.seconds or video.seconds[0]
    role = video.role(seconds, image=image, fast=request.fast)
    if role not in spec.checkpoints and request.fast:
        raise RequestError.of("fast", True, "video_image_no_fast", model=spec.name)
    if role not in spec.checkpoints:
        raise RequestError.of(
            "seconds", seconds, "video_image_length", model=spec.name, seconds=seconds
        )
    frames, low = video.frames(seconds, request.fps or video.fps), video.min_image_frames
    if image and frames < low:
        raise RequestError.of("fps", request.fps, "video_image_frames", frames=frames, low=low)


def _check_mix(items: Iterable[MixItem], limits: Limits) -> None:
    items = tuple(items)
    if len(items) < 2:
        raise RequestError.of("mix", len(items), "mix_too_few", count=len(items))
    if len(items) > limits.max_mix_items:
        raise RequestError.of(
            "mix", len(items), "mix_too_many", limit=limits.max_mix_items, count=len(items)
        )
    for item in items:
        _check_range("weight", item.weight, 0, 10, whole=False)
        if item.text is not None and len(item.text) > limits.max_prompt_chars:
            raise RequestError.of("mix", f"{len(item.text)} characters", "mix_text_too_long")
    if sum(item.weight for item in items) <= 0:
        raise RequestError.of("weight", 0, "mix_weights_zero")
