"""The benchmarks at their smallest, so they cannot rot: the real-size GPU benchmark runs on the
CPU at tiny size, and its configs give the published sizes of the Kandinsky 2.2, 3 and 5
components; the bot benchmark runs one round of everything on the tiny models."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmarks import bench_bot
from benchmarks.gpu_real_size import OptionSet, Sample, families_at, interleaved, main, table
from benchmarks.real_size_models import TINY, BuiltCache, parameter_counts
from generation.engine.cache import EngineOptions
from generation.engine.calls import Call
from generation.engine.quantize import QuantizationUnavailable, backend_for
from generation.families.k5.pipelines import PIPELINES as K5
from generation.intake import Intake
from generation.request import GenerationRequest

TINY_RUN = ["--scale", "tiny", "--device", "cpu", "--size", "64", "--steps", "2"]
# The math set runs everything the plain fp16 set runs, within the math attention backend.
TINY_RUN += ["--batches", "1,2", "--options", "math", "--threads", "1"]
HEAD = [
    "family",
    "options",
    "dtype",
    "decoder it/s b1",
    "s/image b1",
    "peak MiB b1",
    "peak MiB b2",
    "img/s b1",
    "img/s b2",
]

# Millions of parameters, as published: the Kandinsky 2.2 model card (prior 1B, U-Net 1.22B,
# MoVQ 67M), OpenCLIP's ViT-bigG-14 (image tower 1844.9M, text tower 694.7M), the
# Kandinsky 3 README (Flan-UL2 text encoder 8.6B, U-Net 3B, MoVQ 267M), and for Kandinsky 5
# T2I Lite its model card (a 6B transformer), Qwen2.5-VL-7B-Instruct (8.29B), the text tower
# of CLIP ViT-L/14 (123M) and the FLUX.1 VAE (83.8M).
PUBLISHED = {
    "5 text2img transformer": 6000,
    "5 text2img text_encoder": 8292,
    "5 text2img text_encoder_2": 123,
    "5 text2img vae": 83.8,
    "2.2 prior prior": 1000,
    "2.2 prior image_encoder": 1844.9,
    "2.2 prior text_encoder": 694.7,
    "2.2 text2img unet": 1220,
    "2.2 text2img movq": 67,
    "3 text2img text_encoder": 8600,
    "3 text2img unet": 3000,
    "3 text2img movq": 267,
}


@pytest.fixture
def threads() -> Iterator[None]:
    """The script sets torch's thread count (`--threads`); put it back afterwards."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_tiny_run_prints_a_row_of_positive_figures_per_family(
    capsys: pytest.CaptureFixture[str], threads: None
) -> None:
    main(TINY_RUN)
    out = capsys.readouterr().out
    assert "- date: " in out
    assert "- GPU: none (CPU" in out
    assert f"torch {torch.__version__}" in out
    head, rule, *rows = [cells(line) for line in out.splitlines() if line.startswith("|")]
    assert head == HEAD
    assert set(rule) == {"---"}
    assert [row[:3] for row in rows] == [  # the engine runs fp32 on a CPU whatever is asked
        ["2.2", "fp16, math attention", "float32"],
        ["3", "fp16, math attention", "float32"],
        ["5", "fp16, math attention", "float32"],
    ]
    for row in rows:
        figures = [float(cell) for cell in row[3:]]
        assert len(figures) == len(HEAD) - 3
        assert all(figure > 0 for figure in figures), row


class FakeBench:
    """Answers `measure` at once: the median shows which round a figure came from."""

    def __init__(self) -> None:
        self.measured: list[str] = []
        self.releases = 0

    def measure(self, family: str, chosen: OptionSet) -> Sample:
        self.measured.append(f"{family} {chosen.label}")
        if chosen.engine.get("compile"):
            raise RuntimeError("CUDA out of memory")
        rounds = sum(entry == self.measured[-1] for entry in self.measured)
        return Sample("float16", float(rounds), 1.0, {1: 2.0}, {1: 100.0})

    def release(self) -> None:
        self.releases += 1


def test_rounds_interleave_the_option_sets_and_a_failed_set_shows_in_its_row() -> None:
    bench = FakeBench()
    results = interleaved(bench, ["2.2"], ["fp16", "math", "compile"], rounds=3)
    fp16, math, compiled = (
        "2.2 fp16, SDPA",
        "2.2 fp16, math attention",
        "2.2 fp16, compile + channels_last",
    )
    assert bench.measured == [fp16, math, compiled, compiled, math, fp16, fp16, math, compiled]
    assert bench.releases == 3  # after each failure, the device memory it held is given back
    rows = table(argparse.Namespace(batches=[1]), results).splitlines()[2:]
    assert [cells(row) for row in rows] == [
        ["2.2", "fp16, SDPA", "float16", "2", "1", "100", "100", "2"],  # median of rounds 1, 2, 3
        ["2.2", "fp16, math attention", "float16", "2", "1", "100", "100", "2"],
        ["2.2", "fp16, compile + channels_last", "failed: RuntimeError", "-", "-", "-", "-", "-"],
    ]


