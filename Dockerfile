# One image for every role (frontend, worker, migrate, download-models).
#
# Python 3.11 on Debian 12 (slim), the version the project is tested on. CUDA comes with the
# PyPI torch wheel (its nvidia-* wheels), so the base is no CUDA image. Compilers live only in
# the build stage. Expect about 6 GB for the final image, nearly all of it torch and CUDA.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY generation ./generation
COPY storage ./storage
RUN pip install --no-compile torch==2.13.0 \
    && pip install --no-compile './[postgres]'

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HF_HOME=/models \
    KBOT_DATA_DIR=/data \
    KBOT_METRICS_ADDR=0.0.0.0:9090
RUN useradd --create-home --uid 1000 kbot \
    && mkdir -p /models /data /app \
    && chown kbot:kbot /models /data /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=kbot:kbot benchmarks /app/benchmarks
USER 1000:1000
# Relative outputs (`kandinsky-bot generate -o ...`, ./outputs) land in the data volume.
WORKDIR /data
VOLUME ["/models", "/data"]
# /metrics, /healthz (ready) and /livez (alive) on frontends and workers.
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9090/healthz', timeout=4)"]
ENTRYPOINT ["kandinsky-bot"]
CMD ["run"]
