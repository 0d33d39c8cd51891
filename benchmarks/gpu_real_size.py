"""Real-size Kandinsky 2.2, 3 and 5 on a GPU, with random weights: what each option buys.

Builds the real architectures (2.2: the PriorTransformer with the ViT-bigG CLIP text and image
towers, then the 1.25B UNet2DConditionModel with its MoVQ; 3: the Flan-UL2 T5 encoder, the 3B
Kandinsky3UNet and its MoVQ; 5: the 6B diffusion transformer of Kandinsky 5 T2I Lite with the
Qwen2.5-VL-7B and CLIP ViT-L text encoders and the FLUX.1 VAE) with random weights made
directly on the device (nothing is downloaded), as the diffusers pipelines the bot uses
(KandinskyV22PriorPipeline, KandinskyV22Pipeline, Kandinsky3Pipeline, Kandinsky5T2IPipeline),
and runs them through the engine's own code: the pipeline cache applies the options as in the
bot and each call goes through the family's `run`, as a job does. The configs are in
`real_size_models.py` and `real_size_k5.py`, written out from the checkpoints' configs (not
read from the hub); `--count` prints the parameters they give, to compare with the published
sizes.

For each option set it prints a markdown table: decoder (UNet or transformer) iterations per
second and seconds per image (first batch size, batch 1 by default), peak GPU memory
(`torch.cuda.max_memory_allocated`; on a CPU the process's peak RSS) at the first and last
batch sizes, and images per second at each batch size. 2.2 and 3 run by default with half
precision and SDPA, the math attention backend, `torch.compile` with channels_last, and CPU
offload (fp32 when asked for); 5 with half precision (bf16, as the bot runs it), CPU offload,
and int8 and nf4 weights (`KBOT_QUANTIZE`; a set whose backend is not installed shows
"skipped"). Kandinsky 5 runs at the square of its size list (1024x1024) and, as in the bot,
one request per call: its img/s at batch N is N requests one after another. Rounds are
interleaved (every option set once per round, the order reversed every other round) and the
table holds each figure's median. The pipelines are built afresh for every set in every round,
so only one set is in memory at a time and its peak is its own.

`--scale tiny` builds small configs of the same architectures, so the same code runs on a
CPU in seconds (the test suite does, so this script cannot rot); those figures are no
performance data.

    python benchmarks/gpu_real_size.py                      # everything, on cuda
    python benchmarks/gpu_real_size.py --families 2.2 --options fp16,compile --rounds 2
    python benchmarks/gpu_real_size.py --families 5 --steps 50 --batches 1
    python benchmarks/gpu_real_size.py --scale tiny --device cpu --size 64 --steps 2
"""

from __future__ import annotations

import argparse
import datetime
import gc
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import diffusers
import torch
import transformers
from torch.nn.attention import SDPBackend, sdpa_kernel

from benchmarks.building import Config
from benchmarks.real_size_models import FAMILIES, SCALES, BuiltCache, parameter_counts
from generation.engine.cache import EngineOptions, Load
from generation.engine.calls import Call
from generation.engine.family import FamilyPipelines, load_pipelines
from generation.engine.quantize import QuantizationUnavailable, backend_for
from generation.families import DEFAULT_FAMILIES, Families, SizeList
from generation.families.k5.tiny import TINY_SIZES
from generation.intake import Intake
from generation.request import GenerationRequest


# --- option sets ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OptionSet:
    """Engine options for one row of the table, and whether attention runs on the math backend."""

    label: str
    engine: Config = field(default_factory=dict)
    math_attention: bool = False

    def options(self, device: str) -> EngineOptions:
        # xformers off: the attention compared is PyTorch's SDPA (default backend or math)
        return EngineOptions(device=device, xformers=False, **self.engine)

    def attention(self) -> AbstractContextManager[Any]:
        return sdpa_kernel(SDPBackend.MATH) if self.math_attention else nullcontext()

    def check_backend(self) -> None:
        """Raise QuantizationUnavailable when the quantization backend is not installed."""
        backend_for(str(self.engine.get("quantize", "none")))


