"""Request intake: a request checked and its pictures decoded, without the engine.

Frontends check a request here before they store a job; the engine decodes the same pictures
again when it runs it. Imports the pure request model and PIL only: no torch, no diffusers
(import-linter checks it), so a process that never generates never loads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from generation import images
from generation.families import DEFAULT_FAMILIES, Families
from generation.placement import Placement
from generation.request import GenerationRequest, Limits, Task, validate


@dataclass(frozen=True, slots=True)
class ImageCaps:
    """Limits on pictures users send."""

    max_bytes: int = images.DEFAULT_MAX_BYTES
    max_pixels: int = images.DEFAULT_MAX_PIXELS


@dataclass(slots=True)
class Inputs:
    """A request's pictures, decoded and fitted to its size."""

    init: Image.Image | None = None
    mask: Image.Image | None = None
    depth: Image.Image | None = None  # grey depth map, near = bright
    mix: list[str | Image.Image] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Intake:
    """Checks requests against the operator's bounds and picture caps."""

    limits: Limits = field(default_factory=Limits)
    caps: ImageCaps = field(default_factory=ImageCaps)
    families: Families = DEFAULT_FAMILIES

    def prepare(self, request: GenerationRequest) -> GenerationRequest:
        """Validate `request` and its pictures; return it resolved (defaults, seed).

        Raises RequestError naming the bad field; cheap enough for the event loop.
        """
        request = validate(request, self.limits, self.families).resolved(self.families)
        validate(request, self.limits, self.families)
        Placement.of_request(request, self.limits)
        self.decode(request)
        return request

    def decode(self, request: GenerationRequest) -> Inputs:
        """Decode and fit a request's pictures (RequestError on bad ones)."""
        size = (request.width, request.height)
        inputs = Inputs()
        if request.init_image:
            inputs.init = images.fit(self._picture(request.init_image), *size)
        if request.mask is not None and request.task is Task.INPAINT:
            mask = images.decode_mask(
                request.mask, max_bytes=self.caps.max_bytes, max_pixels=self.caps.max_pixels
            )
            inputs.mask = images.fit(mask, *size, nearest=True)
        if request.depth_hint:
            hint = self._picture(request.depth_hint, "depth_hint")
            inputs.depth = images.fit(hint, *size).convert("L")
        for item in request.mix:
            if item.image is not None:
                inputs.mix.append(self._picture(item.image, "mix"))
            else:
                assert item.text is not None
                inputs.mix.append(item.text)
        return inputs

    def _picture(self, data: bytes, name: str = "init_image") -> Image.Image:
        return images.decode_image(
            data, field=name, max_bytes=self.caps.max_bytes, max_pixels=self.caps.max_pixels
        )
