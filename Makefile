# BioMuseum: `make run` serves the API with demo data; `make test` runs the whole suite.
# Both set everything up first (virtualenv, packages, a local .env with a generated secret).
# `make bench` (QUICK=1 for a short run; AGAINST=<commit> to measure that commit beside this tree) runs the
# benchmark suite in bench/; `make bench-jobs` the jobs one.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
MANAGE := $(BIN)/python manage.py
PYTEST_ARGS ?=

.PHONY: setup run test lint format migrate bench bench-jobs clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

.env:
	@printf 'DJANGO_DEBUG=0\nDJANGO_SECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "Wrote .env with a generated secret key (see .env.example for every setting)."

setup: $(STAMP) .env

migrate: setup
	$(MANAGE) migrate --noinput

run: migrate
	$(MANAGE) collectstatic --noinput -v0
	$(MANAGE) seed_demo --if-empty
	$(MANAGE) ensure_curator --base-url http://127.0.0.1:$${PORT:-8000}
	@echo "Serving on http://127.0.0.1:$${PORT:-8000}/api/v1/organisms/ with a worker and scheduler; mail in var/mail/ (Ctrl-C stops all)"
	CELERY_EMBEDDED_BROKER=1 $(MANAGE) serve

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/run.py $(if $(QUICK),--quick) $(if $(AGAINST),--against $(AGAINST))

bench-jobs: setup
	$(BIN)/python bench/jobs.py $(if $(QUICK),--quick)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
