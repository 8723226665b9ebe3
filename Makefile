# `make run` and `make test` work on a fresh machine with only python3 and make:
# each creates (once) and reuses the virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint check show clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,fast]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/acnsd serve --config config/acnsd.yaml

check: $(STAMP)
	$(BIN)/acnsd check --config config/acnsd.yaml

show: $(STAMP)
	$(BIN)/acnsd show --config config/acnsd.yaml

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info server/*.egg-info
