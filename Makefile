# Two commands for everyone: `make serve` and `make test`. Both create .venv and install the
# project when needed (fast when already installed), then do their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# The browser checks' npm packages, pinned: axe-core for the accessibility tests (make test),
# Lighthouse for `make audit` only. Each installs under .venv/node/<name>/.
AXE_CORE_VERSION   := 4.14.1
LIGHTHOUSE_VERSION := 12.8.2

export NO_MKDOCS_2_WARNING := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: serve test install chromium axe audit index site eval bench check lint clean

serve: install
	$(BIN)/kb serve

test: install chromium axe
	$(BIN)/ruff check kb search_service tests scripts
	$(BIN)/ruff format --check kb search_service tests scripts
	$(BIN)/mypy kb search_service
	$(BIN)/kb check --strict
	$(BIN)/python -m pytest

install: $(STAMP)

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: left to choose, pip pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# setuptools reminds every editable install of a flat layout that folders named like the
	# packages shadow them; kb/ and search_service/ sit at the root on purpose (DESIGN.md).
	PYTHONWARNINGS="ignore::UserWarning" $(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

chromium:
	bash scripts/ensure-chromium.sh

axe:
	bash scripts/ensure-npm-tool.sh axe-core $(AXE_CORE_VERSION)

# Lighthouse (mobile and desktop) and the search page's weight, layout shift and time to first
# result, against a real server: scores in test-artifacts/audit.json and audit.md. Not a test:
# the figures depend on the machine. `make audit AUDIT_ARGS="--compare old.json"` shows changes.
audit: install chromium
	bash scripts/ensure-npm-tool.sh lighthouse $(LIGHTHOUSE_VERSION)
	$(BIN)/python scripts/audit.py $(AUDIT_ARGS)

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
