"""Which requests may share one pipeline call. Pure, like the request model it reads."""

from __future__ import annotations

from generation.families import DEFAULT_FAMILIES, Families
from generation.request import GenerationRequest, Task

BATCHABLE = (Task.TEXT2IMG, Task.IMG2IMG)  # tasks whose requests may share a pipeline call


def batch_key(request: GenerationRequest, families: Families = DEFAULT_FAMILIES) -> object:
    """Requests with equal keys can run in one pipeline call (never those of a family that
    does not batch, `FamilySpec.batches`, nor one that makes an image again in its own call).

    They differ at most in prompt, seed, starting picture and the words of the negative
    prompt: whether there is one is shared, since a call with any negative prompt gives an
    empty one to the requests without (not the same guidance as none).
    """
    alone = request.placement or not families.get(request.model).batches
    if alone or request.task not in BATCHABLE:
        return id(request)
    shared = request.replace(prompt="", negative_prompt="", seed=None, init_image=None)
    return shared, bool(request.negative_prompt)
