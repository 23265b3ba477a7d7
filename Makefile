# Two commands for a fresh machine: `make run` (start the service) and `make test` (run the suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test models test-models lint clean

install: $(STAMP)

# Re-installs only when the package's metadata changes; the package itself is installed editable.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

models: install
	$(BIN)/bgremover models fetch

run: install
	$(BIN)/bgremover models fetch
	$(BIN)/bgremover serve

test-models: install
	$(BIN)/bgremover models fetch u2netp

test: install test-models
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
