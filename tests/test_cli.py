"""The command line: generate, recipe, errors with exit code 2 and no traceback."""

from __future__ import annotations

import importlib.metadata
import io
from pathlib import Path

import pytest
from PIL import Image

from bot.app.cli import main, spell_out_options
from generation.families import DEFAULT_FAMILIES, MultipleOf
from generation.images import read_recipe
from generation.request import MAX_SEED, Task
from tests.helpers import decode, mask_png, png

SMALL_ARGS = ["--size", "64x64", "--steps", "2", "--prior-steps", "2"]


@pytest.fixture(autouse=True)
def offline_models(tiny_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KBOT_MODELS", str(tiny_models))
    monkeypatch.setenv("KBOT_DEVICE", "cpu")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_generate_writes_pngs_and_shows_progress(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["generate", "a lighthouse", "--seed", "3", "-n", "2", *SMALL_ARGS, "-o", "out"])
    out, err = capsys.readouterr()
    assert code == 0
    paths = [Path(line) for line in out.split()]
    assert len(paths) == 2 and all(path.is_file() for path in paths)
    assert decode(paths[0].read_bytes()).text["seed"] == "3"  # type: ignore[attr-defined]
    assert "▰" in err and "2/2" in err


def test_recipe_prints_and_regenerates_the_same_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "generate",
                "a lighthouse",
                "--model",
                "3",
                "--seed",
                "5",
                *SMALL_ARGS,
                "-o",
                "first.png",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["recipe", "first.png"]) == 0
    shown = capsys.readouterr().out
    assert '"prompt": "a lighthouse"' in shown and '"seed": 5' in shown
    assert main(["recipe", "first.png", "--regenerate", "-o", "again.png"]) == 0
    assert Path("again.png").read_bytes() == Path("first.png").read_bytes()


