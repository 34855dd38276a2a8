"""The built wheel, installed into a fresh virtualenv outside the checkout, finds its
configuration, SQL and job scripts inside the installed package.

The venv is the one ``make env-archive`` packs for the executors (``env_archive`` fixture):
the wheel with its ``pipeline`` extra, non-editable. Every command below runs with that
venv's Python, from a temporary folder, without ``PYTHONPATH`` or any ``CONTENTLAKE_``
variable. The jobs themselves run from this venv, outside the checkout, in
tests/e2e/test_cluster_pipeline.py (two days on a standalone cluster, the DAG's tasks and a
backfill, every table equal to a local run's) and tests/e2e/test_dag_run.py. Slow: the
environment build (once, ~1.5 min).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(env_archive, tmp_path_factory):
    """(run, lakehouse root): ``run(*args)`` runs the venv's Python from outside the repo."""
    workdir = tmp_path_factory.mktemp("wheel-install")
    venv_bin = str(env_archive.venv / "bin")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith("CONTENTLAKE_")
    }
    # spark-submit and the Python workers come from the installed venv too.
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])

    def run(*args: str) -> str:
        started = time.monotonic()
        done = subprocess.run(
            [str(env_archive.python), *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        print(f"$ python {' '.join(args[:3])} ... rc={done.returncode} "
              f"in {time.monotonic() - started:.0f}s")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
        return done.stdout

    return run, workdir / "lake"


def test_the_package_comes_from_the_venv_not_the_checkout(installed, env_archive):
    run, _ = installed
    where = json.loads(
        run(
            "-c",
            "import json, contentlake, contentlake.conf, contentlake.jobs, contentlake.sql;"
            "from contentlake.spark_settings import job_script;"
            "print(json.dumps([contentlake.__file__, job_script('ingest_catalog').as_posix(),"
            " list(contentlake.conf.__path__)[0], list(contentlake.sql.__path__)[0]]))",
        )
    )
    # Under the venv's site-packages (relative_to fails otherwise), nothing from the source
    # folders: jobs/, conf/ and sql/ install under contentlake/.
    site_packages = next((env_archive.venv / "lib").glob("python3*/site-packages"))
    assert [Path(path).relative_to(site_packages).as_posix() for path in where] == [
        "contentlake/__init__.py",
        "contentlake/jobs/ingest_catalog.py",
        "contentlake/conf",
        "contentlake/sql",
    ]


def test_the_wheel_ships_exactly_the_source_trees_sql_and_conf(env_archive):
    """Nothing removed from sql/ or conf/ lingers in the wheel (setuptools' build/lib keeps
    old copies unless the build clears it), and nothing is missing."""
    site_packages = next((env_archive.venv / "lib").glob("python3*/site-packages"))
    for folder in ("sql", "conf"):
        source = REPO / folder
        installed = site_packages / "contentlake" / folder
        assert files_under(installed) == files_under(source), folder


def files_under(folder: Path) -> set[str]:
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.name != "__init__.py"
    }
