"""A tiny random image classifier for the image check (`generation.engine.safety`), built
locally like the tiny Kandinsky checkpoints: a one-layer ViT with the labels `normal` and
`nsfw`, saved with its image processor, loaded by the real transformers pipeline.

Its weights are random but its verdict is set: the head's weights are zero and its bias makes
one label always win (`flags`: `nsfw`, else `normal`), whatever the picture.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessorPil

SIDE = 32


def build_tiny_classifier(folder: Path, *, flags: bool = False) -> Path:
    """Save the tiny classifier under `folder` (made if need be); return the folder."""
    torch.manual_seed(0)
    config = ViTConfig(
        image_size=SIDE,
        patch_size=16,
        num_channels=3,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        id2label={0: "normal", 1: "nsfw"},
        label2id={"normal": 0, "nsfw": 1},
    )
    model = ViTForImageClassification(config)
    head = model.classifier
    assert isinstance(head, torch.nn.Linear)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([-8.0, 8.0] if flags else [8.0, -8.0]))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor = ViTImageProcessorPil(size={"height": SIDE, "width": SIDE})
    processor.save_pretrained(folder)
    return folder
