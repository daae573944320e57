# Two commands: `make demo` and `make test`. Each creates .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint hooks clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/workbook demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# ruff over the package, tests, benchmarks and notebooks; then the import contract (pyproject
# [tool.importlinter], ARCHITECTURE.md): run > present > params > analyses > core
LINTED := analysis_lib tests benchmarks notebooks
lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports

# the pre-commit hooks (.pre-commit-config.yaml): ruff, ruff format, nbstripout on every commit
hooks: $(STAMP)
	$(BIN)/pre-commit install

clean:
	rm -rf $(VENV) data reports/*/ reports/index.html
