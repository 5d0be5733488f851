# soilp — soil moisture–precipitation dependence for QGIS.
#
#   make env       install what is missing: QGIS (Debian/Ubuntu, as root), the engine's .venv,
#                  the QGIS test environment .venv-qgis (QGIS's Python + pytest, system packages)
#   make test      lint, engine tests (.venv) and QGIS tests (processing.run and qgis_process)
#   make lint      ruff over the checkout (rules in ruff.toml)
#   make demo      the main job on the built-in synthetic world, headless
#   make package   dist/soilp-<version>.zip for the QGIS Plugin Manager
#   make install   the plugin into your QGIS profile (engine: this checkout's .venv)
#   make bench     speed and memory benchmarks

SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(CURDIR)

# The interpreter the engine's virtual environment is made from (any Python ≥ 3.10).
ENGINE_BASE_PYTHON ?= $(shell for p in python3 python3.11 python3.12 python3.13; do \
	$$p -c 'import sys, venv; assert sys.version_info >= (3, 10)' >/dev/null 2>&1 && { command -v $$p; break; }; done)
# QGIS's own Python (the one that can import qgis.core); only used to make .venv-qgis.
QGIS_PYTHON ?= $(shell for p in /usr/bin/python3 python3; do \
	$$p -c 'import qgis.core' >/dev/null 2>&1 && { command -v $$p; break; }; done)
# A qgis_process that works: Debian's /usr/bin/qgis_process wrapper fails on 3.22, the .bin works.
QGIS_PROCESS ?= $(shell command -v qgis_process.bin || command -v qgis_process)

VENV := $(ROOT)/.venv
VENV_QGIS := $(ROOT)/.venv-qgis
ENGINE_PYTHON := $(VENV)/bin/python
PROFILE := $(ROOT)/.qgis-profile
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
PIP_QUIET := --quiet --disable-pip-version-check

# Headless Qt wherever there is no display; the engine for headless runs; a throwaway profile
# with this checkout as plugin 'soilp'.
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)
HEADLESS_ENV := SOILP_PYTHON=$(ENGINE_PYTHON) QGIS_CUSTOM_CONFIG_PATH=$(PROFILE) \
	QGIS_PLUGINPATH=$(PROFILE)/plugins

.PHONY: help env qgis lint test test-engine test-qgis demo demo-run package install bench clean

help:
	@sed -n 's/^#   //p' Makefile

# ---------------------------------------------------------------------------------------- env
env: qgis $(VENV)/.installed $(VENV_QGIS)/.installed $(PROFILE)/.enabled

qgis:
	@if [ -n "$(QGIS_PROCESS)" ] && [ -n "$(QGIS_PYTHON)" ]; then \
		echo "QGIS: $(QGIS_PROCESS) ($$($(QGIS_PYTHON) -c 'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)' 2>/dev/null))"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "QGIS not found: installing it from the distribution (apt-get install qgis python3-qgis)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			qgis python3-qgis python3-venv >/dev/null && echo "QGIS installed"; \
	else \
		echo "QGIS (qgis_process and python3-qgis) not found: install QGIS ≥ 3.22 from your distribution or qgis.org" >&2; \
		exit 1; \
	fi

$(VENV)/.installed: soilp_qgis/requirements.txt requirements-dev.txt soilp_qgis/pyproject.toml
	@echo "engine environment: $(VENV) (from $(ENGINE_BASE_PYTHON))"
	@test -x $(ENGINE_PYTHON) || $(ENGINE_BASE_PYTHON) -m venv $(VENV)
	@$(ENGINE_PYTHON) -m pip install $(PIP_QUIET) -r requirements-dev.txt
	@$(ENGINE_PYTHON) -m pip install $(PIP_QUIET) --no-deps -e soilp_qgis
	@touch $@

