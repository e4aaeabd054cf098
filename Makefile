# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the tests).
# Each creates or updates .venv idempotently with pip.
PY := .venv/bin/python
STAMP := .venv/.installed
# torch/torchvision are pinned to the releases this workplace serves from local disk.
TORCH := torch==2.14.1 torchvision==0.29.1
DEMO_OUT ?= demo-out

.PHONY: demo test venv browser bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test,data]'
	# img2dataset (clipscale data prepare) pins pandas<3 and webdataset<0.3, which would downgrade
	# ours; it runs with them (tests/data/test_prepare.py), so it is installed without its pins.
	$(PY) -m pip install -q --no-deps 'img2dataset==1.47.0'
	touch $(STAMP)

# Headless Chromium from Debian for the report's browser tests (installed once).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

demo: $(STAMP)
	$(PY) -m clipscale demo --out $(DEMO_OUT)

# lint-imports: the stage layers and no import cycles (the contracts in pyproject.toml, DEVELOPERS.md).
test: $(STAMP) browser
	PYTHONPATH=src .venv/bin/lint-imports
	$(PY) -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf .venv build dist src/*.egg-info $(DEMO_OUT)
