# studbook: `make run` to try it, `make test` to check it. Everything else is optional.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROTOS := $(wildcard proto/studbook/v1/*.proto)

.PHONY: install run serve test bench proto typecheck lint format chromium postgres mlflow-venv clean

install: $(STAMP)

# Re-install only when the project's dependencies change; idempotent otherwise.
# pip's own output (and the warnings setuptools prints while building) goes to a log that is
# shown only when the install fails, so a good install never looks like a broken one.
INSTALL_LOG := $(VENV)/install.log
$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "creating $(VENV) ..."; $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV); }
	@echo "installing studbook into $(VENV) (first time: about a minute; pip's log: $(INSTALL_LOG)) ..."
	@if { $(PY) -m pip install --disable-pip-version-check --upgrade pip \
	      && $(PY) -m pip install --disable-pip-version-check -e '.[dev,web]'; } >$(INSTALL_LOG) 2>&1; then \
	    echo "installed."; \
	else \
	    tail -n 40 $(INSTALL_LOG); \
	    echo "pip failed (the lines above are the end of $(INSTALL_LOG)); fix the cause and run make again"; \
	    exit 1; \
	fi
	@touch $(STAMP)

run: install
	$(VENV)/bin/studbook demo

serve: install
	$(VENV)/bin/studbook serve

# Style and types first (seconds), then every test on three workers (see tests/conftest.py).
test: install lint typecheck chromium postgres mlflow-venv
	$(PY) -m pytest -n 3 --dist loadgroup

# Style and likely bugs (ruff), in seconds; `make format` rewrites what `lint` finds unformatted.
LINTED := daemon tui tests proto
lint: install
	$(VENV)/bin/ruff format --check --quiet $(LINTED)
	$(VENV)/bin/ruff check --quiet $(LINTED)

format: install
	$(VENV)/bin/ruff format --quiet $(LINTED)
	$(VENV)/bin/ruff check --fix --quiet $(LINTED)

# The browser test's browser: Debian's chromium, installed once (as root, else through sudo).
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing Debian's chromium for the browser test"; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The PostgreSQL catalog's tests start their own throwaway server (tests/support/postgres.py) from
# Debian's server binaries, installed once (as root, else through sudo). Nothing is configured
# or started here: the package's own cluster, if it starts one, is not the one the tests use.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing Debian's postgresql for the PostgreSQL catalog's tests"; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The pinned MLflow that the importer's tests fill and `make bench` measures, in a venv of its own
# (tests/support/mlflow_venv.py); built once, then cached by a stamp naming the pins. Quiet when cached.
mlflow-venv: install
	@$(PY) -m tests.support.mlflow_venv
	@cd tests && ../$(PY) -c 'from support.mlflow_importer import main; main()'

bench: install mlflow-venv
	$(PY) -m tests.bench

# Regenerate the Python code of the contract; a test fails when it is stale.
proto: install
	$(PY) -m grpc_tools.protoc -I proto -I $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') --python_out=proto --pyi_out=proto --grpc_python_out=proto $(PROTOS)

# mypy sees the `studbook` namespace through a link farm shaped like the installed package.
typecheck: install
	@rm -rf build/typecheck && mkdir -p build/typecheck/studbook
	@for f in proto/studbook/*.py; do ln -s ../../../$$f build/typecheck/studbook/; done
	@ln -s ../../../proto/studbook/v1 build/typecheck/studbook/v1
	@ln -s ../../../daemon build/typecheck/studbook/daemon
	@ln -s ../../../tui/client build/typecheck/studbook/client
	@ln -s ../../../tui/cli build/typecheck/studbook/cli
	@ln -s ../../../tui/exports build/typecheck/studbook/exports
	@ln -s ../../../tui/app build/typecheck/studbook/tui
	cd build/typecheck && ../../$(VENV)/bin/mypy --config-file ../../pyproject.toml -p studbook.daemon -p studbook.client -p studbook.cli -p studbook.exports -p studbook.tui

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
