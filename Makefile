# The front door: make run | test | bench | migrate | build | deps-run | deps
SHELL := /bin/bash
SWIFT ?= swift
# The layers of Package.swift are enforced: a target that imports a module it does not declare fails to build.
SWIFT_BUILD := build --explicit-target-dependency-import-check=error
# What building and running need (build, release, migrate, run, install).
RUN_PACKAGES := libfcgi-dev libfcgi-bin libsodium-dev libsqlite3-dev libcurl4-openssl-dev pkg-config postgresql libpq-dev \
	nginx curl openssl libjs-chart.js
# What the tests and the benchmark need on top (test, bench): process modes, load, browser, Python tools.
TEST_PACKAGES := wrk spawn-fcgi systemd python3 python3-pip chromium chromium-driver
# openapi-python-client is pinned like schemathesis: tests/e2e/test_generated_client.py fails on any warning it
# prints, and what a newer generator warns about is not a change of ours. So are the two axe-core engines of the
# browser suite (tests/e2e/a11y.py): a newer engine's new rules are not a change of ours either.
PYTHON_PACKAGES := schemathesis==4.32.5 pytest requests openapi-spec-validator pyyaml selenium openapi-python-client==0.29.1 \
	axe-selenium-python==2.1.6 selenium-axe-python==2.2.0
EDMO := .build/debug/edmo
RUN_DIR ?= /tmp/edmo-run
PORT ?= 8080
# The seed contract, frozen in the repository (see tests/spec/README.md).
SEED ?= tests/spec/seed-openapi.yaml
export EDMO_DATABASE ?= $(CURDIR)/.run/edmo.sqlite
export EDMO_MIGRATIONS ?= $(CURDIR)/migrations

.PHONY: deps deps-run build release test unit spec e2e run migrate bench clean install

# $(call apt_missing,PACKAGES): apt-get installs those of PACKAGES not installed yet; nothing when all are.
define apt_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q ' installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

## Installs what a fresh Debian 12 machine with Swift lacks to build and run edmo (apt), only when missing.
deps-run:
	$(call apt_missing,$(RUN_PACKAGES))

## ...and everything the tests and the benchmark need too (apt, pip), only when missing.
deps: deps-run
	$(call apt_missing,$(TEST_PACKAGES))
	@python3 -c "import schemathesis, pytest, requests, openapi_spec_validator, yaml, selenium, openapi_python_client, axe_selenium_python, selenium_axe_python" 2>/dev/null || \
		python3 -m pip install -q $(PYTHON_PACKAGES) 2>/dev/null || \
		python3 -m pip install -q --break-system-packages $(PYTHON_PACKAGES)

build: deps-run
	$(SWIFT) $(SWIFT_BUILD) --product edmo

release: deps-run
	$(SWIFT) $(SWIFT_BUILD) -c release --product edmo

## Unit tests, the contract check, then the end-to-end suite (real nginx + the real binary); unit and e2e on both stores.
test: deps unit spec e2e

## The Swift tests run once, on both stores: SQLite files in temp folders, and a throwaway PostgreSQL
## cluster (tests/pg/cluster) that the PostgreSQL tests find through EDMO_TEST_POSTGRES.
unit:
	$(SWIFT) $(SWIFT_BUILD) --build-tests
	@d=$$(mktemp -d); trap 'tests/pg/cluster stop $$d/pg; rm -rf $$d' EXIT; \
	url=$$(tests/pg/cluster start $$d/pg) && \
	EDMO_TEST_POSTGRES=$$url $(SWIFT) test --skip-build

spec:
	python3 tests/spec/check_spec.py $(SEED) openapi.yaml

## The end-to-end suite runs twice, on each store: SQLite (a file per stack), then PostgreSQL (a database per
## stack on a throwaway cluster, tests/pg/cluster, that the suite finds through EDMO_E2E_POSTGRES; the
## tests marked store_independent or sqlite_only are skipped there, with their reason). Both passes run;
## either failing fails. E2E_ARGS goes to both pytest runs (e.g. E2E_ARGS="-k chat").
E2E_ARGS ?=
e2e: build
	@echo "== e2e on SQLite =="; \
	EDMO_BIN=$(abspath $(EDMO)) python3 -m pytest -q -p no:cacheprovider tests/e2e $(E2E_ARGS); sqlite=$$?; \
	echo "== e2e on PostgreSQL (a throwaway cluster) =="; \
	d=$$(mktemp -d); trap 'tests/pg/cluster stop $$d/pg; rm -rf $$d' EXIT; \
	url=$$(tests/pg/cluster start $$d/pg) && \
	EDMO_E2E_POSTGRES=$$url EDMO_BIN=$(abspath $(EDMO)) python3 -m pytest -q -p no:cacheprovider tests/e2e $(E2E_ARGS); \
	postgres=$$?; \
	echo "== e2e: SQLite $$([ $$sqlite -eq 0 ] && echo passed || echo FAILED)," \
		"PostgreSQL $$([ $$postgres -eq 0 ] && echo passed || echo FAILED) =="; \
	[ $$sqlite -eq 0 ] && [ $$postgres -eq 0 ]

