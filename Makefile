# studbook: `make run` to try it, `make test` to check it. Everything else is optional.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROTOS := $(wildcard proto/studbook/v1/*.proto)

.PHONY: install run serve test bench proto clean

install: $(STAMP)

# Re-install only when the project's dependencies change; idempotent otherwise.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install
	$(VENV)/bin/studbook demo

serve: install
	$(VENV)/bin/studbook serve

test: install
	$(PY) -m pytest

bench: install
	$(PY) -m tests.bench

# Regenerate the Python code of the contract; a test fails when it is stale.
proto: install
	$(PY) -m grpc_tools.protoc -I proto --python_out=proto --pyi_out=proto --grpc_python_out=proto $(PROTOS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
