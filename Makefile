# hithe — make demo / make test work on a fresh Debian 12 machine, as root.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PKGS := runc conmon busybox-static tini nftables iptables golang-github-containers-common curl \
            docker-registry apache2-utils skopeo openssl
PYTEST_ARGS ?=

.PHONY: deps venv compile demo test unit integration bench clean

deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=compat  # a plain .pth: no import hook at CLI start-up
	touch $@

venv: $(VENV)/.installed

# Byte-compile: the CLI must start fast even where PYTHONDONTWRITEBYTECODE is set.
compile: venv
	@$(PY) -m compileall -q hithe >/dev/null

demo: deps compile
	@bash scripts/demo.sh

test: deps compile
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests

unit: venv
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

integration: deps venv
	$(PY) -m pytest -q -p no:cacheprovider tests/integration tests/compat

bench: deps compile
	$(PY) bench/run.py --docker-bridge

clean:
	rm -rf $(VENV) *.egg-info