migrate: build
	@mkdir -p $(dir $(EDMO_DATABASE))
	$(EDMO) migrate

## nginx on http://127.0.0.1:$(PORT) in front of edmo serve; Ctrl-C (or SIGTERM to make) stops both.
## Overridable: PORT, RUN_DIR (absolute, every directory above it traversable by nginx's workers), EDMO.
run: build migrate
	@mkdir -p $(RUN_DIR) .run && chmod 755 $(RUN_DIR) && rm -rf $(RUN_DIR)/web && cp -r web $(RUN_DIR)/web
	@[ -s .run/secret.key ] || (umask 077; openssl rand -hex 32 > .run/secret.key)
	@EDMO_SECRET_KEY=$$(cat .run/secret.key) $(EDMO) users ensure-admin
	@nginx/render $(PORT) $(RUN_DIR)/edmo.sock $(RUN_DIR)/web $(RUN_DIR) > $(RUN_DIR)/nginx.conf
	@rm -f $(RUN_DIR)/edmo.sock; \
	EDMO_SECRET_KEY=$$(cat .run/secret.key) $(EDMO) serve --socket $(RUN_DIR)/edmo.sock --socket-mode 666 & pid=$$!; \
	stop() { \
		trap - EXIT INT TERM; kill -TERM $$pid 2>/dev/null; \
		if [ -s $(RUN_DIR)/nginx.pid ]; then \
			nginx -s quit -c $(RUN_DIR)/nginx.conf -p $(RUN_DIR); \
			for i in $$(seq 100); do [ -e $(RUN_DIR)/nginx.pid ] || break; sleep 0.1; done; \
		fi; \
		wait $$pid; \
	}; \
	trap stop EXIT; trap 'stop; exit 130' INT; trap 'stop; exit 143' TERM; \
	for i in $$(seq 50); do [ -S $(RUN_DIR)/edmo.sock ] || ! kill -0 $$pid 2>/dev/null && break; sleep 0.1; done; \
	[ -S $(RUN_DIR)/edmo.sock ] && nginx -c $(RUN_DIR)/nginx.conf -p $(RUN_DIR) && \
	echo "Edmo is up: http://127.0.0.1:$(PORT)  (API under /api; Ctrl-C stops)" && wait $$pid

## Both stores, one after the other, then one table side by side with the ratios and issue 12's goals
## (bench/README.md). BENCH_STORE=sqlite or postgres runs one store only.
BENCH_STORE ?= both
bench: deps release
	BENCH_STORE=$(BENCH_STORE) bench/run.sh $(CURDIR)/.build/release/edmo

clean:
	rm -rf .build .run

PREFIX ?= /usr/local
## Installs the release binary, migrations, dashboard and the nginx/systemd files.
install: release
	install -D -m 755 .build/release/edmo $(DESTDIR)$(PREFIX)/bin/edmo
	install -d $(DESTDIR)$(PREFIX)/share/edmo/migrations $(DESTDIR)$(PREFIX)/share/edmo/web
	install -m 644 migrations/*.sql $(DESTDIR)$(PREFIX)/share/edmo/migrations/
	install -d $(DESTDIR)$(PREFIX)/share/edmo/migrations/postgres
	install -m 644 migrations/postgres/*.sql $(DESTDIR)$(PREFIX)/share/edmo/migrations/postgres/
	cp -r web/. $(DESTDIR)$(PREFIX)/share/edmo/web/
	install -D -m 644 nginx/edmo-fastcgi.conf $(DESTDIR)/etc/nginx/snippets/edmo-fastcgi.conf
	install -D -m 644 systemd/edmo.socket $(DESTDIR)/etc/systemd/system/edmo.socket
	install -D -m 644 systemd/edmo.service $(DESTDIR)/etc/systemd/system/edmo.service
	install -D -m 644 systemd/edmo-backup.service $(DESTDIR)/etc/systemd/system/edmo-backup.service
	install -D -m 644 systemd/edmo-backup.timer $(DESTDIR)/etc/systemd/system/edmo-backup.timer
	[ -e $(DESTDIR)/etc/edmo/edmo.env ] || install -D -m 600 edmo.env.example $(DESTDIR)/etc/edmo/edmo.env
