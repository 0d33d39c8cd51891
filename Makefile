# The two commands: `make demo` runs the bot's main job offline, `make test` checks everything.
# Each sets up its own .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo chat test lint unit bench bench-bot bench-scale bench-gpu install postgres clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kandinsky-bot demo

# The tiny offline models unless KBOT_MODELS names others (`kandinsky-bot download-models`).
chat: $(STAMP)
	$(BIN)/kandinsky-bot chat $(if $(KBOT_MODELS),,--tiny)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The storage tests start a private PostgreSQL server from Debian's package.
postgres:
	sh scripts/ensure-postgres.sh

unit: $(STAMP) postgres
	$(BIN)/python -m pytest

test: lint unit

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

# The whole bot (`kandinsky-bot run` against a fake Telegram on loopback) against direct diffusers
# calls, on the tiny models (benchmarks/README.md). Options through ARGS, e.g. ARGS="--rounds 3".
bench-bot: $(STAMP)
	$(BIN)/python benchmarks/bench_bot.py $(ARGS)

# The procrastinate queue with one and two CPU workers (one thread each) on a private PostgreSQL.
bench-scale: $(STAMP) postgres
	$(BIN)/python benchmarks/bench_scale.py

# Real-size Kandinsky 2.2 and 3 with random weights on a GPU: every speed option, as a table
# (benchmarks/README.md). Pass options through ARGS, e.g. make bench-gpu ARGS="--families 2.2".
bench-gpu: $(STAMP)
	$(BIN)/python benchmarks/gpu_real_size.py $(ARGS)

clean:
	rm -rf $(VENV) .kbot demo-output outputs .pytest_cache .mypy_cache .ruff_cache
