# contentlake: the two commands of the README, and what they are made of.
#   make demo   installs everything, then runs the pipeline for three days on sample data
#   make test   installs everything, then runs the test suite (slow suites: make test-slow)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED_MAVEN ?= ../shared/maven/repository

# The venv's bin first, so spark-submit and the Python workers use the project's Python.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install maven-seed demo test test-slow lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python maven-seed
	$(BIN)/pip install --quiet -e '.[dev,airflow]'

# Spark resolves --packages from ~/.m2/repository before any remote repository. Where
# Maven Central is unreachable, a pre-fetched repository beside the checkout seeds it;
# elsewhere there is nothing to do and Spark downloads the coordinates as usual.
maven-seed:
	@if [ -d "$(SHARED_MAVEN)" ]; then \
		mkdir -p $(HOME)/.m2/repository && cp -rn $(SHARED_MAVEN)/. $(HOME)/.m2/repository/ ; \
		echo "seeded ~/.m2/repository from $(SHARED_MAVEN)"; fi

demo: install
	$(BIN)/python -m contentlake.demo --root ./lakehouse --items 400 --days 3

test: install
	$(BIN)/python -m pytest

test-slow: install
	$(BIN)/python -m pytest -m slow

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/embed_throughput.py

clean:
	rm -rf ./lakehouse spark-warehouse metastore_db derby.log
