# Two commands for a fresh machine: `make run` (start the service) and `make test` (run the suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test models test-models browser-deps peer-rembg lint clean

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
	$(BIN)/bgremover models fetch u2netp u2netp-int8 u2net u2net-int8  # the two 1-credit presets run the int8 copies (built here: seconds, minutes)

# Debian's Chromium for the browser tests (never a downloaded browser); needs root or sudo once.
browser-deps:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

# rembg 2.0.69 in its own venv: the peer the bench measures against and a real upstream in the provider tests.
# Importing it once compiles pymatting's numba kernels into the venv's cache, so `rembg s` starts in seconds in tests.
peer-rembg: install
	$(BIN)/python -c "from bgremover.benchmark.peer_rembg import ensure_venv, default_venv; ensure_venv(default_venv())"
	$(HOME)/.cache/bgremover/rembg-venv/bin/python -c "import rembg.bg" >/dev/null

# Two pytest workers (pytest-xdist), one test file per worker at a time so each file's servers start once: most
# tests wait on real servers and subprocesses, so two workers on two cores take about 60 % of the serial time.
PYTEST_ARGS ?= -n auto --maxprocesses 2 --dist loadfile
test: install test-models browser-deps peer-rembg
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
