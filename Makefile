# Fagchat: `make run` starts the assistant, `make test` runs every check. Both set
# themselves up on a fresh clone; a second run reinstalls nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
BIN         := $(VENV)/bin
PY          := $(BIN)/python
RASA        := $(BIN)/rasa
# The Danish spaCy pipeline that config.yml's SpacyNLP loads (README: switching models).
SPACY_MODEL := models/spacy-da
# Quieter TensorFlow and no telemetry or update checks: everything runs offline.
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help venv model validate train run test lint format unit pytest conversation-tests crossval heldout safety browser-deps proxy-deps check-copies redaction-report clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt constraints.txt scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || "$$python" -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

venv: $(VENV)/.installed ## Create .venv with the pinned dependencies (only when they changed)

$(SPACY_MODEL)/fagchat-version.txt: scripts/build_spacy_model.py $(VENV)/.installed
	$(PY) scripts/build_spacy_model.py $(SPACY_MODEL)

model: $(SPACY_MODEL)/fagchat-version.txt ## Build the offline Danish spaCy pipeline

validate: venv ## Check NLU data, stories, rules and domain (warnings fail)
	$(RASA) data validate --fail-on-warnings --max-history 5

# `validate` has just checked the data, with warnings as errors: rasa train's own, milder
# check would take another 20 s.
train: model validate ## Train the Rasa model (skipped when nothing changed)
	$(RASA) train --skip-validation --fixed-model-name fagchat --out models

# The staff app's cookies are Secure unless FAGCHAT_STAFF_SECURE_COOKIE=0; `make run` serves plain
# HTTP on this machine, so it sets 0 unless you set it (behind HTTPS: FAGCHAT_STAFF_SECURE_COOKIE=1).
LOCAL_HTTP := FAGCHAT_STAFF_SECURE_COOKIE=$${FAGCHAT_STAFF_SECURE_COOKIE:-0}

run: train ## Start Rasa, the action server and the web page; Ctrl-C stops all
	$(LOCAL_HTTP) $(PY) -m fagchat.run.launcher

# make test runs the conversation tests and the cross-validation by their commands, not by
# their targets: those would validate the data and check the model again (about a minute).
test: lint train browser-deps proxy-deps systemd-deps ## Lint, validate, train, pytest, conversation tests, cross-validation gate
	$(PY) -m pytest --durations=15
	$(CONVERSATION_TESTS)
	$(CROSSVAL)

lint: venv ## ruff: lint and format check (settings in pyproject.toml); `make format` fixes
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# make unit keeps its temporary files in RAM when /dev/shm has room (the staff tests commit to
# hundreds of small SQLite files, and each commit waits for the disk), and lets Python write
# bytecode even where the environment says not to (pytest then keeps its rewritten test
# modules). The Rasa-component tests share one xdist group (tests/helpers.py), so only one
# worker imports TensorFlow.
UNIT_TMP := $(shell df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 && $$4 > 2097152 {print "TMPDIR=/dev/shm"}')

unit: venv systemd-deps ## The tests that need no trained model and no servers (about 50 s on 2 cores)
	$(UNIT_TMP) PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n 2 --dist loadgroup -m "not integration and not browser and not model" $(ARGS)

pytest: train browser-deps proxy-deps systemd-deps ## Only the pytest suite
	$(PY) -m pytest $(ARGS)

redaction-report: venv ## Redaction leaks per kind on generated messages, false positives on Danish text
	$(PY) tests/redaction_report.py $(ARGS)

CONVERSATION_TESTS = $(RASA) test core --stories tests/conversations --fail-on-prediction-errors \
	  --out var/results/core --model models/fagchat.tar.gz
CROSSVAL = $(PY) -m fagchat.nlu.quality crossval --folds 5 --out var/results/crossval

conversation-tests: train ## Rasa conversation tests in tests/conversations
	$(CONVERSATION_TESTS)

crossval: model validate ## 5-fold NLU cross-validation report; fails below macro-F1 0.90
	$(CROSSVAL)

heldout: train ## Held-out routing (top-1, top-3) on the blind and development sets
	$(PY) -m fagchat.nlu.quality heldout --out var/results

safety: train ## Danger recall and false alarms on every safety set
	$(PY) -m fagchat.nlu.quality safety --out var/results

check-copies: venv ## Developer tool, not part of make test: answer text shared word for word with ../shared/reference
	$(PY) scripts/check_copies.py

browser-deps: ## Debian chromium and axe-core for the browser tests
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@[ -f tests/browser/node_modules/axe-core/axe.min.js ] || (cd tests/browser && npm ci --silent --no-audit --no-fund)

# tests/test_tls_front.py runs its own nginx on free ports; on a machine with systemd, Debian
# also starts the packaged nginx on port 80 after installing it (docs/operations.md, "TLS front").
proxy-deps: ## Debian's nginx (and openssl) for the TLS front test
	@[ -x /usr/sbin/nginx ] && command -v openssl >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx openssl >/dev/null)

