"""Operator view: Prometheus metrics and a health endpoint (`KBOT_METRICS_ADDR`).

`GET /metrics` serves the Prometheus text format; `GET /livez` answers 200 while the process
runs (liveness); `GET /healthz` answers 200 `ready` once `ready()` was called (readiness),
503 `starting` before, and 503 `not ready` with the reason after `not_ready(reason)` (a worker
whose pipelines did not load).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from aiohttp import web

    from storage.records import JobRecord

log = logging.getLogger(__name__)

_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800)

QUEUE_DEPTH = Gauge("kbot_queue_depth", "Jobs waiting to run")
RUNNING = Gauge("kbot_jobs_running", "Jobs running now")
WAIT_SECONDS = Histogram(
    "kbot_job_wait_seconds",
    "Seconds from queued to started",
    ["model", "task"],
    buckets=_BUCKETS,
)
RUN_SECONDS = Histogram(
    "kbot_job_run_seconds",
    "Seconds from started to done",
    ["model", "task"],
    buckets=_BUCKETS,
)
IMAGES = Counter("kbot_images", "Images made", ["model", "task"])
FAILURES = Counter("kbot_job_failures", "Jobs that failed, by reason", ["reason"])
GPU_MEMORY = Gauge("kbot_gpu_memory_bytes", "GPU memory allocated by this process", ["device"])
STAGE_SECONDS = Histogram(
    "kbot_job_stage_seconds",
    "Seconds a job spent reaching each stage from the one before (bot.jobs.spans)",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


@dataclass(slots=True)
class _Health:
    """What /healthz says: ready, or not, and why not when something failed."""

    ready: bool = False
    problem: str | None = None


_health = _Health()


def ready(value: bool = True) -> None:
    """Mark the process ready (or starting again) for /healthz; forget an earlier problem."""
    _health.ready = value
    _health.problem = None


def not_ready(problem: str) -> None:
    """Mark the process not ready for /healthz because of `problem` (shown there)."""
    _health.ready = False
    _health.problem = problem


def failure_reason(reason: str) -> str:
    """A bounded label for a failure reason."""
    return reason if reason in ("cancelled", "interrupted", "internal") else "bad_request"


def job_labels(job: JobRecord) -> dict[str, str]:
    """The model and task labels of a job."""
    return {"model": str(job.request.model), "task": str(job.request.task)}


def job_started(job: JobRecord) -> None:
    """Record how long a job waited between being stored and starting."""
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=UTC)
    waited = max(0.0, (datetime.now(UTC) - created).total_seconds())
    WAIT_SECONDS.labels(**job_labels(job)).observe(waited)


def job_done(job: JobRecord, seconds: float, images: int) -> None:
    """Record a finished job's run time and images."""
    labels = job_labels(job)
    RUN_SECONDS.labels(**labels).observe(seconds)
    IMAGES.labels(**labels).inc(images)


def job_failed(reason: str) -> None:
    """Count a failed job by its (bounded) reason."""
    FAILURES.labels(reason=failure_reason(reason)).inc()


def update_gpu_memory() -> None:
    """Read CUDA memory in use, when torch is loaded and CUDA is there."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return
    for index in range(torch.cuda.device_count()):
        GPU_MEMORY.labels(device=f"cuda:{index}").set(torch.cuda.memory_allocated(index))


def render() -> tuple[bytes, str]:
    """The metrics text and its content type."""
    update_gpu_memory()
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


@dataclass(slots=True)
class MetricsServer:
    """A running /metrics + /healthz server."""

    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        """Stop serving."""
        await self.runner.cleanup()


async def start_metrics(addr: str | None, *, role: str) -> MetricsServer | None:
    """Serve /metrics and /healthz on `host:port` (port 0: any free one); None when unset."""
    if not addr:
        return None
    from aiohttp import web

    async def metrics(_request: web.Request) -> web.Response:
        body, content_type = render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def healthz(_request: web.Request) -> web.Response:
        if _health.problem is not None:
            return web.Response(text=f"not ready {role}: {_health.problem}", status=503)
        state = "ready" if _health.ready else "starting"
        return web.Response(text=f"{state} {role}", status=200 if _health.ready else 503)

    async def livez(_request: web.Request) -> web.Response:
        return web.Response(text=f"ok {role}")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", livez)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = addr.rpartition(":")
    site = web.TCPSite(runner, host or "0.0.0.0", int(port))
    await site.start()
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else int(port)
    log.warning("%s metrics on http://%s:%s/metrics", role, host or "0.0.0.0", bound)
    return MetricsServer(runner, int(bound))