def test_the_transcribed_configs_give_the_published_sizes() -> None:
    counts = {name: count / 1e6 for name, count in parameter_counts("real").items()}
    assert set(counts) == set(PUBLISHED)
    for name, published in PUBLISHED.items():
        assert counts[name] == pytest.approx(published, rel=0.05), name


def test_the_tiny_configs_are_small() -> None:
    assert max(parameter_counts("tiny").values()) < 2_000_000


def _installed(mode: str) -> bool:
    try:
        backend_for(mode)
    except QuantizationUnavailable:
        return False
    return True


def test_kandinsky_5_runs_its_own_option_sets_one_request_per_call(
    capsys: pytest.CaptureFixture[str], threads: None
) -> None:
    """Half precision, offload, and int8 and nf4 weights, each skipped without its backend;
    at the square of the family's size list."""
    main([*TINY_RUN[: TINY_RUN.index("--options")], "--families", "5", "--threads", "1"])
    out = capsys.readouterr().out
    assert "- 5: 64x64; 2 decoder steps" in out
    _, _, *rows = [cells(line) for line in out.splitlines() if line.startswith("|")]
    assert [row[1] for row in rows] == [
        "fp16, SDPA",
        "fp16, CPU offload",
        "fp16, int8 weights",
        "fp16, nf4 weights",
    ]
    for row, mode in zip(rows, ["none", "none", "int8", "nf4"], strict=True):
        if mode != "none" and not _installed(mode):
            assert row[2:] == ["skipped: backend not installed"] + ["-"] * 6
        else:
            assert all(float(cell) > 0 for cell in row[3:]), row


def test_quantized_sets_load_the_built_pipeline_through_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: None
) -> None:
    """Quantized weights come only through `from_pretrained`: the built pipeline is saved once
    and loaded back by the engine (here without a quantization backend, which this machine
    may lack: the engine is asked for no quantization config)."""
    import generation.engine.cache

    monkeypatch.setattr(generation.engine.cache, "pipeline_quantization", lambda *args: None)
    torch.set_num_threads(1)
    cache = BuiltCache(EngineOptions(device="cpu", quantize="int8"), TINY, tmp_path)
    pipe = cache.get("5", "text2img", K5.roles)
    assert (tmp_path / "5-text2img" / "model_index.json").is_file()
    assert cache.loads == 1 and type(pipe).__name__ == "Kandinsky5T2IPipeline"
    intake = Intake(families=families_at("tiny"))
    request = intake.prepare(
        GenerationRequest(model="5", prompt="a fox", width=64, height=64, steps=2, seed=1)
    )
    (image,) = K5.run(cache, Call([request], [intake.decode(request)], lambda done, total: None))
    assert image.size == (64, 64)


BENCH_BOT_TINY = ["--families", "2.2", "--size", "64", "--steps", "2", "--rounds", "1"]
BENCH_BOT_TINY += ["--users", "3", "--batch-size", "64", "--batch-steps", "2"]
BENCH_BOT_TINY += ["--other-rounds", "1"]


def test_the_bot_benchmark_prints_every_figure_and_stages_that_add_up(
    tiny_models: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make bench-bot` at its smallest: the bot as a process against the fake Telegram."""
    monkeypatch.setenv("KBOT_MODELS", str(tiny_models))
    bench_bot.main(BENCH_BOT_TINY)
    out = capsys.readouterr().out
    assert "same pixels: yes" in out  # the direct side made the bot's picture
    head, rule, *rows = [cells(line) for line in out.splitlines() if line.startswith("|")]
    assert head == ["figure", "bot", "direct / one by one", "ratio", "goal"]
    assert set(rule) == {"---"}
    assert [row[0][:3] for row in rows] == ["(a)", "(b)", "(c)", "(c)", "(d)"]
    for row in rows:
        figures = [cell.removesuffix(" s").removesuffix("x") for cell in row[1:4] if cell]
        assert all(float(figure) > 0 for figure in figures), row
    stages = [line.split() for line in out.splitlines() if line.endswith(" ms") and "  " in line]
    names = [" ".join(words[:-2]) for words in stages]
    assert names == list(bench_bot.STAGE_NAMES.values())
    assert all(float(words[-2]) >= 0 for words in stages)
    summed = next(line for line in out.splitlines() if line.strip().startswith("sum "))
    total, end_to_end, answer = (
        float(word) for word in summed.replace(";", "").split() if _number(word)
    )
    assert sum(float(words[-2]) for words in stages) == pytest.approx(total, abs=0.5)
    # marks in order from the update to the photo (the script asserts it): nothing left out
    assert total == pytest.approx(end_to_end, abs=0.1) and answer >= 0


def _number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


async def test_the_gpu_checks_video_entry_times_a_video_on_the_cpu(service: Any) -> None:
    """The video entry of `gpu_check.py` at tiny size on the CPU (5 frames instead of 121):
    a figure in seconds, no GPU memory, and the video it timed."""
    from benchmarks.gpu_check import VIDEO, video_figures

    made = await video_figures(service, VIDEO.replace(fps=1))
    assert made.seconds > 0 and made.peak_mib is None and made.frames == 5