OPTION_SETS = {
    "fp16": OptionSet("fp16, SDPA", {"fp16": True}),
    "math": OptionSet("fp16, math attention", {"fp16": True}, math_attention=True),
    "compile": OptionSet("fp16, compile + channels_last", {"fp16": True, "compile": True}),
    "offload": OptionSet("fp16, CPU offload", {"fp16": True, "cpu_offload": True}),
    "fp32": OptionSet("fp32, SDPA", {"fp16": False}),
    "int8": OptionSet("fp16, int8 weights", {"fp16": True, "quantize": "int8"}),
    "nf4": OptionSet("fp16, nf4 weights", {"fp16": True, "quantize": "nf4"}),
}
DEFAULT_SETS = "fp16,math,compile,offload"
FAMILY_SETS = {"5": "fp16,offload,int8,nf4"}
"""Each family's option sets when `--options` does not say (the default sets otherwise)."""
PROMPT = "a red fox in a winter forest, oil painting, 4k"
WARMUP_STEPS = 2


# --- measuring --------------------------------------------------------------------------------
@dataclass(slots=True)
class Sample:
    """One option set's figures in one round."""

    dtype: str
    iterations_per_s: float
    seconds_per_image: float
    images_per_s: dict[int, float] = field(default_factory=dict)
    peak_mib: dict[int, float] = field(default_factory=dict)

    def figures(self, batches: Sequence[int]) -> list[float]:
        """The table's figures, in its order."""
        peaks = [self.peak_mib[batches[0]], self.peak_mib[batches[-1]]]
        rates = [self.images_per_s[batch] for batch in batches]
        return [self.iterations_per_s, self.seconds_per_image, *peaks, *rates]

    def summary(self) -> str:
        rates = ", ".join(f"b{batch} {rate:.3g}" for batch, rate in self.images_per_s.items())
        return (
            f"{self.iterations_per_s:.3g} it/s, {self.seconds_per_image:.3g} s/image, "
            f"peak {max(self.peak_mib.values()):.0f} MiB, img/s {rates}"
        )


class StepClock:
    """Stamps the first and last decoder steps (device synchronised) for iterations/s."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self.sync = sync
        self.stamps: dict[int, float] = {}
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        if done in (1, total):
            self.sync()
            self.stamps[done] = time.perf_counter()
            self.total = total

    def rate(self) -> float:
        return (self.total - 1) / (self.stamps[self.total] - self.stamps[1])


class Bench:
    """Runs the engine's calls on one device and reads its memory."""

    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args = args
        self.scratch = scratch  # where pipelines are saved for quantized loading
        self.device = EngineOptions(device=args.device).resolved_device()
        self.cuda = self.device.type == "cuda"
        self.families = families_at(args.scale)
        self.intake = Intake(families=self.families)

    def size(self, family: str) -> tuple[int, int]:
        """The size a family runs at: `--size` square, or the listed size nearest to it."""
        side = self.args.size
        return self.families.get(family).size_rule.default_size(side, side)

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def call(self, family: str, batch: int, steps: int, clock: StepClock | None = None) -> Call:
        """`batch` users' requests for one pipeline call, as the bot batches them.

        Warm-up calls (no clock) run the 2.2 prior for as few steps as the decoder.
        """
        width, height = self.size(family)
        has_prior = DEFAULT_FAMILIES.get(family).prior is not None
        prior_steps = steps if clock is None and has_prior else None  # None: the default
        requests = [
            self.intake.prepare(
                GenerationRequest(
                    model=family,
                    prompt=PROMPT,
                    width=width,
                    height=height,
                    steps=steps,
                    prior_steps=prior_steps,
                    seed=seed,
                )
            )
            for seed in range(batch)
        ]
        inputs = [self.intake.decode(request) for request in requests]
        return Call(requests=requests, inputs=inputs, progress=clock or (lambda done, total: None))

    def peak_mib(self) -> float:
        if self.cuda:
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        # the process's high-water mark (KiB on Linux, bytes on macOS)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)

    def measure(self, family: str, chosen: OptionSet) -> Sample:
        """Build the family's pipelines with `chosen`, warm up, then time every batch size."""
        chosen.check_backend()
        options = chosen.options(self.args.device)
        cache = BuiltCache(options, SCALES[self.args.scale], self.scratch)
        pipelines = load_pipelines(DEFAULT_FAMILIES.get(family))
        try:
            with chosen.attention():
                for batch in self.args.batches:  # compile records one graph per batch size
                    self.run(pipelines, cache, family, batch, WARMUP_STEPS)
                role = pipelines.roles["text2img"]
                half = getattr(torch, role.half) if isinstance(role, Load) else torch.float16
                sample = Sample(str(options.dtype(half)).removeprefix("torch."), 0.0, 0.0)
                for batch in self.args.batches:
                    clock = StepClock(self.sync)
                    if self.cuda:
                        torch.cuda.reset_peak_memory_stats(self.device)
                    self.sync()
                    started = time.perf_counter()
                    made = self.run(pipelines, cache, family, batch, self.args.steps, clock)
                    self.sync()
                    elapsed = time.perf_counter() - started
                    assert made == batch
                    sample.images_per_s[batch] = batch / elapsed
                    sample.peak_mib[batch] = self.peak_mib()
                    if batch == self.args.batches[0]:
                        sample.iterations_per_s = clock.rate()
                        sample.seconds_per_image = elapsed / batch
            return sample
        finally:
            cache.unload()  # on CUDA this also collects garbage and empties torch's cache
            del cache
            if chosen.engine.get("compile"):
                torch.compiler.reset()  # drops the compiled graphs (and their CUDA graph pools)
                self.release()

    def run(
        self,
        pipelines: FamilyPipelines,
        cache: BuiltCache,
        family: str,
        batch: int,
        steps: int,
        clock: StepClock | None = None,
    ) -> int:
        """Run `batch` requests as the bot would; return how many images came back.

        A family whose requests never share a call (Kandinsky 5) runs them one call after
        another, the clock on the first.
        """
        if DEFAULT_FAMILIES.get(family).batches:
            return len(pipelines.run(cache, self.call(family, batch, steps, clock)))
        return sum(
            len(pipelines.run(cache, self.call(family, 1, steps, clock if n == 0 else None)))
            for n in range(batch)
        )

    def release(self) -> None:
        """Give back the device memory of whatever is no longer referenced."""
        if self.cuda:
            gc.collect()
            torch.cuda.empty_cache()


