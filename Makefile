# GIGA Learning Platform — the same commands locally and in CI.
#   make run    venv + install + migrate + demo city (if empty) + serve the LMS at http://127.0.0.1:8000
#   make test   lint, type checks, architecture contracts, item bank, the whole pytest suite
#               (SQLite always; PostgreSQL too when GIGA_TEST_DATABASE_URL is set, as .ci/run does)
#   make test-deploy  the city for real: every image built from Debian packages, docker/compose.yaml up,
#               the end-to-end tests of tests/deploy_stack (root, a running Docker engine, mmdebstrap, the host's npm; .ci/run runs it after make test)

SHELL := /bin/bash
# Debian's interpreter, so that JupyterHub's per-user processes (other unix users) can run the venv.
PYTHON ?= $(shell command -v /usr/bin/python3.11 || command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= -n 2

.PHONY: run test test-deploy lint pytest pytest-postgres bench fonts node vendor ralph clean help

help:
	@sed -n '1,8p' Makefile

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

fonts: $(STAMP)
	$(BIN)/python lms/static/fonts/fetch_fonts.py

# Node tools of the test suite (axe-core), installed into the project, never globally.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@
node: node_modules/.installed

# The QR decoder of the sign-in card scanner: npm's jsqr, copied into lms/static/vendor and served from there
# (no CDN; the wheel and the images carry it without node). tests/lms/test_vendor_assets.py checks the copy.
vendor: node_modules/.installed
	cp node_modules/jsqr/dist/jsQR.js lms/static/vendor/jsQR.js
	cp node_modules/jsqr/LICENSE lms/static/vendor/LICENSE-jsQR.txt

# A real learning record store for the xAPI tests; ralph pins an older FastAPI, so it gets its own venv.
RALPH_VENV := var/ralph-venv
$(RALPH_VENV)/.installed:
	mkdir -p var
	test -x $(RALPH_VENV)/bin/python || $(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/python -m pip install --quiet 'ralph-malph[backend-fs,cli,lrs]==5.1.0' requests
	touch $@
ralph: $(RALPH_VENV)/.installed

# The LMS on $(PORT) and JupyterHub on 127.0.0.1:8001 (test-mode spawner unless GIGA_HUB_MODE=local, as root),
# wired: a shared service token (var/hub/service_token), the demo class as notebook course $(DEMO_COURSE), its
# formgrader service and course folder, the exchange. Servers never run as root (hub_config/confined_spawner.py).
HUB_STATE := var/hub
DEMO_COURSE ?= demo-prog
run: $(STAMP) fonts node
	mkdir -p var $(HUB_STATE)
	$(BIN)/giga db upgrade
	$(BIN)/giga demo seed --if-empty
	test -s $(HUB_STATE)/service_token || (umask 077 && \
	  $(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' > $(HUB_STATE)/service_token)
	$(BIN)/python -m lms.notebooks.hub_bootstrap --courses-file $(HUB_STATE)/courses.json --demo-course $(DEMO_COURSE) \
	  --lessons classroom/source --lessons-chuu classroom/source-chuu
	export GIGA_HUB_SERVICE_TOKEN="$$(cat $(HUB_STATE)/service_token)"; \
	BIN=$(BIN) hub_config/run_hub.sh > var/hub.log 2>&1 & hub=$$!; \
	trap 'kill $$hub 2>/dev/null' EXIT INT TERM; \
	$(BIN)/giga serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/giga items validate

# Everything on SQLite (the PostgreSQL URL is for the next target only).
pytest: $(STAMP) fonts node ralph
	env -u GIGA_TEST_DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

# The database tests again, against a real PostgreSQL server.
pytest-postgres: $(STAMP)
	@if [ -n "$$GIGA_TEST_DATABASE_URL" ]; then \
	  echo "== database tests on PostgreSQL ($${GIGA_TEST_DATABASE_URL%%@*}@…)"; \
	  $(BIN)/pytest -m db $(PYTEST_ARGS); \
	else \
	  echo "== GIGA_TEST_DATABASE_URL not set: PostgreSQL run skipped (.ci/run sets it)"; \
	fi

test: lint pytest pytest-postgres

# Build times, image sizes and the stack's timings are printed; the whole target's time too.
test-deploy: $(STAMP)
	@start=$$(date +%s); \
	docker/base/build.sh && \
	docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^giga(-local)?/' && \
	GIGA_DEPLOY_STACK=1 $(BIN)/pytest tests/deploy_stack -n 0 -x -p no:randomly -s -q; \
	status=$$?; echo "== test-deploy: $$(( $$(date +%s) - start )) s in all"; exit $$status

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var/*.db .pytest_cache .mypy_cache .ruff_cache
