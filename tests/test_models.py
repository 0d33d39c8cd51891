"""Getting the models: `download-models` against a hub on 127.0.0.1, offline refusals, `--tiny`.

The hub (tests/fake_hub.py) serves the tiny checkpoints under the hub ids of the family
registry, so `download-models` and the loads after it run exactly as against the real hub.
The command line runs as a subprocess: `huggingface_hub` reads `HF_HOME`, `HF_ENDPOINT` and
`HF_HUB_OFFLINE` once, at import.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from bot.app.cli import main
from bot.app.models import TINY_SIZE, human_bytes
from bot.app.settings import DEFAULT_SAFETY_MODEL
from generation.engine.checkpoints import ModelRegistry
from generation.engine.hub import PARTIAL_SUFFIX, needed_files
from generation.engine.tiny_classifier import build_tiny_classifier
from generation.families import DEFAULT_FAMILIES, Checkpoint
from tests.botkit import cmd, make_bot
from tests.fake_hub import FakeHub, HubFile, Repo, repository
from tests.postgres import fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--size", "64x64", "--steps", "2", "--prior-steps", "2"]
DEPTH = "Intel/dpt-hybrid-midas"
SAFETY = DEFAULT_SAFETY_MODEL
K22_PRIOR = "kandinsky-community/kandinsky-2-2-prior"
K22_DECODER = "kandinsky-community/kandinsky-2-2-decoder"
K3 = "kandinsky-community/kandinsky-3"
K3_UNET = "unet/diffusion_pytorch_model.fp16.safetensors"
# Files a load never reads, which the hub has beside the ones it does.
DECOYS = {
    "unet/diffusion_pytorch_model.bin": b"pickled weights " * 100,
    "kandinsky-2-2-decoder.ckpt": b"an original checkpoint " * 100,
}
WAIT = 120.0  # seconds before a wait for another process gives up


# -- the files a load reads ----------------------------------------------------------------
def test_safetensors_are_taken_over_other_weight_formats() -> None:
    paths = [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.bin",
        "unet/diffusion_pytorch_model.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.non_ema.safetensors",
        "movq/diffusion_pytorch_model.bin",
        "movq/config.json",
        "text_encoder/flax_model.msgpack",
        "text_encoder/model.onnx",
        "text_encoder/model.safetensors",
        "original.ckpt",
        "README.md",
    ]
    assert needed_files(paths) == [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "movq/diffusion_pytorch_model.bin",  # the only weights of that folder
        "movq/config.json",
        "text_encoder/model.safetensors",
        "README.md",
    ]


def test_a_variant_is_taken_where_a_folder_has_it_with_its_shards() -> None:
    paths = [
        "unet/diffusion_pytorch_model.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "text_encoder/model-00001-of-00002.safetensors",
        "text_encoder/model-00002-of-00002.safetensors",
        "text_encoder/model.safetensors.index.json",
        "text_encoder/model.fp16-00001-of-00002.safetensors",
        "text_encoder/model.fp16-00002-of-00002.safetensors",
        "text_encoder/model.safetensors.index.fp16.json",
        "text_encoder/config.json",
        "movq/diffusion_pytorch_model.safetensors",
    ]
    assert needed_files(paths, "fp16") == [
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "text_encoder/model.fp16-00001-of-00002.safetensors",
        "text_encoder/model.fp16-00002-of-00002.safetensors",
        "text_encoder/model.safetensors.index.fp16.json",
        "text_encoder/config.json",
        "movq/diffusion_pytorch_model.safetensors",  # no fp16 there: the plain weights
    ]
    assert "text_encoder/model.safetensors.index.json" in needed_files(paths)
    assert "unet/diffusion_pytorch_model.fp16.safetensors" not in needed_files(paths)


def test_the_registry_lists_each_familys_checkpoints_and_the_depth_estimator() -> None:
    needed = ModelRegistry().needed(["2.2", "3"], depth=True)
    assert [(n.title, n.checkpoint.id) for n in needed] == [
        ("Kandinsky 2.2 prior", K22_PRIOR),
        ("Kandinsky 2.2 text2img", K22_DECODER),
        ("Kandinsky 2.2 inpaint", "kandinsky-community/kandinsky-2-2-decoder-inpaint"),
        ("Kandinsky 2.2 controlnet_depth", "kandinsky-community/kandinsky-2-2-controlnet-depth"),
        ("Kandinsky 3 text2img", K3),
        ("depth estimator", DEPTH),
    ]
    assert needed[4].checkpoint.variant == "fp16"


# -- a hub on 127.0.0.1 ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def hub_repos(tiny_models: Path) -> dict[str, Repo]:
    """The tiny checkpoints under the hub ids of the family registry."""
    folders = json.loads(tiny_models.read_text(encoding="utf-8"))
    repos = {}
    for spec in DEFAULT_FAMILIES:
        for role, checkpoint in spec.checkpoints.items():
            folder = tiny_models.parent / folders[spec.name][role]
            repos[checkpoint.id] = repository(checkpoint.id, folder, variant=checkpoint.variant)
    repos[DEPTH] = repository(DEPTH, tiny_models.parent / folders["depth_estimator"])
    classifier = build_tiny_classifier(tiny_models.parent / "safety-classifier")
    repos[SAFETY] = repository(SAFETY, classifier)
    decoder = repos[K22_DECODER]
    decoder.files.update({path: HubFile(path, data) for path, data in DECOYS.items()})
    return repos


@pytest.fixture
def hub(hub_repos: dict[str, Repo]) -> Iterator[FakeHub]:
    with FakeHub(hub_repos) as running:
        yield running


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without our settings, the cache under `tmp_path`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KBOT_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_DISABLE_TELEMETRY="1",
        KBOT_DEVICE="cpu",
    )
    env.update(extra)
    return env


def online(tmp_path: Path, hub: FakeHub) -> dict[str, str]:
    return environment(
        tmp_path,
        HF_ENDPOINT=hub.url,
        HF_HUB_OFFLINE="0",
        TRANSFORMERS_OFFLINE="0",
        HF_TOKEN="hf_test_token",
    )


def offline(tmp_path: Path, **extra: str) -> dict[str, str]:
    return environment(tmp_path, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)


def bot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def start(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition: object, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until `condition()` holds while `process` runs (it gives up after `WAIT` s)."""
    assert callable(condition)
    deadline = time.monotonic() + WAIT
    while not condition():
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.05)


