"""What the Airflow-driven tests share: one PostgreSQL metastore and one Airflow home for the
test session, and each test's ``$CONTENTLAKE_CONF`` overlay naming its own database there.

Airflow is an optional extra: without it, these fixtures skip the tests that ask for them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from airflow_cli import VENV_BIN, airflow_command, run_logged, spark_default_connection

from contentlake.standalone_cluster import SMALL_APPLICATION_CONF

REPO = Path(__file__).resolve().parents[2]
# The master an ``airflow_env`` task runs on, unless a test names another in its own
# ``AIRFLOW_CONN_SPARK_DEFAULT`` (tests/e2e/test_cluster_pipeline.py names the cluster's).
LOCAL_MASTER = "local[2]"


@pytest.fixture(scope="session")
def metastore_server():
    """A local PostgreSQL metastore for the session: (port, password, its folder). Its data
    lives outside pytest's tmp folder (0700), since the server runs as its own user."""
    from contentlake.config import load_config
    from contentlake.metastore import INSTALL_HINT, down, metastore_password, server_available, up

    if not server_available():
        pytest.skip(f"PostgreSQL server binaries not installed: {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="contentlake-dag-metastore-"))
    root.chmod(0o755)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metastore = {"kind": "postgres", "postgres": {"port": port}}
    cfg = load_config("cluster", root=root, overrides={"metastore": metastore})
    up(cfg)
    try:
        yield port, metastore_password(cfg), cfg.paths.metastore
    finally:
        down(cfg)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory: pytest.TempPathFactory, metastore_server) -> dict[str, str]:
    """Environment for the ``airflow`` CLI: fresh metadata DB, a ``local[2]`` master in
    ``spark_default``, the metastore password in its Airflow connection, no retries."""
    pytest.importorskip("airflow", reason="apache-airflow is not installed (optional extra)")
    if not (VENV_BIN / "spark-submit").is_file():
        pytest.skip(f"no spark-submit in {VENV_BIN}")
    pytest.importorskip("psutil")  # Airflow's own dependency; the DriverKiller uses it
    airflow_home = tmp_path_factory.mktemp("airflow_home")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "CONTENTLAKE_"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "airflow_dags"),
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW_CONN_SPARK_DEFAULT": spark_default_connection(LOCAL_MASTER),
            # spark-submit must be the venv's (pyspark 4.1.3), and so must every python.
            "PATH": os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
            "CONTENTLAKE_PROFILE": "cluster",
            "CONTENTLAKE_METASTORE": "postgres",
            # The password reaches the jobs from this connection only.
            "AIRFLOW_CONN_CONTENTLAKE_METASTORE": json.dumps(
                {"conn_type": "postgres", "password": metastore_server[1]}
            ),
            # Drivers bind to loopback, as the standalone cluster's daemons do.
            "SPARK_LOCAL_IP": "127.0.0.1",
            # A failing job fails its task at once instead of waiting out the backoff.
            "CONTENTLAKE_DAG_RETRIES": "0",
            "CONTENTLAKE_DAG_RETRY_DELAY_SECONDS": "1",
            # Every test marks its days complete (or means not to): a missing marker fails
            # the landing sensor within seconds instead of hours.
            "CONTENTLAKE_LANDING_POKE_SECONDS": "1",
            "CONTENTLAKE_LANDING_TIMEOUT_SECONDS": "4",
            "PYTHONUNBUFFERED": "1",
        }
    )
    done = run_logged([*airflow_command(), "db", "migrate"], env, cwd=airflow_home)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


@pytest.fixture(scope="session")
def lakehouse(
    tmp_path_factory, tiny_model_conf, env_archive, metastore_server
) -> Callable[..., dict[str, str]]:
    """``lakehouse(database, master=None)``: the extra environment of a job run whose tables
    live in ``database`` on the shared metastore (each test its own).

    Its ``$CONTENTLAKE_CONF`` overlay: the tiny models, that database (the metastore's
    folder holds the JDBC driver for the driver's class path) and a small application's
    settings. Without ``master`` (a DAG run: the master is ``spark_default``'s) the drivers
    and their executors run the wheel's venv, installed where every node finds it as an
    image would bake it in: no archive to unpack per task. With ``master`` (a spark-submit
    of its own) the overlay names it and keeps the cluster profile's archive shipping
    (``$CONTENTLAKE_ENV_ARCHIVE``), as tests/e2e/test_cluster_pipeline.py's backfill does."""
    folder = tmp_path_factory.mktemp("site-conf")
    port, _, metastore_folder = metastore_server

    def extra_env(database: str, master: str | None = None) -> dict[str, str]:
        if master is None:
            spark = {
                "env_archive": "",
                "conf": {
                    **SMALL_APPLICATION_CONF,
                    "spark.pyspark.python": str(env_archive.python),
                    # A DAG task's application does seconds of work: one executor (one
                    # JVM and Python worker to start) serves it; a second one cost a task
                    # about a fifth more here, both competing for the same two cores.
                    "spark.cores.max": "1",
                },
            }
        else:
            spark = {"master": master, "conf": SMALL_APPLICATION_CONF}
        overlay = yaml.safe_load(tiny_model_conf.read_text())
        overlay.update(
            {
                "database": database,
                "paths": {"metastore": str(metastore_folder)},
                "metastore": {"postgres": {"port": port}},
                "spark": spark,
            }
        )
        path = folder / f"{database}{'' if master is None else '-submit'}.yaml"
        path.write_text(yaml.safe_dump(overlay))
        return {"CONTENTLAKE_CONF": str(path)}

    return extra_env
