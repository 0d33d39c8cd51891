"""How long each job spent at each stage of its way: for `/metrics` and the log.

A job's way, each stage named by the moment it ends (`time.monotonic()` seconds, one clock
for every process of the machine):

- `received`: the platform's delivery reached the bot (`Command.received_at`);
- `validated`: the request was checked and resolved;
- `stored`: its job row was written (the job has its id from here on);
- `started`: it was marked running;
- `made`: the pipeline call that made its images returned;
- `checked`: the image check of that call's images ended (`KBOT_SAFETY`; no time without it);
- `encoded`: its PNGs were encoded;
- `recorded`: its images were stored and it was marked done;
- `sent`: its pictures were delivered.

The marks of the jobs under way in this process are kept here. When a job's pictures are out,
each stage's length (from the mark before it) goes to the `kbot_job_stage_seconds`
histogram, labelled with the stage, and one line to the log at INFO (`kandinsky-bot -v`):
`job 12 spans: received=8123.500000 validated=8123.501200 ...`, which `read_spans` reads
back. A job whose way ends elsewhere (it failed, or a worker process made it) never gets its
last mark; the oldest such are dropped past `KEEP` jobs.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict

from bot.delivery.sender import IMAGES
from bot.jobs.metrics import STAGE_SECONDS
from storage.records import OutboxRecord

log = logging.getLogger(__name__)

STAGES = (
    "received",
    "validated",
    "stored",
    "started",
    "made",
    "checked",
    "encoded",
    "recorded",
    "sent",
)
KEEP = 1000
"""Jobs whose marks are kept while they are under way."""

_marks: OrderedDict[int, dict[str, float]] = OrderedDict()
_LINE = re.compile(r"job (\d+) spans: (.*)")


def now() -> float:
    """The clock marks are taken with."""
    return time.monotonic()


def begin(job_id: int, received: float, validated: float, stored: float) -> None:
    """A job was just stored: its first three marks."""
    _marks[job_id] = {"received": received, "validated": validated, "stored": stored}
    while len(_marks) > KEEP:
        _marks.popitem(last=False)


def mark(job_id: int, stage: str, at: float | None = None) -> None:
    """Job `job_id` reached `stage` (now, or `at`); a job begun elsewhere is not followed."""
    marks = _marks.get(job_id)
    if marks is not None:
        marks[stage] = now() if at is None else at


def sent(job_id: int) -> None:
    """The job's pictures are out: its stages go to the histogram and the log."""
    mark(job_id, "sent")
    marks = _marks.pop(job_id, None)
    if marks is None or any(stage not in marks for stage in STAGES):
        return
    previous = marks["received"]
    for stage in STAGES[1:]:
        STAGE_SECONDS.labels(stage=stage).observe(max(0.0, marks[stage] - previous))
        previous = marks[stage]
    shown = " ".join(f"{stage}={marks[stage]:.6f}" for stage in STAGES)
    log.info("job %d spans: %s", job_id, shown)


def delivered(record: OutboxRecord) -> None:
    """The outbox sender's hook (`Sender.delivered`): a job's pictures are out."""
    if record.kind == IMAGES and record.job_id is not None:
        sent(record.job_id)


def read_spans(text: str) -> dict[int, dict[str, float]]:
    """The marks of every job in a log (the lines `sent` writes), by job id."""
    found = {}
    for match in _LINE.finditer(text):
        pairs = (item.partition("=") for item in match.group(2).split())
        found[int(match.group(1))] = {key: float(value) for key, _, value in pairs}
    return found