clean: ## Remove the venv, trained models and runtime data
	rm -rf $(VENV) models var .pytest_cache tests/browser/node_modules

.PHONY: staff-user staff-perf

staff-user: venv ## Create a staff-app account (asks for name and password; NAME=anna to skip the first)
	@name="$(NAME)"; [ -n "$$name" ] || read -rp "Brugernavn: " name; \
	  $(PY) -m fagchat.staff.cli create-user "$$name"

staff-perf: venv ## Time the staff app on 100,000 conversations (ARGS="--conversations 5000" for less)
	$(PY) benchmarks/staff_perf.py $(ARGS)

# Backups (docs/operations.md, "Backups and upgrades"): the database of FAGCHAT_DB_URL, SQLite
# or PostgreSQL, into FAGCHAT_BACKUP_DIR; safe while Fagchat runs.
.PHONY: backup restore

backup: venv ## Back up conversations and staff tables (audit log included) now; keeps FAGCHAT_BACKUP_KEEP
	$(PY) -m fagchat.run.backup create

restore: venv ## Restore the newest backup (FROM=<name or folder> for another; FORCE=1 replaces existing data)
	$(PY) -m fagchat.run.backup restore $(FROM) $(if $(FORCE),--force)

# Scale-out mode (docs/operations.md): the same code with PostgreSQL, Redis and several
# workers, chosen by settings alone. `make run-scaled` starts local servers on these ports
# with their data under var/services/ (installed with apt-get when missing).
PG_PORT    ?= 55442
REDIS_PORT ?= 56442
SCALED_ENV := FAGCHAT_DB_URL=postgresql://fagchat@127.0.0.1:$(PG_PORT)/fagchat \
  FAGCHAT_LOCK_STORE=redis FAGCHAT_REDIS_URL=redis://127.0.0.1:$(REDIS_PORT)/0 \
  FAGCHAT_RASA_WORKERS=2 FAGCHAT_ACTIONS_WORKERS=2

.PHONY: services-up services-down run-scaled scaleout-tests bench bench-quick bench-encoder

services-up: venv ## Install (if missing) and start local PostgreSQL and Redis for scale-out mode
	$(SCALED_ENV) $(PY) -m fagchat.run.services up

services-down: venv ## Stop the local PostgreSQL and Redis
	$(SCALED_ENV) $(PY) -m fagchat.run.services down

run-scaled: train services-up ## Scale-out mode: PostgreSQL, Redis, 2 Rasa and 2 action workers; Ctrl-C stops
	$(LOCAL_HTTP) $(SCALED_ENV) $(PY) -m fagchat.run.launcher

scaleout-tests: train ## Scale-out, fault and fuzz tests against real PostgreSQL and Redis (also in make test)
	$(PY) -m pytest tests/test_scaleout.py tests/test_faults.py tests/test_fuzz.py $(ARGS)

bench: train ## Encoder cost, then load, latency, memory and training vs stock rasa init (~35 min); writes benchmarks/results.md
	$(PY) benchmarks/encoder.py
	$(PY) benchmarks/bench.py $(ARGS)

bench-quick: train ## Stock rasa init vs the embedded default at 50 conversations, the ratios only (~4 min)
	$(PY) benchmarks/bench.py --quick $(ARGS)

bench-encoder: venv ## The sentence encoder's cost per message and memory (about a minute)
	$(PY) benchmarks/encoder.py $(ARGS)

# Running as a service (docs/operations.md): systemd units rendered from deploy/systemd/.
# PREFIX is the checkout the units run from (with its .venv), DESTDIR stages the files
# (packaging, tests); as root without DESTDIR it also creates the fagchat user and the env file.
PREFIX       ?= $(CURDIR)
UNIT_DIR     ?= /etc/systemd/system
SERVICE_USER ?= fagchat
ENV_FILE     ?= /etc/fagchat/fagchat.env

.PHONY: install-service env-example systemd-deps

install-service: venv ## Write the systemd units (PREFIX=, DESTDIR=, UNIT_DIR=, ARGS="--rasa-ports 5005,5006"); starts nothing
	$(PY) -m fagchat.run.systemd install --dest "$(DESTDIR)$(UNIT_DIR)" --prefix "$(PREFIX)" \
	  --user "$(SERVICE_USER)" --env-file "$(ENV_FILE)" $(if $(DESTDIR),--setup no) $(ARGS)

env-example: venv ## Regenerate deploy/systemd/fagchat.env.example from fagchat/settings.py
	$(PY) -m fagchat.run.systemd env-example > deploy/systemd/fagchat.env.example

systemd-deps: ## Debian's systemd (systemd-analyze) for the unit file tests
	@command -v systemd-analyze >/dev/null || (apt-get update -qq && apt-get install -y -qq systemd >/dev/null)