class Measures(Protocol):
    """What the rounds need of a bench."""

    def measure(self, family: str, chosen: OptionSet) -> Sample: ...

    def release(self) -> None: ...


def interleaved(
    bench: Measures, families: Sequence[str], sets: Sequence[str], rounds: int
) -> dict[tuple[str, str], list[Sample | str]]:
    """Every option set once per round, the order reversed every other round."""
    results: dict[tuple[str, str], list[Sample | str]] = {}
    for family in families:
        for index in range(rounds):
            order = sets if index % 2 == 0 else list(reversed(sets))
            for name in order:
                try:
                    sample: Sample | str = bench.measure(family, OPTION_SETS[name])
                except QuantizationUnavailable as error:  # a backend this machine lacks
                    sample = "skipped: backend not installed"
                    print(f"{family} {name}: {error}", file=sys.stderr, flush=True)
                except Exception as error:  # report the set as failed and go on to the next
                    sample = f"failed: {type(error).__name__}"
                    print(f"{family} {name}: {error}", file=sys.stderr, flush=True)
                if isinstance(sample, str):
                    bench.release()  # what the failed call's frames held, once they are let go
                results.setdefault((family, name), []).append(sample)
                shown = sample if isinstance(sample, str) else sample.summary()
                print(f"round {index + 1}/{rounds}, {family} {name}: {shown}", file=sys.stderr)
    return results


# --- the report -------------------------------------------------------------------------------
def environment(bench: Bench) -> str:
    """Date, device, driver and library versions, one line each."""
    if bench.cuda:
        device = torch.cuda.get_device_name(bench.device)
        driver = f"{nvidia_driver()} (CUDA {torch.version.cuda})"
        memory = "peak GPU memory: torch.cuda.max_memory_allocated during each call"
    else:
        device = f"none (CPU {platform.machine()}, torch threads: {torch.get_num_threads()})"
        driver = "n/a"
        memory = "peak memory: the process's peak RSS (not per option set)"
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"- date: {stamp}",
            f"- GPU: {device}; driver: {driver}",
            f"- torch {torch.__version__}, diffusers {diffusers.__version__}, "
            f"transformers {transformers.__version__}",
            f"- {memory}",
        ]
    )


