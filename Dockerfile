# One image for the bot: CUDA runtime, a non-root user, the model cache as a volume.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/models \
    KBOT_DATA_DIR=/data \
    PTB_TIMEDELTA=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 kbot \
    && mkdir -p /models /data /app \
    && chown kbot:kbot /models /data /app

WORKDIR /app
RUN python3 -m venv /opt/venv && chown -R kbot:kbot /opt/venv
ENV PATH=/opt/venv/bin:$PATH

USER kbot
COPY --chown=kbot:kbot pyproject.toml README.md ./
COPY --chown=kbot:kbot bot ./bot
COPY --chown=kbot:kbot adapters ./adapters
COPY --chown=kbot:kbot generation ./generation
COPY --chown=kbot:kbot storage ./storage
RUN pip install --upgrade pip && pip install '.[postgres]'

VOLUME ["/models", "/data"]
# /metrics and /healthz on frontends and workers (compose.yaml; README, "Running on several machines").
ENV KBOT_METRICS_ADDR=0.0.0.0:9090
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --retries=3 \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9090/livez', timeout=4)"
ENTRYPOINT ["kandinsky-bot"]
CMD ["run"]
