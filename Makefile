# The front door: make run | test | bench | migrate | build | deps
SHELL := /bin/bash
SWIFT ?= swift
DEBIAN_PACKAGES := libfcgi-dev libfcgi-bin libsodium-dev libsqlite3-dev libcurl4-openssl-dev pkg-config \
	nginx curl openssl wrk spawn-fcgi systemd python3 python3-pip libjs-chart.js chromium chromium-driver
PYTHON_PACKAGES := schemathesis==4.32.5 pytest requests openapi-spec-validator pyyaml selenium
EDMO := .build/debug/edmo
RUN_DIR ?= /tmp/edmo-run
PORT ?= 8080
SEED ?= ../shared/seed/openapi.yaml
export EDMO_DATABASE ?= $(CURDIR)/.run/edmo.sqlite
export EDMO_MIGRATIONS ?= $(CURDIR)/migrations

.PHONY: deps build release test unit spec e2e run migrate bench clean install

## Installs what a fresh Debian 12 machine with Swift lacks (apt, pip), only when missing.
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@python3 -c "import schemathesis, pytest, requests, openapi_spec_validator, yaml, selenium" 2>/dev/null || \
		python3 -m pip install -q $(PYTHON_PACKAGES) 2>/dev/null || \
		python3 -m pip install -q --break-system-packages $(PYTHON_PACKAGES)

build: deps
	$(SWIFT) build --product edmo

release: deps
	$(SWIFT) build -c release --product edmo

## Unit tests, the contract check, then the end-to-end suite (real nginx + the real binary).
test: deps unit spec e2e

unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

spec:
	python3 tests/spec/check_spec.py $(SEED) openapi.yaml

e2e: build
	EDMO_BIN=$(CURDIR)/$(EDMO) python3 -m pytest -q -p no:cacheprovider tests/e2e

migrate: build
	@mkdir -p $(dir $(EDMO_DATABASE))
	$(EDMO) migrate

## nginx on http://127.0.0.1:$(PORT) in front of edmo serve; Ctrl-C stops both.
run: build migrate
	@mkdir -p $(RUN_DIR) && chmod 755 $(RUN_DIR) && rm -rf $(RUN_DIR)/web && cp -r web $(RUN_DIR)/web
	@[ -s .run/secret.key ] || (umask 077; openssl rand -hex 32 > .run/secret.key)
	@EDMO_SECRET_KEY=$$(cat .run/secret.key) $(EDMO) users ensure-admin
	@nginx/render $(PORT) $(RUN_DIR)/edmo.sock $(RUN_DIR)/web $(RUN_DIR) > $(RUN_DIR)/nginx.conf
	@EDMO_SECRET_KEY=$$(cat .run/secret.key) $(EDMO) serve --socket $(RUN_DIR)/edmo.sock --socket-mode 666 & pid=$$!; \
		trap 'kill -TERM $$pid; nginx -s quit -c $(RUN_DIR)/nginx.conf -p $(RUN_DIR); wait $$pid' EXIT INT TERM; \
		for i in $$(seq 50); do [ -S $(RUN_DIR)/edmo.sock ] && break; sleep 0.1; done; \
		nginx -c $(RUN_DIR)/nginx.conf -p $(RUN_DIR) && \
		echo "Edmo is up: http://127.0.0.1:$(PORT)  (API under /api; Ctrl-C stops)" && wait $$pid

bench: release
	bench/run.sh $(CURDIR)/.build/release/edmo

clean:
	rm -rf .build .run

PREFIX ?= /usr/local
## Installs the release binary, migrations, dashboard and the nginx/systemd files.
install: release
	install -D -m 755 .build/release/edmo $(DESTDIR)$(PREFIX)/bin/edmo
	install -d $(DESTDIR)$(PREFIX)/share/edmo/migrations $(DESTDIR)$(PREFIX)/share/edmo/web
	install -m 644 migrations/*.sql $(DESTDIR)$(PREFIX)/share/edmo/migrations/
	cp -r web/. $(DESTDIR)$(PREFIX)/share/edmo/web/
	install -D -m 644 nginx/edmo-fastcgi.conf $(DESTDIR)/etc/nginx/snippets/edmo-fastcgi.conf
	install -D -m 644 systemd/edmo.socket $(DESTDIR)/etc/systemd/system/edmo.socket
	install -D -m 644 systemd/edmo.service $(DESTDIR)/etc/systemd/system/edmo.service
	[ -e $(DESTDIR)/etc/edmo/edmo.env ] || install -D -m 600 edmo.env.example $(DESTDIR)/etc/edmo/edmo.env