@pytest.mark.parametrize(
    "model",
    [  # the families that make any multiple-of size (128x64) and batch an -n 2 request
        spec.name
        for spec in DEFAULT_FAMILIES
        if spec.supports(Task.TEXT2IMG) and isinstance(spec.size_rule, MultipleOf)
    ],
)
def test_regenerating_an_image_of_n_2_gives_its_bytes(
    model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = ["--size", "128x64", "--steps", "3", "--prior-steps", "3", "--seed", "11", "-n", "2"]
    assert main(["generate", "a lighthouse", "--model", model, *wide, "-o", "made"]) == 0
    first, second = (Path(line) for line in capsys.readouterr().out.split())
    for number, made in enumerate((first, second)):
        again = Path(f"again-{number}.png")
        assert main(["recipe", str(made), "--regenerate", "-o", str(again)]) == 0
        assert '"index": ' + str(number) in capsys.readouterr().out
        assert again.read_bytes() == made.read_bytes()


def test_image_tasks_from_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    picture = write(tmp_path / "in.png", png((128, 64)))
    mask = write(tmp_path / "mask.png", mask_png())
    assert (
        main(
            [
                "generate",
                "a watercolor",
                "--image",
                str(picture),
                "--strength",
                "0.5",
                "--steps",
                "2",
                "--prior-steps",
                "2",
                "--seed",
                "1",
                "-o",
                "i2i",
            ]
        )
        == 0
    )
    made = Path(capsys.readouterr().out.split()[0])
    image = decode(made.read_bytes())
    assert image.text["task"] == "img2img"  # type: ignore[attr-defined]
    assert image.size[0] > image.size[1], "size follows the picture's aspect"
    assert (
        main(
            [
                "generate",
                "a door",
                "--image",
                str(picture),
                "--mask",
                str(mask),
                *SMALL_ARGS,
                "-o",
                "inpaint",
            ]
        )
        == 0
    )
    assert "inpaint" in capsys.readouterr().out
    assert (
        main(
            [
                "generate",
                "--mix",
                "a cat::0.3",
                "--mix",
                f"{picture}::0.7",
                *SMALL_ARGS,
                "-o",
                "mix",
            ]
        )
        == 0
    )
    assert "mix" in capsys.readouterr().out
    assert (
        main(
            [
                "generate",
                "a tower",
                "--task",
                "depth",
                "--image",
                str(picture),
                *SMALL_ARGS,
                "-o",
                "depth",
            ]
        )
        == 0
    )
    assert "depth" in capsys.readouterr().out


def test_transparent_png_inpaints_without_a_mask(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    image = Image.new("RGBA", (64, 64), (200, 10, 10, 255))
    image.paste((0, 0, 0, 0), (16, 16, 48, 48))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    picture = write(tmp_path / "hole.png", buffer.getvalue())
    assert (
        main(["generate", "a window", "--task", "inpaint", "--image", str(picture), *SMALL_ARGS])
        == 0
    )
    assert "inpaint" in capsys.readouterr().out


def _bomb(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")
    return write(tmp_path / "bomb.png", buffer.getvalue())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a cat", "--size", "700x512"], "--size 700x512: both sides must be multiples of 64"),
        (["a cat", "--steps", "0"], "steps must be between 1 and 150, got 0"),
        (
            ["a cat", "--strength", "2", "--image", "{png}"],
            "strength must be between 0 and 1, got 2.0",
        ),
        (["a cat", "--task", "inpaint", "--image", "{png}"], "inpaint needs a mask"),
        (["--mix", "a cat::1"], "mix needs at least 2 items, got 1"),
        (
            ["a cat", "--model", "3", "--task", "inpaint", "--image", "{png}", "--mask", "{png}"],
            "Kandinsky 3 has no inpainting; try model 2.2",
        ),
        (["a cat", "--image", "{truncated}"], "damaged or cut short"),
        (["a cat", "--image", "{gif}"], "not a PNG, JPEG or WebP"),
        (["a cat", "--image", "{text}"], "not a PNG, JPEG or WebP"),
        (["a cat", "--image", "{bomb}"], "too large"),
        (["a cat", "--image", "missing.png"], "cannot read image missing.png"),
        (["x" * 10_000], "prompt is 10000 characters long; the limit is 1000"),
        (["a cat", "--seed", "-1"], f"seed must be between 0 and {MAX_SEED}, got -1"),
        (
            ["a cat", "—seed", str(MAX_SEED + 1)],
            f"seed must be between 0 and {MAX_SEED}, got {MAX_SEED + 1}",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    files = {
        "png": write(tmp_path / "ok.png", png()),
        "truncated": write(tmp_path / "cut.png", png((256, 256))[:300]),
        "gif": write(tmp_path / "fake.png", gif.getvalue()),
        "text": write(tmp_path / "notes.png", b"just some text"),
        "bomb": _bomb(tmp_path),
    }
    args = [arg.format(**{k: str(v) for k, v in files.items()}) for arg in args]
    code = main(["generate", *args, *([] if "--size" in args else ["--size", "64x64"])])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err and "e+09" not in err


def test_recipe_of_a_foreign_png_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "plain.png", png())
    assert main(["recipe", "plain.png"]) == 2
    assert "carries no Kandinsky bot recipe" in capsys.readouterr().err


def test_version_is_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert (
        capsys.readouterr().out == f"kandinsky-bot {importlib.metadata.version('kandinsky-bot')}\n"
    )


def test_phone_dashes_are_options(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["generate", "a fox", "—seed", "6", "–size", "64x64", "—steps=2", "—prior-steps", "2"]
    assert main([*argv, "-o", "out"]) == 0
    made = Path(capsys.readouterr().out.strip())
    recipe = read_recipe(made.read_bytes())
    assert (recipe["seed"], recipe["width"], recipe["steps"]) == (6, 64, 2)
    # A quoted prompt, and whatever follows a bare --, stay as they are.
    words = ["generate", "—a dash and words", "--", "—seed"]
    assert spell_out_options(words) == words
    assert spell_out_options(["—model", "–n", "—"]) == ["--model", "--n", "—"]


def test_regenerate_writes_beside_the_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["generate", "a lighthouse", "--seed", "2", *SMALL_ARGS, "-o", "kept"]) == 0
    source = Path(capsys.readouterr().out.strip())
    assert source.name == "kandinsky-001-text2img-2.2-2.png"
    assert main(["recipe", str(source), "--regenerate"]) == 0
    again = Path(capsys.readouterr().out.splitlines()[-1])
    assert again == Path("kept") / "kandinsky-002-text2img-2.2-2.png"
    assert again.read_bytes() == source.read_bytes()
    assert not Path("outputs").exists()
    assert main(["recipe", str(source), "--regenerate", "-o", "elsewhere"]) == 0
    assert Path(capsys.readouterr().out.splitlines()[-1]).parent == Path("elsewhere")


def test_default_steps_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KBOT_DEFAULT_STEPS", "3")
    assert main(["generate", "a fox", "--size", "64x64", "--prior-steps", "2", "-o", "a.png"]) == 0
    assert main(["generate", "a fox", *SMALL_ARGS, "-o", "b.png"]) == 0  # --steps wins
    assert [read_recipe(Path(name).read_bytes())["steps"] for name in ("a.png", "b.png")] == [3, 2]
    assert "3/3" in capsys.readouterr().err
