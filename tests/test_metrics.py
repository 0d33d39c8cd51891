"""The operator endpoints: Prometheus /metrics and the health check."""

from __future__ import annotations

import aiohttp

from bot.jobs import metrics


async def test_metrics_and_health_endpoints() -> None:
    server = await metrics.start_metrics("127.0.0.1:0", role="worker")
    assert server is not None
    base = f"http://127.0.0.1:{server.port}"
    try:
        metrics.ready(False)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 503
            metrics.ready()
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200
                assert await response.text() == "ready worker"
            metrics.IMAGES.labels(model="2.2", task="text2img").inc(2)
            metrics.RUN_SECONDS.labels(model="2.2", task="text2img").observe(1.5)
            metrics.FAILURES.labels(reason=metrics.failure_reason("bad size")).inc()
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                body = await response.text()
    finally:
        metrics.ready(False)
        await server.stop()
    for name in (
        "kbot_queue_depth",
        "# TYPE kbot_job_wait_seconds histogram",
        "kbot_job_run_seconds_bucket{",
        'kbot_images_total{model="2.2",task="text2img"}',
        'kbot_job_failures_total{reason="bad_request"}',
        "kbot_gpu_memory_bytes",
    ):
        assert name in body, name


async def test_no_address_no_server() -> None:
    assert await metrics.start_metrics(None, role="frontend") is None


async def test_healthz_names_what_keeps_a_process_from_being_ready() -> None:
    server = await metrics.start_metrics("127.0.0.1:0", role="worker")
    assert server is not None
    base = f"http://127.0.0.1:{server.port}"
    try:
        metrics.not_ready("Kandinsky 3 is not downloaded here")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 503
                assert await response.text() == (
                    "not ready worker: Kandinsky 3 is not downloaded here"
                )
            async with session.get(f"{base}/livez") as response:
                assert response.status == 200
            metrics.ready()  # a later load that worked
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200
    finally:
        metrics.ready(False)
        await server.stop()
