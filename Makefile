# `make run` serves the portal; `make test` runs every test. Both set up what
# they need first (Debian packages as root, the venv, the database).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PORTAL_INSTANCE_DIR ?= $(CURDIR)/instance
FLASK := $(BIN)/flask --app app

# Python and venv, WeasyPrint's libraries, a CJK font for the PDFs.
DEBIAN_RUN := python3 python3-venv python3-dev gcc libpango-1.0-0 libpangoft2-1.0-0 \
              libharfbuzz-subset0 fonts-noto-cjk shared-mime-info
# Browser tests drive Debian's Chromium; PDF checks render pages with poppler;
# the PostgreSQL and Redis tests start throwaway servers from Debian's packages.
DEBIAN_TEST := chromium poppler-utils postgresql redis-server
# The benches drive the servers with wrk.
DEBIAN_BENCH := wrk

.PHONY: run test bench audit setup setup-test debian debian-test debian-bench db translations translations-update clean

# A recipe that fails leaves no half-written target behind.
.DELETE_ON_ERROR:

# Worker processes: WORKERS (default one per CPU) when the rate limiter's storage is
# shared (PORTAL_RATELIMIT_STORAGE_URI, e.g. redis://…); one process when it is in
# memory, where N processes would each count, multiplying every limit by N.
# Each process serves 8 requests at once with threads.
WORKERS ?= $(shell nproc 2>/dev/null || echo 1)
LIMITER_STORAGE = $(BIN)/python -c 'import os, pathlib, flask, config; \
  instance = pathlib.Path(os.environ["PORTAL_INSTANCE_DIR"]).resolve(); \
  values = flask.Config(str(instance)); config.load(values, instance); \
  print(values["RATELIMIT_STORAGE_URI"])'

run: setup db
	@storage="$$($(LIMITER_STORAGE))" || exit 1; \
	if [[ "$$storage" == memory://* ]]; then workers=1; else workers=$(WORKERS); fi; \
	echo "gunicorn: $$workers worker process(es) x 8 threads (rate limits stored in $${storage%%://*})"; \
	PORTAL_SERVED_AT=http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT) \
	exec $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $$workers --threads 8 \
	  --access-logfile - --logger-class services.access_log.MaskedLogger \
	  --forwarded-allow-ips 127.0.0.1 'app:create_app()'

test: setup-test audit
	$(BIN)/python -m pytest

# Every bench prints its figures (README "Measured" lists them and their results);
# none of them asserts anything. BENCHES lists them in the order they run.
BENCHES := page_weight throughput report_pdf stored_files scale
bench: setup-test debian-bench
	@for name in $(BENCHES); do echo "== bench/$$name.py"; \
	  nice $(BIN)/python bench/$$name.py || exit 1; done

# bandit over the portal's own code (each silenced finding says why, inline);
# pip-audit over the pinned requirements. A known vulnerability stops the build;
# an advisory database that cannot be reached is reported as NOT AUDITED.
audit: setup-test
	$(BIN)/bandit -q -r . -x ./.venv,./tests
	$(BIN)/python scripts/audit-dependencies $(BIN)/pip-audit requirements.txt requirements-dev.txt

setup: debian $(BIN)/.installed translations

setup-test: setup debian-test $(BIN)/.installed-dev

debian:
	@bash scripts/ensure-debian-packages $(DEBIAN_RUN)

debian-test:
	@bash scripts/ensure-debian-packages $(DEBIAN_TEST)

debian-bench:
	@bash scripts/ensure-debian-packages $(DEBIAN_BENCH)

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements-dev.txt $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Translations (translations/README.md): each committed .po is compiled to its
# .mo, only when the .po is newer. A broken catalog stops the build. Fuzzy
# entries are not compiled: they show the Chinese source until reviewed.
PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
POT := translations/messages.pot
EXTRACT_FLAGS := -F babel.cfg -k _l -k lazy_gettext --no-wrap --sort-by-file \
                 --add-location=file --project=student-records-portal

translations: $(MO_FILES)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -l $* -i $< -o $@.tmp || { rm -f $@.tmp; exit 1; }
	@test -s $@.tmp || { echo "$<: not compiled (is the catalog header marked fuzzy?)" >&2; exit 1; }
	mv -f $@.tmp $@

# For developers after adding or changing UI strings: extract them all and
# merge them into every .po (new ones arrive with an empty msgstr).
translations-update: | $(BIN)/.installed
	$(BIN)/pybabel extract $(EXTRACT_FLAGS) -o $(POT) .
	$(BIN)/pybabel update --no-fuzzy-matching --no-wrap --ignore-pot-creation-date \
	  -i $(POT) -d translations
	@echo "Translate the empty msgstr entries in translations/*/LC_MESSAGES/messages.po, then: make translations"

db: setup
	$(FLASK) init-db
	$(FLASK) seed-demo --if-empty

clean:
	rm -rf $(VENV)