def needed_bytes(repos: dict[str, Repo], ids: list[str]) -> int:
    total = 0
    for repo_id, checkpoint in zip(ids, [_checkpoint(i) for i in ids], strict=True):
        files = repos[repo_id].files
        total += sum(files[path].size for path in needed_files(files, checkpoint.variant))
    return total


def _checkpoint(repo_id: str) -> Checkpoint:
    for spec in DEFAULT_FAMILIES:
        for checkpoint in spec.checkpoints.values():
            if checkpoint.id == repo_id:
                return checkpoint
    return Checkpoint(repo_id)


def cached(tmp_path: Path, repo_id: str, path: str) -> Path:
    folder = tmp_path / "hf" / "hub" / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    (snapshot,) = folder.iterdir()
    return snapshot / path


def the_partial(tmp_path: Path, repo_id: str) -> list[Path]:
    blobs = tmp_path / "hf" / "hub" / f"models--{repo_id.replace('/', '--')}" / "blobs"
    return list(blobs.glob(f"*{PARTIAL_SUFFIX}")) if blobs.is_dir() else []


def test_download_models_says_the_size_then_fetches_what_loads_read(
    hub: FakeHub, hub_repos: dict[str, Repo], tmp_path: Path
) -> None:
    args = ["download-models", "--models", "2.2,3", "--depth"]
    done = bot(args, online(tmp_path, hub), tmp_path)
    assert done.returncode == 0, done.stderr
    ids = [
        K22_PRIOR,
        K22_DECODER,
        "kandinsky-community/kandinsky-2-2-decoder-inpaint",
        "kandinsky-community/kandinsky-2-2-controlnet-depth",
        K3,
        DEPTH,
        SAFETY,  # the image check's classifier, KBOT_SAFETY being unset
    ]
    lines = done.stdout.splitlines()
    listed = [re.search(r"  (\S+/\S+)  ", line) for line in lines[: len(ids)]]
    assert [found[1] if found else None for found in listed] == ids, done.stdout
    total = human_bytes(needed_bytes(hub_repos, ids))
    assert lines[len(ids)].startswith(f"They take {total} on disk in {tmp_path / 'hf' / 'hub'}")
    assert f"; {total} to download." in lines[len(ids)]
    assert lines[-1].startswith("Done: every checkpoint is in")
    bars = done.stderr.replace("\r", "\n")
    assert re.search(r"kandinsky-2-2-prior: 100%\|", bars), bars
    assert re.search(r"kandinsky-3: 100%\|", bars), bars

    fetched = [(request.repo, request.path) for request in hub.file_requests()]
    assert len(fetched) == len(set(fetched)), "each file once"
    for repo_id in ids:
        files = hub_repos[repo_id].files
        for path in needed_files(files, _checkpoint(repo_id).variant):
            assert cached(tmp_path, repo_id, path).read_bytes() == files[path].data
    for decoy in DECOYS:
        assert hub.asked_for(K22_DECODER, decoy) == [], "a file no load reads is not asked about"
    assert hub.asked_for(K3, "unet/diffusion_pytorch_model.safetensors") == [], "fp16 only"
    assert len(hub.bodies(K3, K3_UNET)) == 1
    assert all(r.token for r in hub.requests if r.server == "hub")
    assert not any(r.token for r in hub.requests if r.server == "cdn"), "no token leaves the hub"

    again = bot(args, online(tmp_path, hub), tmp_path)
    assert again.returncode == 0, again.stderr
    assert "all downloaded" in again.stdout
    assert [(r.repo, r.path) for r in hub.file_requests()] == fetched, "nothing twice"

    # Offline now: the loads find everything they read, with no KBOT_MODELS.
    picture = tmp_path / "tower.png"
    Image.new("RGB", (64, 64), "steelblue").save(picture)
    for args in (
        ["generate", "a stone tower", "--task", "depth", "--image", str(picture), "-o", "d.png"],
        ["generate", "a lighthouse", "--model", "3", "-o", "k3.png"],
    ):
        made = bot([*args, *SMALL], offline(tmp_path), tmp_path)
        assert made.returncode == 0, made.stderr
        with Image.open(tmp_path / args[-1]) as made_picture:
            assert made_picture.size == (64, 64)