def nvidia_driver() -> str:
    """The NVIDIA driver version as nvidia-smi reports it, or "unknown"."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "unknown"
    query = [smi, "--query-gpu=driver_version", "--format=csv,noheader"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


def table(args: argparse.Namespace, results: dict[tuple[str, str], list[Sample | str]]) -> str:
    """The markdown table of medians, one row per family and option set."""
    batches = args.batches
    first, last = batches[0], batches[-1]
    head = ["family", "options", "dtype", f"decoder it/s b{first}", f"s/image b{first}"]
    head += [f"peak MiB b{first}", f"peak MiB b{last}"]
    head += [f"img/s b{batch}" for batch in batches]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (family, name), samples in results.items():
        done = [sample for sample in samples if isinstance(sample, Sample)]
        failed = [sample for sample in samples if isinstance(sample, str)]
        cells = [family, OPTION_SETS[name].label]
        if failed or not done:
            cells += [failed[0] if failed else "no data"] + ["-"] * (len(head) - 3)
        else:
            columns = zip(*(sample.figures(batches) for sample in done), strict=True)
            cells += [done[0].dtype] + [f"{statistics.median(c):.3g}" for c in columns]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def report(bench: Bench, results: dict[tuple[str, str], list[Sample | str]]) -> str:
    args = bench.args
    note = " (tiny configs: no performance data)" if args.scale == "tiny" else ""
    prior = DEFAULT_FAMILIES.get("2.2").prior
    sizes = ", ".join(
        f"{family}: {w}x{h}" for family in args.families for w, h in [bench.size(family)]
    )
    settings = (
        f"- {sizes}; {args.steps} decoder steps "
        f"(2.2: {prior.steps if prior else 0} prior steps), "
        f"default guidance; batches {', '.join(map(str, args.batches))}; "
        f"interleaved rounds: {args.rounds}, medians"
    )
    title = f"## Kandinsky {', '.join(args.families)} at {args.scale} size{note}"
    return "\n".join([title, "", environment(bench), settings, "", table(args, results)])


# --- command line -----------------------------------------------------------------------------
def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    def numbers(text: str) -> list[int]:
        return [int(part) for part in text.split(",")]

    def names(known: Sequence[str]) -> Callable[[str], list[str]]:
        def check(text: str) -> list[str]:
            chosen = text.split(",")
            unknown = [name for name in chosen if name not in known]
            if unknown:
                raise argparse.ArgumentTypeError(f"{unknown} not among {', '.join(known)}")
            return chosen

        return check

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=768, help="image side in pixels (768)")
    parser.add_argument("--steps", type=int, default=50, help="decoder steps (50)")
    parser.add_argument("--batches", type=numbers, default=[1, 2, 4, 8], help="1,2,4,8")
    parser.add_argument("--families", type=names(FAMILIES), default=list(FAMILIES))
    defaults = "; ".join(f"{family}: {sets}" for family, sets in FAMILY_SETS.items())
    parser.add_argument(
        "--options",
        type=names(list(OPTION_SETS)),
        help=f"option sets among {', '.join(OPTION_SETS)} ({DEFAULT_SETS}; {defaults})",
    )
    parser.add_argument("--scratch", type=Path, help="folder for quantized loads (a temp one)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, cpu or auto (cuda)")
    parser.add_argument("--scale", choices=list(SCALES), default="real")
    parser.add_argument("--threads", type=int, help="torch CPU threads (torch's default)")
    parser.add_argument("--count", action="store_true", help="print parameter counts and exit")
    args = parser.parse_args(argv)
    if args.steps < 2 or args.rounds < 1 or min(args.batches) < 1:
        parser.error("--steps must be 2 or more, --rounds and every batch 1 or more")
    device = EngineOptions(device=args.device).resolved_device()
    if device.type == "cuda" and not args.count and not torch.cuda.is_available():
        parser.error("no CUDA device here; on a CPU try --scale tiny --device cpu")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.count:
        for name, count in parameter_counts(args.scale).items():
            print(f"{name:28s} {count:>15,}")
        return
    with tempfile.TemporaryDirectory(prefix="kbot-bench-") as temporary:
        bench = Bench(args, args.scratch or Path(temporary))
        results: dict[tuple[str, str], list[Sample | str]] = {}
        for family in args.families:
            sets = args.options or FAMILY_SETS.get(family, DEFAULT_SETS).split(",")
            results |= interleaved(bench, [family], sets, args.rounds)
    print(report(bench, results), flush=True)


def families_at(scale: str) -> Families:
    """The families with the sizes the built models make (the tiny Kandinsky 5 its own)."""
    if scale == "tiny":
        return DEFAULT_FAMILIES.with_sizes({"5": SizeList(TINY_SIZES)})
    return DEFAULT_FAMILIES


if __name__ == "__main__":
    main()
