# Two commands: `make dev` runs the product, `make test` runs the whole test suite.
# Both create the virtual environment in .venv on first use (Python 3.11+ with venv and pip).
# `make dev PORT=8001` (or HOST=...): crm dev reads HOST and PORT from the environment.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: dev test lint bench web browser
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP) web
	$(VENV)/bin/crm dev

test: $(STAMP) web browser
	$(VENV)/bin/pytest

# The web app (web/ -> web/dist), rebuilt only when its sources or the API's schema changed.
web: $(STAMP)
	$(VENV)/bin/python -m infra.web_build

# The browser tests drive Debian's Chromium (a browser download is never needed).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/pip install --quiet -e '.[dev,bench]'
	$(VENV)/bin/python bench/run.py --anchor --workers 1 --rls --soak 100000 --profile
	$(VENV)/bin/python bench/run.py --anchor --workers 2
