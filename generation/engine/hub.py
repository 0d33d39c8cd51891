"""Checkpoints on the model hub: which files a load needs, what is already here, the download.

`Hub.plan` asks the hub (`HF_ENDPOINT`, with `HF_TOKEN` when set, as `huggingface_hub` reads
them) for each checkpoint's files and their sizes, and keeps the files a load reads
(`needed_files`). `Hub.sizes` says how much of that is in the Hugging Face cache (`HF_HOME`)
already. `Hub.fetch` downloads the rest file by file into a partial file that a later run
continues (an interrupted download resumes where it stopped, and a connection lost in the
middle resumes at once), checks each file against the hub's size and SHA-256, and lets
`huggingface_hub` link the files into the cache's snapshot, so every later load finds them
offline. It works under a file lock in the cache: of several processes started at once, one
downloads and the others wait for it, then find everything there.

`not_downloaded` tells a load that failed because its checkpoint is not in the cache and the
hub could not supply it. Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import posixpath
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from huggingface_hub import (
    HfApi,
    constants,
    get_hf_file_metadata,
    get_session,
    get_token,
    hf_hub_url,
    hf_raise_for_status,
    snapshot_download,
    try_to_load_from_cache,
)
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
)
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils.tqdm import (
    are_progress_bars_disabled,
    disable_progress_bars,
    enable_progress_bars,
    tqdm,
)

from generation.engine.checkpoints import Needed
from generation.families import Checkpoint

log = logging.getLogger(__name__)

LOCK_NAME = "kandinsky-bot-download-models.lock"
PARTIAL_SUFFIX = ".kbot.incomplete"
# Tries in a row that bring no byte before a file's download gives up.
STALLED_TRIES = 5

_WEIGHT_FORMATS = ("safetensors", "bin")  # in the order a load prefers them
_OTHER_WEIGHTS = (".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".onnx", ".onnx_data", ".pb", ".gguf")
_SHARD = r"(?:-\d{5}-of-\d{5})?"


class DownloadError(RuntimeError):
    """A download that cannot go on; the message says why in one sentence."""


@dataclass(frozen=True, slots=True)
class HubFile:
    """One file of a checkpoint: its path in the repository, size and content ids."""

    path: str
    size: int
    key: str  # names its partial download: the LFS SHA-256 or the git blob id
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class CheckpointFiles:
    """The files a load of a checkpoint reads, at one commit of its repository."""

    needed: Needed
    commit: str
    files: tuple[HubFile, ...]

    @property
    def repo(self) -> str:
        """The repository id."""
        return self.needed.checkpoint.id


@dataclass(frozen=True, slots=True)
class Plan:
    """What a download covers: checkpoints on the hub, and those that are local folders."""

    checkpoints: tuple[CheckpointFiles, ...]
    local: tuple[Needed, ...] = ()


@dataclass(frozen=True, slots=True)
class Sizes:
    """Bytes of checkpoint files: in all, in the cache, and in interrupted downloads."""

    total: int = 0
    present: int = 0
    partial: int = 0

    @property
    def to_fetch(self) -> int:
        """Bytes still to download."""
        return self.total - self.present - self.partial

    def __add__(self, other: Sizes) -> Sizes:
        return Sizes(
            self.total + other.total, self.present + other.present, self.partial + other.partial
        )


# -- which files a load reads ---------------------------------------------------------------
def needed_files(paths: Iterable[str], variant: str | None = None) -> list[str]:
    """The files of a repository that loading it reads, in their order in `paths`.

    In each folder (a pipeline's component, or the root of a transformers model) the weights
    are safetensors when there are any, else PyTorch `.bin`; of those, the `variant` ones
    (`model.fp16.safetensors`, `model.fp16-00001-of-00002.safetensors`) when asked for and
    present, else the plain ones, with their shard index. Other weight formats (`.ckpt`,
    ONNX, Flax...) are left out; every other file (configs, tokenizers, schedulers) is kept.
    """
    listed = list(paths)
    folders: dict[str, list[str]] = {}
    for path in listed:
        folders.setdefault(posixpath.dirname(path), []).append(posixpath.basename(path))
    keep: set[str] = set()
    for folder, names in folders.items():
        weights = _chosen_weights(names, variant)
        plain = {n for n in names if _weight_format(n) is None and not n.endswith(_OTHER_WEIGHTS)}
        keep.update(posixpath.join(folder, name) for name in plain | weights)
    return [path for path in listed if path in keep]


def _weight_format(name: str) -> str | None:
    """The weight format of a weights file or shard index (safetensors, bin), else None."""
    for kind in _WEIGHT_FORMATS:
        if name.endswith(f".{kind}") or re.search(rf"\.{kind}\.index(?:\.[\w-]+)?\.json$", name):
            return kind
    return None


def _chosen_weights(names: Sequence[str], variant: str | None) -> set[str]:
    """The weight files (and shard indexes) of one folder that a load reads."""
    for kind in _WEIGHT_FORMATS:
        plain = re.compile(rf"[^.]+{_SHARD}\.{kind}|[^.]+\.{kind}\.index\.json")
        chosen = {name for name in names if plain.fullmatch(name)}
        if variant:
            v = re.escape(variant)
            marked = re.compile(
                rf"[^.]+(?:\.{v}{_SHARD}|{_SHARD}\.{v})\.{kind}|[^.]+\.{kind}\.index\.{v}\.json"
            )
            chosen = {name for name in names if marked.fullmatch(name)} or chosen
        if any(name.endswith(f".{kind}") for name in chosen):
            return chosen
    return set()


# -- loads that failed ---------------------------------------------------------------------
def not_downloaded(error: BaseException) -> bool:
    """Whether a load failed because its checkpoint is not (fully) in the cache and the hub
    could not supply it: offline (`HF_HUB_OFFLINE`), unreachable, or down.

    A hub that answered "no" (an unknown id, a gated repository) is another failure.
    """
    chain = list(_chain(error))
    for link in chain:
        if isinstance(link, HfHubHTTPError):
            status = getattr(getattr(link, "response", None), "status_code", 500)
            if isinstance(status, int) and status < 500:
                return False
    return any(isinstance(link, LocalEntryNotFoundError | OfflineModeIsEnabled) for link in chain)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and every exception it was raised from or while handling."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        link = todo.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        todo.extend(e for e in (link.__cause__, link.__context__) if e is not None)


# -- the hub and the cache -----------------------------------------------------------------
class Hub:
    """The model hub and the Hugging Face cache it downloads into."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache = Path(cache_dir or constants.HF_HUB_CACHE).expanduser()
        self._api = HfApi()

    # -- planning
    def plan(self, needed: Sequence[Needed]) -> Plan:
        """Ask the hub which files each checkpoint needs; local folders need nothing."""
        checkpoints: list[CheckpointFiles] = []
        local: list[Needed] = []
        seen: set[Checkpoint] = set()
        for item in needed:
            if item.checkpoint in seen:
                continue
            seen.add(item.checkpoint)
            if Path(item.checkpoint.id).is_dir():
                local.append(item)
            else:
                checkpoints.append(self._files(item))
        return Plan(tuple(checkpoints), tuple(local))

    def _files(self, needed: Needed) -> CheckpointFiles:
        repo = needed.checkpoint.id
        with _hub_errors(repo):
            info = self._api.model_info(repo, files_metadata=True)
        if info.sha is None or info.siblings is None:
            raise DownloadError(f"the model hub sent no file list for {repo}")
        by_path = {sibling.rfilename: sibling for sibling in info.siblings}
        files = []
        for path in needed_files(by_path, needed.checkpoint.variant):
            sibling = by_path[path]
            lfs = sibling.lfs
            size = lfs.size if lfs is not None else sibling.size or 0
            sha256 = lfs.sha256 if lfs is not None else None
            key = sha256 or sibling.blob_id or _digest(f"{repo}@{info.sha}/{path}")
            files.append(HubFile(path=path, size=size, key=key, sha256=sha256))
        return CheckpointFiles(needed, info.sha, tuple(files))

    # -- what is here
    def present(self, checkpoint: CheckpointFiles, file: HubFile) -> bool:
        """Whether `file` is in the cache's snapshot of the checkpoint's commit."""
        found = try_to_load_from_cache(
            checkpoint.repo, file.path, cache_dir=self.cache, revision=checkpoint.commit
        )
        return isinstance(found, str)

    def partial(self, checkpoint: CheckpointFiles, file: HubFile) -> Path:
        """Where an interrupted download of `file` waits to be continued."""
        return self._storage(checkpoint.repo) / "blobs" / f"{file.key}{PARTIAL_SUFFIX}"

    def sizes(self, checkpoint: CheckpointFiles) -> Sizes:
        """How much of the checkpoint is here, and how much an earlier download left."""
        sizes = Sizes()
        for file in checkpoint.files:
            if self.present(checkpoint, file):
                sizes += Sizes(file.size, file.size, 0)
            else:
                sizes += Sizes(file.size, 0, _size_of(self.partial(checkpoint, file)))
        return sizes

    def free_space(self) -> int:
        """Free bytes on the disk that holds the cache."""
        folder = self.cache
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return shutil.disk_usage(folder).free

    def _storage(self, repo: str) -> Path:
        return self.cache / repo_folder_name(repo_id=repo, repo_type="model")

    # -- downloading
    def fetch(self, plan: Plan, say: Callable[[str], None]) -> None:
        """Download what `plan` lacks, one process at a time per cache.

        Whoever finds the lock taken says so with `say` and waits, then downloads only what
        the other process left.
        """
        lock_path = self.cache / ".locks" / LOCK_NAME
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            say(f"Another download-models is fetching into {self.cache}; waiting for it to finish.")
            lock.acquire()
        try:
            for checkpoint in plan.checkpoints:
                self._fetch_checkpoint(checkpoint)
        finally:
            lock.release()

    def _fetch_checkpoint(self, checkpoint: CheckpointFiles) -> None:
        missing = [file for file in checkpoint.files if not self.present(checkpoint, file)]
        if not missing:
            return
        done = sum(_size_of(self.partial(checkpoint, file)) for file in missing)
        with tqdm(
            total=sum(file.size for file in missing),
            initial=done,
            unit="B",
            unit_scale=True,
            desc=checkpoint.repo.rsplit("/", 1)[-1],
        ) as bar:
            for file in missing:
                self._fetch_file(checkpoint, file, bar)
        with _hub_errors(checkpoint.repo), _quiet_progress_bars():
            # The files are all in blobs/ now: this writes the snapshot's links, the ref and
            # the file list that later offline loads read; it downloads nothing.
            snapshot_download(
                checkpoint.repo,
                cache_dir=self.cache,
                allow_patterns=[file.path for file in checkpoint.files],
            )

    def _fetch_file(self, checkpoint: CheckpointFiles, file: HubFile, bar: Any) -> None:
        url = hf_hub_url(checkpoint.repo, file.path, revision=checkpoint.commit)
        with _hub_errors(checkpoint.repo):
            etag = get_hf_file_metadata(url).etag
        if not etag:
            raise DownloadError(f"the model hub sent no ETag for {file.path} of {checkpoint.repo}")
        partial = self.partial(checkpoint, file)
        blob = self._storage(checkpoint.repo) / "blobs" / etag
        if blob.exists():
            bar.update(file.size - _size_of(partial))
            partial.unlink(missing_ok=True)
            return
        partial.parent.mkdir(parents=True, exist_ok=True)
        with _hub_errors(checkpoint.repo):
            _stream(url, partial, file.size, bar)
        _check(partial, file, checkpoint.repo)
        os.replace(partial, blob)


def _stream(url: str, partial: Path, size: int, bar: Any) -> None:
    """Download `url` into `partial`, continuing from its end; resume when a connection drops."""
    headers = {"Accept-Encoding": "identity"}  # byte ranges of the file itself
    token = get_token()  # HF_TOKEN, or the token `hf auth login` saved
    if token:
        headers["Authorization"] = f"Bearer {token}"  # dropped on a redirect to another host
    stalled = 0
    while True:
        have = _size_of(partial)
        if size and have >= size:
            return
        asked = {**headers, "Range": f"bytes={have}-"} if have else headers
        got = 0
        try:
            with get_session().stream(
                "GET",
                url,
                headers=asked,
                follow_redirects=True,
                timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
            ) as response:
                hf_raise_for_status(response)
                start = _range_start(response.headers.get("Content-Range")) if have else 0
                if start != have:  # the server sent the file from its start
                    bar.update(-have)
                    have = 0
                with partial.open("ab" if have else "wb", buffering=0) as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        got += len(chunk)
                        bar.update(len(chunk))
            if not size or _size_of(partial) >= size:
                return
            raise DownloadError(f"the download of {url} ended early")
        except HfHubHTTPError:
            raise
        except Exception as error:
            stalled = 0 if got else stalled + 1
            if stalled >= STALLED_TRIES:
                raise DownloadError(f"the download of {url} keeps failing: {error}") from error
            log.warning("download of %s interrupted (%s); resuming", url, error)
            if not got:
                time.sleep(1.0)


def _range_start(content_range: str | None) -> int:
    """The first byte a `Content-Range: bytes START-END/TOTAL` answer holds (0 without one)."""
    found = re.match(r"bytes (\d+)-", content_range or "")
    return int(found[1]) if found else 0


def _check(partial: Path, file: HubFile, repo: str) -> None:
    """Refuse a download whose size or SHA-256 is not the hub's (and start it over next time)."""
    problem = None
    if file.size and _size_of(partial) != file.size:
        problem = f"is {_size_of(partial)} bytes instead of {file.size}"
    elif file.sha256 and _sha256(partial) != file.sha256:
        problem = "does not match the hub's SHA-256"
    if problem:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"the download of {file.path} of {repo} {problem}; run it again")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@contextlib.contextmanager
def _hub_errors(repo: str) -> Iterator[None]:
    """The hub's refusals and unreachability as one sentence each."""
    try:
        yield
    except DownloadError:
        raise
    except OfflineModeIsEnabled as error:
        raise DownloadError(
            "HF_HUB_OFFLINE is set, so the model hub may not be reached; unset it to download"
        ) from error
    except GatedRepoError as error:
        raise DownloadError(
            f"{repo} is gated: accept its terms on the model hub and set HF_TOKEN"
        ) from error
    except RepositoryNotFoundError as error:
        raise DownloadError(
            f"the model hub has no checkpoint {repo} (check the id, or set HF_TOKEN if it is "
            "private)"
        ) from error
    except HfHubHTTPError as error:
        raise DownloadError(f"the model hub refused {repo}: {error}") from error
    except Exception as error:
        raise DownloadError(
            f"cannot reach the model hub at {constants.ENDPOINT}: {type(error).__name__}: {error}"
        ) from error


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """No progress bars from `huggingface_hub` meanwhile (ours say it all)."""
    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()
