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
# Browser tests drive Debian's Chromium; PDF checks render pages with poppler.
DEBIAN_TEST := chromium poppler-utils

.PHONY: run test setup setup-test debian debian-test db translations clean

run: setup db
	exec $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 1 --threads 8 \
	  --access-logfile - --forwarded-allow-ips 127.0.0.1 'app:create_app()'

test: setup-test
	$(BIN)/python -m pytest

setup: debian $(BIN)/.installed translations

setup-test: setup debian-test $(BIN)/.installed-dev

debian:
	@bash scripts/ensure-debian-packages $(DEBIAN_RUN)

debian-test:
	@bash scripts/ensure-debian-packages $(DEBIAN_TEST)

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements-dev.txt $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

translations: $(BIN)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d translations --statistics 2>&1 | grep -v '^$$' || true

db: setup
	$(FLASK) init-db
	$(FLASK) seed-demo --if-empty

clean:
	rm -rf $(VENV)