def test_an_interrupted_download_continues_where_it_stopped(
    hub: FakeHub, hub_repos: dict[str, Repo], tmp_path: Path
) -> None:
    size = hub_repos[K3].files[K3_UNET].size
    half = size // 2
    gate = hub.gate(K3_UNET, after=half, wait=True, cut=True)
    log = tmp_path / "first.log"
    first = start(["download-models", "--models", "3"], online(tmp_path, hub), tmp_path, log)
    try:
        wait_for(gate.reached.is_set, first, log)
        wait_for(
            lambda: sum(p.stat().st_size for p in the_partial(tmp_path, K3)) == half, first, log
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        gate.release()
    again = bot(["download-models", "--models", "3"], online(tmp_path, hub), tmp_path)
    assert again.returncode == 0, again.stderr
    assert "came in an earlier run" in again.stdout
    bodies = hub.bodies(K3, K3_UNET)
    assert [(r.range, r.sent) for r in bodies] == [(None, half), (f"bytes={half}-", size - half)]
    unet = cached(tmp_path, K3, K3_UNET).read_bytes()
    assert hashlib.sha256(unet).hexdigest() == hub_repos[K3].files[K3_UNET].sha256
    assert the_partial(tmp_path, K3) == []


def test_a_connection_cut_mid_file_resumes_in_the_same_run(
    hub: FakeHub, hub_repos: dict[str, Repo], tmp_path: Path
) -> None:
    size = hub_repos[K3].files[K3_UNET].size
    hub.gate(K3_UNET, after=size // 3, cut=True)
    done = bot(["download-models", "--models", "3"], online(tmp_path, hub), tmp_path)
    assert done.returncode == 0, done.stderr
    bodies = hub.bodies(K3, K3_UNET)
    third = size // 3
    assert [(r.range, r.sent) for r in bodies] == [(None, third), (f"bytes={third}-", size - third)]
    assert cached(tmp_path, K3, K3_UNET).read_bytes() == hub_repos[K3].files[K3_UNET].data


def test_two_downloads_at_once_fetch_each_file_once(hub: FakeHub, tmp_path: Path) -> None:
    gate = hub.gate("model_index.json", after=0, wait=True, cut=False)
    env = online(tmp_path, hub)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    first = start(["download-models", "--models", "3"], env, tmp_path, logs[0])
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_for(gate.reached.is_set, first, logs[0])  # the first holds the lock, mid-file
        second = start(["download-models", "--models", "3"], env, tmp_path, logs[1])
        wait_for(lambda: b"waiting for it" in logs[1].read_bytes(), second, logs[1])
    finally:
        gate.release()
        codes = [process.wait(WAIT) for process in (first, second) if process is not None]
    assert codes == [0, 0], [log.read_text(errors="replace") for log in logs]
    fetched = [(request.repo, request.path) for request in hub.file_requests()]
    assert fetched and len(fetched) == len(set(fetched)), fetched
    assert "Done" in logs[1].read_text()


# -- offline ------------------------------------------------------------------------------
@pytest.mark.parametrize("hub_state", ["HF_HUB_OFFLINE", "unreachable"])
def test_offline_generate_says_what_to_do_in_one_sentence(hub_state: str, tmp_path: Path) -> None:
    if hub_state == "HF_HUB_OFFLINE":
        env = offline(tmp_path)
    else:
        env = environment(tmp_path, HF_HUB_OFFLINE="0", HF_ENDPOINT="http://127.0.0.1:9")
    done = bot(["generate", "x"], env, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    (line,) = lines
    assert line.startswith("kandinsky-bot: Kandinsky 2.2 is not downloaded here")
    for words in (K22_PRIOR, "kandinsky-bot download-models --models 2.2", "--tiny"):
        assert words in line


def test_generate_tiny_builds_the_tiny_models_and_makes_a_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KBOT_MODELS", raising=False)
    monkeypatch.setenv("KBOT_DEVICE", "cpu")
    args = ["generate", "a fox", "--tiny", "--steps", "2", "--prior-steps", "2", "-o", "f.png"]
    code = main(args)
    assert code == 0
    assert (tmp_path / ".kbot" / "tiny-models" / "registry.json").is_file()
    with Image.open(tmp_path / "f.png") as picture:
        assert picture.size == (TINY_SIZE, TINY_SIZE)
    err = capsys.readouterr().err
    assert "Building the tiny offline models" in err and "the pictures are noise" in err


def test_chat_tiny_plays_offline(tiny_models: Path, tmp_path: Path) -> None:
    """`make chat`: the console on the tiny models (already built here)."""
    (tmp_path / ".kbot").mkdir()
    (tmp_path / ".kbot" / "tiny-models").symlink_to(tiny_models.parent)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--tiny", "--wait", "-o", "out"],
        input=f"/imagine a fox {' '.join(SMALL)}\n",
        env=offline(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "out").glob("*.png")), done.stdout


# -- a chat job -----------------------------------------------------------------------------
def missing_prior(tiny_models: Path) -> ModelRegistry:
    """The tiny models, but Kandinsky 2.2's prior is a hub id nobody downloaded."""
    registry = ModelRegistry.from_file(tiny_models)
    roles = dict(registry.checkpoints["2.2"])
    roles["prior"] = Checkpoint("kandinsky-bot-tests/not-downloaded")
    return ModelRegistry({**registry.checkpoints, "2.2": roles}, registry.depth_estimator)


async def test_a_chat_job_on_a_missing_model_is_told_why_in_the_users_language(
    tiny_models: Path, tmp_path: Path
) -> None:
    from generation.engine.cache import EngineOptions, PipelineCache
    from generation.engine.service import GenerationService
    from storage.store import Store

    service = GenerationService([PipelineCache(missing_prior(tiny_models), EngineOptions("cpu"))])
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'kbot.db'}", tmp_path / "data")
    kit = make_bot(store, service)
    await kit.queue.start()
    try:
        await kit.bot.handle(cmd("olga", "language", "ru"))
        await kit.bot.handle(cmd("olga", "imagine", "a fox " + " ".join(SMALL)))
        await kit.idle()
    finally:
        await kit.queue.stop()
        await store.close()
        await asyncio.to_thread(service.close)
    told = kit.replier.said("olga")[-1]
    assert "kandinsky-bot-tests/not-downloaded" in told
    assert "здесь не скачан" in told and "download-models --models 2.2" in told, told
    assert "что-то пошло не так" not in told


# -- readiness ------------------------------------------------------------------------------
def test_a_worker_whose_preload_fails_says_so_on_healthz(
    postgres_url: str, tiny_models: Path, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.json"
    folders = json.loads(tiny_models.read_text(encoding="utf-8"))
    entries = {
        family: {
            role: str(tiny_models.parent / name) if isinstance(name, str) else name
            for role, name in roles.items()
        }
        for family, roles in folders.items()
        if isinstance(roles, dict)
    }
    entries["2.2"]["prior"] = "kandinsky-bot-tests/not-downloaded"
    registry.write_text(json.dumps(entries), encoding="utf-8")
    env = offline(
        tmp_path,
        KBOT_QUEUE="procrastinate",
        KBOT_DATABASE_URL=fresh_postgres_database(postgres_url),
        KBOT_DATA_DIR=str(tmp_path / "data"),
        KBOT_MODELS=str(registry),
        KBOT_METRICS_ADDR="127.0.0.1:0",
        OMP_NUM_THREADS="1",
    )
    assert bot(["migrate"], env, tmp_path).returncode == 0
    log = tmp_path / "worker.log"
    worker = start(["worker", "--device", "cpu", "--models", "2.2"], env, tmp_path, log)
    try:
        wait_for(lambda: b"serving" in log.read_bytes(), worker, log)
        text = log.read_text(errors="replace")
        found = re.search(r"worker metrics on http://127\.0\.0\.1:(\d+)/metrics", text)
        assert found, text
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{found[1]}/healthz", timeout=10)
        assert answer.value.code == 503
        with answer.value:
            body = answer.value.read().decode()
        assert body.startswith("not ready worker: Kandinsky 2.2 is not downloaded here"), body
        assert "could not preload Kandinsky 2.2" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{found[1]}/livez", timeout=10) as live:
            assert live.status == 200
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(WAIT)