# QGIS's Python with pytest: a venv over the system site packages, so QGIS's own Python (and
# its numpy, built for its GDAL) stays untouched.
$(VENV_QGIS)/.installed: requirements-qgis-tests.txt
	@$(MAKE) --no-print-directory qgis
	@py="$(QGIS_PYTHON)"; py=$${py:-/usr/bin/python3}; \
		test -x $(VENV_QGIS)/bin/python || $$py -m venv --system-site-packages $(VENV_QGIS)
	@$(VENV_QGIS)/bin/python -m pip install $(PIP_QUIET) -r requirements-qgis-tests.txt
	@touch $@

$(PROFILE)/.enabled: metadata.txt
	@mkdir -p $(PROFILE)/plugins
	@ln -sfn $(ROOT) $(PROFILE)/plugins/soilp
	@qp="$(QGIS_PROCESS)"; qp=$${qp:-$$(command -v qgis_process.bin || command -v qgis_process)}; \
		out=$$($(HEADLESS_ENV) $$qp plugins enable soilp 2>&1) || \
		case "$$out" in *"already enabled"*) ;; \
		*) echo "could not enable the plugin with '$$qp': $$(echo "$$out" | tail -n 1)" >&2; exit 1;; esac
	@touch $@

# --------------------------------------------------------------------------------------- test
test: env
	@$(MAKE) --no-print-directory lint test-engine test-qgis

lint:
	$(VENV)/bin/ruff check $(ROOT)

test-engine:
	$(ENGINE_PYTHON) -m pytest tests/engine -q -p no:cacheprovider

test-qgis:
	$(HEADLESS_ENV) QGIS_PROCESS=$(QGIS_PROCESS) $(VENV_QGIS)/bin/python -m pytest tests/qgis -q -p no:cacheprovider

# ------------------------------------------------------------------------------ QGIS versions
# make test-qgis-versions: the QGIS tests, plus explicit `qgis_process list` (every soilp
# algorithm) and `qgis_process run soilp:checkengine` checks, against each Debian suite's QGIS
# in a debootstrap root (made when missing, refreshed weekly; as root), with this checkout and
# the engine's .venv bound in. One summary line per suite. QGIS_VERSIONS=trixie picks one.
QGIS_VERSIONS ?= trixie sid
# Where the roots are kept (~2 GB each); CI points this at a folder the machine keeps.
QGIS_ROOTS_DIR ?= $(ROOT)/build/qgis-roots

.PHONY: test-qgis-versions
test-qgis-versions:
	@QGIS_ROOTS_DIR=$(QGIS_ROOTS_DIR) HOST_PIP_PYTHON=$(ENGINE_PYTHON) bash \
		scripts/qgis_versions/matrix.sh $(ROOT) $(ENGINE_PYTHON) $(QGIS_VERSIONS) \
		$(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

# --------------------------------------------------------------------------------------- demo
demo: env
	@$(MAKE) --no-print-directory demo-run

demo-run:
	@$(HEADLESS_ENV) QGIS_PROCESS=$(QGIS_PROCESS) bash scripts/demo.sh

# ------------------------------------------------------------------------------------ package
package:
	@$(or $(QGIS_PYTHON),python3) scripts/package.py --output dist/soilp-$(VERSION).zip

QGIS_USER_PLUGINS ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default/python/plugins

install: package $(VENV)/.installed
	@rm -rf $(QGIS_USER_PLUGINS)/soilp && mkdir -p $(QGIS_USER_PLUGINS)
	@cd $(QGIS_USER_PLUGINS) && unzip -q $(ROOT)/dist/soilp-$(VERSION).zip
	@ln -sfn $(VENV) $(QGIS_USER_PLUGINS)/soilp/.venv
	@echo "installed into $(QGIS_USER_PLUGINS)/soilp (engine: $(VENV)); enable it in Plugins › Manage and Install Plugins"

# -------------------------------------------------------------------------------------- bench
bench: $(VENV)/.installed
	$(ENGINE_PYTHON) -m bench $(BENCH)

clean:
	rm -rf dist bench_output demo_output $(PROFILE) .pytest_cache
