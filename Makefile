# Two commands for everyone: `make serve` and `make test`. Both create .venv and install the
# project when needed (fast when already installed), then do their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

export NO_MKDOCS_2_WARNING := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: serve test install chromium index site eval bench check lint clean

serve: install
	$(BIN)/kb serve

test: install chromium
	$(BIN)/ruff check kb search_service tests scripts
	$(BIN)/kb check
	$(BIN)/python -m pytest

install: $(STAMP)

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: left to choose, pip pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

chromium:
	bash scripts/ensure-chromium.sh

check: install
	$(BIN)/kb check

index: install
	$(BIN)/kb index

site: install
	$(BIN)/kb site

eval: install
	$(BIN)/kb eval

bench: install
	$(BIN)/kb bench

clean:
	rm -rf site site.tmp site.old site.lock .kb .pytest_cache
