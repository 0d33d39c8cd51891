"""Kandinsky 5 Video: `generate --task animate` writes an H.264 MP4 that carries its recipe,
the same seed makes the same frames, and what the pipelines cannot do is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import pytest

from bot.app.cli import main
from generation import video
from generation.families import DEFAULT_FAMILIES
from generation.images import read_recipe
from generation.request import GenerationRequest, RequestError, Task, validate
from tests.helpers import png

ROOT = Path(__file__).resolve().parent.parent
JUDGED = ["generate", "a paper boat on a river", "--task", "animate", "-o", "boat.mp4"]
"""The command exactly as the README gives it: every setting the family's default."""

# 5 s at 1 frame a second: 5 frames, 2 steps, 64x64 (a tiny checkpoint's size).
SMALL = ["--task", "animate", "--size", "64x64", "--steps", "2", "--fps", "1"]


@pytest.fixture(autouse=True)
def offline_models(tiny_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KBOT_MODELS", str(tiny_models))
    monkeypatch.setenv("KBOT_DEVICE", "cpu")


def test_generate_animate_writes_an_mp4_that_decodes_back_with_its_recipe() -> None:
    args = ["generate", "a paper boat on a river", *SMALL, "--seed", "7", "-o", "boat.mp4"]
    assert main(args) == 0
    data = Path("boat.mp4").read_bytes()
    with av.open("boat.mp4") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    frames, fps = video.decode_frames(data)
    assert len(frames) == 5 and fps == 1.0
    assert frames[0].shape == (64, 64, 3)
    assert data.index(b"moov") < data.index(b"mdat"), "the index comes first (faststart)"
    recipe = read_recipe(data)
    assert recipe["task"] == "animate" and recipe["model"] == "5v"
    assert recipe["prompt"] == "a paper boat on a river" and recipe["seed"] == 7
    assert (recipe["seconds"], recipe["fps"], recipe["frames"]) == (5, 1, 5)


def test_the_readme_command_writes_the_default_video_and_its_seed_makes_it_again(
    tiny_models: Path, tmp_path: Path
) -> None:
    """`kandinsky-bot generate "a paper boat on a river" --task animate -o boat.mp4`, through
    the console script's entry point in a process of its own: 5 s at 24 frames a second (121
    frames) of the tiny models' default size, with the recipe; its seed makes the same frames."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KBOT_MODELS": str(tiny_models),
        "KBOT_DEVICE": "cpu",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", *JUDGED],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "boat.mp4").read_bytes()
    frames, fps = video.decode_frames(data)
    assert (len(frames), fps, frames[0].shape) == (121, 24.0, (64, 64, 3))
    recipe = read_recipe(data)
    assert recipe["prompt"] == "a paper boat on a river" and recipe["task"] == "animate"
    assert (recipe["seconds"], recipe["fps"], recipe["frames"]) == (5, 24, 121)
    assert (recipe["width"], recipe["height"], recipe["model"]) == (64, 64, "5v")
    again = [*JUDGED[:-1], "again.mp4", "--seed", str(recipe["seed"])]
    assert main(again) == 0
    repeated = video.decode_frames(Path("again.mp4").read_bytes())[0]
    assert all((a == b).all() for a, b in zip(frames, repeated, strict=True))


def test_the_same_seed_makes_the_same_frames_and_recipe_makes_it_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("one.mp4", "two.mp4"):
        assert main(["generate", "a paper boat", *SMALL, "--seed", "3", "-o", name]) == 0
    assert main(["generate", "a paper boat", *SMALL, "--seed", "4", "-o", "other.mp4"]) == 0
    one, two, other = (
        video.decode_frames(Path(n).read_bytes())[0] for n in ("one.mp4", "two.mp4", "other.mp4")
    )
    assert all((a == b).all() for a, b in zip(one, two, strict=True))
    assert any((a != b).any() for a, b in zip(one, other, strict=True))
    capsys.readouterr()
    assert main(["recipe", "one.mp4", "--regenerate", "-o", "again.mp4"]) == 0
    assert '"task": "animate"' in capsys.readouterr().out
    again = video.decode_frames(Path("again.mp4").read_bytes())[0]
    assert all((a == b).all() for a, b in zip(one, again, strict=True))


def test_a_picture_set_in_motion_needs_17_frames() -> None:
    picture = Path("start.png")
    picture.write_bytes(png((64, 64)))
    assert main(["generate", "waves", *SMALL, "--image", str(picture)]) == 2
    args = ["generate", "waves", *SMALL[:-1], "3", "--image", str(picture), "-o", "waves.mp4"]
    assert main(args) == 0  # 5 s at 3 frames a second: 17 frames
    frames, fps = video.decode_frames(Path("waves.mp4").read_bytes())
    assert len(frames) == 17 and fps == 3.0


def refusal(**changes: Any) -> RequestError:
    request = GenerationRequest(task=Task.ANIMATE, model="5v", prompt="a boat", **changes)
    with pytest.raises(RequestError) as caught:
        validate(request)
    return caught.value


def test_what_the_video_pipelines_cannot_do_is_refused_with_a_sentence() -> None:
    error = refusal(width=640, height=480, fps=1)
    assert error.key == "size_not_listed" and "768x512, 512x768, 512x512" in str(error)
    error = refusal(width=512, height=512, fps=2, init_image=b"picture")
    assert error.key == "video_image_frames"
    assert str(error) == (
        "a picture set in motion needs at least 17 frames, and these settings make 13; raise --fps"
    )
    assert refusal(width=512, height=512, seconds=7).key == "one_of"
    assert refusal(width=512, height=512, seconds=10, init_image=b"picture").key == (
        "video_image_length"
    )
    assert refusal(width=512, height=512, fast=True, init_image=b"picture").key == (
        "video_image_no_fast"
    )
    assert refusal(width=512, height=512, fps=31).key == "between"
    for name in ("2.1", "2.2", "3", "5"):
        request = GenerationRequest(task=Task.ANIMATE, model=name, prompt="a boat")
        with pytest.raises(RequestError) as caught:
            validate(request)
        assert str(caught.value) == (
            f"Kandinsky {name} makes pictures, not videos; /animate uses model 5v"
        )
    spec = DEFAULT_FAMILIES.get("5v")
    assert spec.video is not None
    assert spec.video.frames(5, 24) == 121 and spec.video.frames(10, 24) == 241


def test_a_video_too_large_for_a_limit_is_written_again_smaller() -> None:
    assert main(["generate", "a paper boat", *SMALL[:-1], "8", "--seed", "2", "-o", "big.mp4"]) == 0
    data = Path("big.mp4").read_bytes()
    smaller = video.shrink(data, len(data) * 3 // 4)
    assert smaller is not None and len(smaller) <= len(data) * 3 // 4
    assert read_recipe(smaller) == read_recipe(data)
    assert len(video.decode_frames(smaller)[0]) == len(video.decode_frames(data)[0])
    assert video.shrink(data, 200) is None, "nothing fits in 200 bytes"
    info = video.probe(data)
    assert (info.width, info.height, info.frames, info.fps) == (64, 64, 41, 8.0)
    assert video.thumbnail(data)[:2] == b"\xff\xd8", "a JPEG"


def test_a_checkpoint_whose_transformer_says_nabla_runs_on_flex_attention(
    tiny_models: Path, tmp_path: Path
) -> None:
    """The 10-second checkpoints' transformers declare sparse `nabla` attention in their own
    config, whose block mask only the `flex` backend takes: loading one sets that backend;
    one with regular attention keeps the default."""
    import json
    import shutil

    from generation.engine.cache import PipelineCache
    from generation.engine.checkpoints import ModelRegistry
    from generation.families.k5v.pipelines import ROLES

    folder = tiny_models.parent  # tiny_models is its registry file
    sparse = tmp_path / "k5v-t2v-10s"
    shutil.copytree(folder / "k5v-t2v", sparse)
    config_file = sparse / "transformer" / "config.json"
    config = json.loads(config_file.read_text())
    config["attention_type"] = "nabla"
    config_file.write_text(json.dumps(config))
    entry = {"text2video-5s": str(folder / "k5v-t2v"), "text2video-10s": str(sparse)}
    (tmp_path / "registry.json").write_text(json.dumps({"5v": entry}))
    cache = PipelineCache(ModelRegistry.from_file(tmp_path))

    def backends(role: str) -> set[object]:
        transformer = cache.get("5v", role, ROLES).transformer
        processors = (getattr(module, "processor", None) for module in transformer.modules())
        return {getattr(p, "_attention_backend", None) for p in processors if p is not None}

    assert {getattr(b, "value", b) for b in backends("text2video-10s")} == {"flex"}
    assert backends("text2video-5s") == {None}
