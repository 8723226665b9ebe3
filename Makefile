# `make run` and `make test` work on a fresh machine with only python3 and make: each
# creates (once) and reuses the virtual environment in .venv. `make run` installs only
# what the server needs; `make test` adds the test tools. A .venv left half-made (an
# interrupted install, no bin/pip) is made again.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# `make run LISTEN=127.0.0.1:5300` serves another address than the configuration's
LISTEN ?=

.PHONY: run test lint check show clean

$(BIN)/pip:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# (setup.py builds the C reader of zone files, server/acnsd/model/_zonefast.c, when a C
# compiler is there: an edit of it installs again)
$(STAMP): pyproject.toml setup.py server/acnsd/model/_zonefast.c | $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[fast]'
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,fast]'
	touch $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/acnsd serve --config config/acnsd.yaml $(if $(LISTEN),--listen $(LISTEN))

check: $(STAMP)
	$(BIN)/acnsd check --config config/acnsd.yaml

show: $(STAMP)
	$(BIN)/acnsd show --config config/acnsd.yaml

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info server/*.egg-info

# The benchmark suite of issue 4 (benchmarks/README.md). `make bench` installs what is
# missing (Debian's dnsperf, knot, nsd and gcc when run as root; benchmarks/requirements.txt
# into .venv), then runs the full suite and the scale set; BENCH_ARGS adds options, e.g.
# `make bench BENCH_ARGS="--mixes cached --duration 5"`. `make bench-smoke` is the
# short run the tests use, against the servers that are installed.
.PHONY: bench bench-smoke bench-scale
bench: $(TEST_STAMP)
	@missing=""; for pair in dnsperf:dnsperf knotd:knot nsd:nsd cc:gcc; do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || [ -x /usr/sbin/$${pair%%:*} ] \
	    || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
	elif [ -n "$$missing" ]; then \
	  echo "not root, not installing:$$missing (the benchmark skips what is missing)"; \
	fi
	$(BIN)/pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python -m benchmarks.run --scale --publish $(BENCH_ARGS)

bench-smoke: $(TEST_STAMP)
	$(BIN)/python -m benchmarks.run --smoke $(BENCH_ARGS)

# The scale suite of issue 16 at 100,000 zones, beside Knot and NSD (benchmarks/README.md,
# "Scale suite"); it publishes to benchmarks/results/scale/. Other sizes:
# `make bench-scale SCALE_ARGS="--zones 1000000"` or SCALE_ARGS=--scale-set.
SCALE_ARGS ?= --zones 100000
bench-scale: $(TEST_STAMP)
	$(BIN)/python -m benchmarks.scale --publish $(SCALE_ARGS)
