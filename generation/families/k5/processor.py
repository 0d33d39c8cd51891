"""The Qwen2-VL processor of the tiny Kandinsky 5 checkpoints: text and pictures, no video.

transformers' `Qwen2VLProcessor` wants a video processor, and that needs torchvision, which
a CPU-only torch may lack. Kandinsky 5 never sends video to its processor, so the tiny
checkpoints use this subclass without the video slot. diffusers records this module in their
`model_index.json` and imports it when it loads them. The real checkpoints name
`Qwen2VLProcessor` itself. Imports transformers.
"""

from __future__ import annotations

from typing import Any

from transformers import ProcessorMixin, Qwen2VLProcessor


def _init(
    self: Any,
    image_processor: Any = None,
    tokenizer: Any = None,
    chat_template: str | None = None,
    **kwargs: Any,
) -> None:
    """Take an image processor and a tokenizer only."""
    self.image_token = "<|image_pad|>"
    self.video_token = "<|video_pad|>"
    self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
    self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
    ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


# Made with type(): transformers is untyped here, and a class statement would subclass Any.
ImageOnlyQwenProcessor = type(
    "ImageOnlyQwenProcessor",
    (Qwen2VLProcessor,),
    {
        "__init__": _init,
        "__module__": __name__,
        "__doc__": "`Qwen2VLProcessor` with an image processor and a tokenizer only.",
    },
)
