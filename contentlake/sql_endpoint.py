"""The analysts' SQL endpoint: a read-only Spark Thrift JDBC server on the shared metastore.

    python -m contentlake.sql_endpoint start [--root ./lakehouse]   # make sql-endpoint
    python -m contentlake.sql_endpoint status                        # exit 0 up, 3 down
    python -m contentlake.sql_endpoint query sql/analyst/top_content_by_views.sql
    python -m contentlake.sql_endpoint beeline                       # an interactive beeline
    python -m contentlake.sql_endpoint stop                          # make sql-endpoint-down

Any HiveServer2 JDBC/ODBC client (beeline, DBeaver, a BI tool) connects to
``jdbc:hive2://localhost:10000/contentlake`` and queries the tables by name while jobs write;
each query reads committed Delta versions only. Nothing sent through the endpoint changes a
table or the catalogue, whoever sends it, because of two locks that do not depend on each
other:

1. Every session of the server runs with ``contentlake.sql.ReadOnlySqlExtension``
   (``jvm/``), a check rule on each analysed plan that refuses writes, DDL, cache and
   resource commands and code-running expressions before anything executes. It is the lock
   that matters for data: a Delta INSERT, MERGE or ``ALTER TABLE ... SET TBLPROPERTIES``
   commits to the table's ``_delta_log`` and never touches the metastore.
2. The server reads the metastore as its own PostgreSQL role, granted SELECT only and with
   read-only transactions (``sql/metastore/grant_read_only_role.sql``): CREATE, DROP or
   ALTER of the catalogue fails in PostgreSQL even without the rule.

The pipeline never goes through the endpoint: jobs keep their own Spark sessions and the
metastore's owner role. The server does not authenticate (HiveServer2 ``NONE``) and listens
on ``sql_endpoint.host`` (localhost); the user name is recorded, not checked.

Delta and the other ``spark.packages`` go on the JVM's own class path, not ``--packages``:
HiveServer2 gives each session a class loader whose parent is the system class loader
(HIVE-11878), so jars added at run time are invisible to sessions and the first connection
fails with ``ClassNotFoundException: ...DeltaCatalog`` (delta-io/delta#1332). Spark's
resolver fetches them once into ``<root>/sql_endpoint/ivy``; ``SPARK_DIST_CLASSPATH`` appends
them after Spark's own jars, so Spark's copies of shared dependencies win, as with
``--packages``. The rule's jar is compiled from source with ``javac`` (a JDK, not only a
JRE) into ``<root>/sql_endpoint/jars``, once per version of the source.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, replace
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from contentlake.config import Config, add_lakehouse_options, load_config
from contentlake.metastore import LOCAL_HOSTS, endpoint_password, ensure_driver_jar, psql
from contentlake.metastore import status as metastore_status
from contentlake.spark_settings import METASTORE_PASSWORD, spark_conf
from contentlake.sql_files import SQL_DIR, sql_statements

# jvm/ installs as the package contentlake.jvm (pyproject.toml): the source is compiled at start.
EXTENSION_SOURCE = (
    Path(resources.files("contentlake.jvm")) / "contentlake" / "sql" / "ReadOnlySqlExtension.java"
)
EXTENSION_CLASS = "contentlake.sql.ReadOnlySqlExtension"
GRANT_SQL = SQL_DIR / "metastore" / "grant_read_only_role.sql"
THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
BEELINE_CLASS = "org.apache.hive.beeline.BeeLine"
# In the message of every refusal by the read-only rule (see the Java source).
REFUSED = "READ_ONLY_ENDPOINT"
NOT_RUNNING = 3  # exit status of `status` when the server is down, as pg_ctl and LSB use
START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 60
CREATE_TABLES_HINT = "CONTENTLAKE_METASTORE=postgres python -m contentlake.tables"
# Resolved spark.packages, one folder per package list (see resolve_packages).
_USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
PACKAGE_CACHE = _USER_CACHE / "contentlake" / "sql-endpoint"


class SqlEndpointError(RuntimeError):
    """The endpoint cannot do what was asked; the message says why or what to do."""


@dataclass(frozen=True)
class EndpointStatus:
    running: bool
    pid: int | None
    url: str
    log: Path


@dataclass(frozen=True)
class QueryResult:
    """A result set as beeline prints it: column names and rows of text (None for NULL)."""

    columns: tuple[str, ...]
    rows: list[tuple[str | None, ...]]


def endpoint_dir(cfg: Config) -> Path:
    return cfg.paths.root / "sql_endpoint"


def jdbc_url(cfg: Config) -> str:
    """The project database is the session's current one, so analyst SQL stays unqualified."""
    endpoint = cfg.sql_endpoint
    return f"jdbc:hive2://{endpoint.host}:{endpoint.port}/{cfg.database}"


def pyspark_jars() -> Path:
    """pyspark's own jars: Spark, the Thrift server, Hive's JDBC driver and beeline."""
    spec = find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise SqlEndpointError("pyspark is not installed in this Python")
    return Path(spec.origin).parent / "jars"


def java_tool(name: str) -> str:
    """``java`` or ``javac`` from ``$JAVA_HOME``, else from PATH."""
    if java_home := os.environ.get("JAVA_HOME"):
        candidate = Path(java_home) / "bin" / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SqlEndpointError(
            f"{name} not found (JAVA_HOME or PATH): the endpoint needs a Java 17 JDK, "
            "e.g. apt-get install -y openjdk-17-jdk-headless"
        )
    return found


def extension_jar(cfg: Config) -> Path:
    """The read-only rule's jar, compiled against pyspark's jars unless this version of the
    source already was (the file name carries the source's hash)."""
    digest = hashlib.sha256(EXTENSION_SOURCE.read_bytes()).hexdigest()[:12]
    jar = endpoint_dir(cfg) / "jars" / f"contentlake-read-only-{digest}.jar"
    if jar.is_file():
        return jar
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as classes:
        compiled = subprocess.run(
            [
                java_tool("javac"),
                "--release=17",
                "-nowarn",
                "-cp",
                str(pyspark_jars() / "*"),
                "-d",
                classes,
                str(EXTENSION_SOURCE),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if compiled.returncode != 0:
            raise SqlEndpointError(f"javac failed:\n{compiled.stdout}{compiled.stderr}")
        staged = jar.with_suffix(".tmp")
        with zipfile.ZipFile(staged, "w") as archive:
            for path in sorted(Path(classes).rglob("*.class")):
                archive.write(path, path.relative_to(classes).as_posix())
        staged.replace(jar)
    return jar


def resolve_packages(cfg: Config) -> list[Path]:
    """Every jar of ``spark.packages`` with its dependencies, resolved by Spark's own
    resolver (Maven Central, or ``~/.m2`` where it is seeded) once per package list and kept
    in a user cache beside Spark's own Ivy cache, shared by every lakehouse root."""
    if not cfg.spark.packages:
        return []
    wanted = "\n".join([*cfg.spark.packages, "exclude:", *cfg.spark.jars_excludes])
    ivy = PACKAGE_CACHE / hashlib.sha256(wanted.encode()).hexdigest()[:16]
    if (ivy / "jars").is_dir():
        return sorted((ivy / "jars").glob("*.jar"))
    PACKAGE_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=PACKAGE_CACHE) as staging:
        noop = Path(staging) / "noop.py"
        noop.write_text("")
        # spark-submit resolves --packages before it runs the (empty) application.
        packages = ",".join(cfg.spark.packages)
        command = [spark_submit(), "--master=local[1]", f"--packages={packages}"]
        if cfg.spark.jars_excludes:
            command.append(f"--exclude-packages={','.join(cfg.spark.jars_excludes)}")
        command += [f"--conf=spark.jars.ivy={staging}", str(noop)]
        resolved = subprocess.run(
            command, env=spark_environment(), capture_output=True, text=True, check=False
        )
        if resolved.returncode != 0:
            raise SqlEndpointError(
                f"Spark could not resolve spark.packages:\n{resolved.stderr[-3000:]}"
            )
        (Path(staging) / "packages.txt").write_text(wanted)
        try:
            Path(staging).rename(ivy)  # atomic: a concurrent start may have won, that is fine
        except OSError:
            if not (ivy / "jars").is_dir():
                raise
    return sorted((ivy / "jars").glob("*.jar"))


def spark_submit() -> str:
    beside_python = Path(sys.executable).parent / "spark-submit"
    return str(beside_python) if beside_python.is_file() else "spark-submit"


def spark_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for spark-submit: pyspark's launcher scripts find Spark's home with
    whichever ``python3`` is first on PATH, which need not be this venv's."""
    environment = {**os.environ, **(extra or {})}
    environment.setdefault("SPARK_HOME", str(pyspark_jars().parent))
    environment.setdefault("PYSPARK_PYTHON", sys.executable)
    return environment


def server_settings(cfg: Config) -> dict[str, str]:
    """The server's Spark settings: the pipeline's, on the PostgreSQL metastore, read as the
    endpoint's role and with the read-only rule after every other extension. The role's
    password is not among them (see :func:`server_command`)."""
    shared = replace(cfg, metastore=replace(cfg.metastore, kind="postgres"))
    conf = spark_conf(shared)
    extensions = [name for name in conf.get("spark.sql.extensions", "").split(",") if name]
    conf.update(
        {
            "spark.hadoop.javax.jdo.option.ConnectionUserName": cfg.sql_endpoint.user,
            # The role may not create the catalogue's tables: fail plainly instead of trying.
            "spark.hadoop.datanucleus.schema.autoCreateTables": "false",
            "spark.hadoop.datanucleus.schema.autoCreateColumns": "false",
            "spark.sql.extensions": ",".join([*extensions, EXTENSION_CLASS]),
        }
    )
    return conf


def hive_settings(cfg: Config) -> dict[str, str]:
    """HiveServer2's own settings (``--hiveconf``); its scratch space stays in the lakehouse."""
    hive = endpoint_dir(cfg) / "hive"
    return {
        "hive.server2.thrift.bind.host": cfg.sql_endpoint.host,
        "hive.server2.thrift.port": str(cfg.sql_endpoint.port),
        "hive.server2.transport.mode": "binary",
        "hive.server2.authentication": "NONE",
        "hive.server2.enable.doAs": "false",
        "hive.server2.logging.operation.log.location": str(hive / "operation_logs"),
        "hive.exec.scratchdir": str(hive / "scratch"),
        "hive.exec.local.scratchdir": str(hive / "local_scratch"),
        "hive.downloaded.resources.dir": str(hive / "resources"),
    }


def server_command(
    cfg: Config, class_path: list[Path], secrets_file: Path
) -> tuple[list[str], dict[str, str]]:
    """The spark-submit argv that runs the Thrift server, and the environment it adds.

    The role's password is in ``secrets_file`` (:func:`write_secrets_file`), a properties
    file only its owner reads, so it never shows in ``ps`` or in a log of the command."""
    command = [
        spark_submit(),
        "--properties-file",
        str(secrets_file),
        "--class",
        THRIFT_SERVER_CLASS,
        "--name",
        f"{cfg.spark.app_name}-sql-endpoint",
    ]
    if cfg.spark.master:
        command += ["--master", cfg.spark.master]
    for key, value in server_settings(cfg).items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")  # the server's class ships with Spark: no application
    for key, value in hive_settings(cfg).items():
        command += ["--hiveconf", f"{key}={value}"]
    environment = {"SPARK_DIST_CLASSPATH": os.pathsep.join(str(jar) for jar in class_path)}
    return command, environment


def write_secrets_file(cfg: Config, path: Path) -> Path:
    """Spark properties holding the endpoint role's password, created with mode 0600."""
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(f"{METASTORE_PASSWORD} {endpoint_password(cfg)}\n")
    return path


def grant_read_only_role(cfg: Config) -> None:
    """Create or update the endpoint's PostgreSQL role on the local metastore server.

    A metastore elsewhere is left alone: its administrator runs ``GRANT_SQL`` there."""
    postgres, endpoint = cfg.metastore.postgres, cfg.sql_endpoint
    if endpoint.user == postgres.user:
        raise SqlEndpointError(
            f"sql_endpoint.user is {endpoint.user!r}, the pipeline's metastore role: the "
            "endpoint must log in as a role of its own, which is granted reads only"
        )
    if postgres.host not in LOCAL_HOSTS:
        return
    if not metastore_status(cfg).running:
        raise SqlEndpointError("the PostgreSQL metastore is down: run `make metastore-up` first")
    found = psql(cfg, postgres.database, """select to_regclass('public."DBS"') is not null;""")
    if found.strip() != "t":
        raise SqlEndpointError(
            f"the metastore holds no catalogue yet: create the tables first ({CREATE_TABLES_HINT})"
        )
    psql(
        cfg,
        postgres.database,
        GRANT_SQL.read_text(),
        {
            "role": endpoint.user,
            "password": endpoint_password(cfg, generate=True),
            "owner": postgres.user,
        },
    )


def start(cfg: Config, timeout_s: float = START_TIMEOUT_S) -> EndpointStatus:
    """Start the server in the background unless it runs; return once it accepts
    connections. Its output goes to ``<root>/sql_endpoint/endpoint.log``."""
    current = status(cfg)
    if current.running:
        return current
    endpoint = cfg.sql_endpoint
    pid = current.pid  # set while this lakehouse's server is still starting: wait for it
    if pid is None:
        if _accepts_connections(endpoint.host, endpoint.port):
            raise SqlEndpointError(
                f"{endpoint.host}:{endpoint.port} is taken by another process: "
                "set sql_endpoint.port"
            )
        pid = _launch(cfg, current.log)
    deadline = time.monotonic() + timeout_s
    while not _accepts_connections(endpoint.host, endpoint.port):
        if not _process_alive(pid):
            _pid_file(cfg).unlink(missing_ok=True)
            raise SqlEndpointError(f"the server exited:\n{_tail(current.log)}")
        if time.monotonic() > deadline:
            stop(cfg)
            raise SqlEndpointError(
                f"the server did not listen within {timeout_s:.0f} s:\n{_tail(current.log)}"
            )
        time.sleep(1)
    return status(cfg)


def _launch(cfg: Config, log: Path) -> int:
    """Provision the role, the jars and the class path, then start the server; its pid."""
    grant_read_only_role(cfg)
    ensure_driver_jar(cfg)
    directory = endpoint_dir(cfg)
    directory.mkdir(parents=True, exist_ok=True)
    secrets_file = write_secrets_file(cfg, directory / "secrets.properties")
    command, environment = server_command(
        cfg, [extension_jar(cfg), *resolve_packages(cfg)], secrets_file
    )
    with log.open("w") as output:
        server = subprocess.Popen(
            command,
            cwd=directory,
            env=spark_environment(environment),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            # Its own process group: it outlives this command, and stop() ends the group.
            start_new_session=True,
        )
    _pid_file(cfg).write_text(f"{server.pid}\n")
    return server.pid


def stop(cfg: Config) -> bool:
    """Stop the server if this lakehouse's one runs; True when it was running."""
    pid = _server_pid(cfg)
    _pid_file(cfg).unlink(missing_ok=True)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if _process_alive(pid):
        os.killpg(pid, signal.SIGKILL)
    return True


def status(cfg: Config) -> EndpointStatus:
    pid = _server_pid(cfg)
    endpoint = cfg.sql_endpoint
    return EndpointStatus(
        running=pid is not None and _accepts_connections(endpoint.host, endpoint.port),
        pid=pid,
        url=jdbc_url(cfg),
        log=endpoint_dir(cfg) / "endpoint.log",
    )


def beeline_command(cfg: Config, sql_file: Path | None = None) -> list[str]:
    """beeline from pyspark's jars, connected as the endpoint's user; with ``sql_file`` it
    runs that file and prints tab-separated rows, else it is an interactive shell."""
    command = [
        java_tool("java"),
        "-cp",
        str(pyspark_jars() / "*"),
        BEELINE_CLASS,
        "-u",
        jdbc_url(cfg),
        "-n",
        cfg.sql_endpoint.user,
    ]
    if sql_file is not None:
        command += ["--silent=true", "--outputformat=tsv2", "-f", str(sql_file)]
    return command


def query(cfg: Config, statement: str) -> QueryResult:
    """Run one statement over JDBC (beeline) and return its result set; a refused or failed
    statement raises :class:`SqlEndpointError` with the server's message."""
    with tempfile.TemporaryDirectory() as folder:
        sql_file = Path(folder) / "statement.sql"
        sql_file.write_text(f"{statement};\n")
        # A file, not -e: with -e beeline echoes its prompt into the rows it prints.
        completed = subprocess.run(
            beeline_command(cfg, sql_file),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    if completed.returncode != 0:
        raise SqlEndpointError(_beeline_error(completed.stdout + completed.stderr))
    return parse_tsv2(completed.stdout)


def query_file(cfg: Config, path: Path) -> QueryResult:
    """Run the one statement of a ``.sql`` file (``sql/analyst/``) over JDBC."""
    statements = sql_statements(path)
    if len(statements) != 1:
        raise SqlEndpointError(f"{path} must hold one statement, found {len(statements)}")
    return query(cfg, statements[0])


def parse_tsv2(text: str) -> QueryResult:
    """beeline's ``tsv2``: a header line, then one line per row; a value holding a tab is
    wrapped in NUL characters; NULL prints as ``NULL`` (indistinguishable from that text).
    Blank lines around the result set are beeline's, so a row of one empty string is lost."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return QueryResult(columns=(), rows=[])
    header, *rows = csv.reader(io.StringIO("\n".join(lines)), delimiter="\t", quotechar="\x00")
    return QueryResult(
        columns=tuple(header),
        rows=[tuple(None if value == "NULL" else value for value in row) for row in rows],
    )


def format_rows(result: QueryResult, limit: int) -> str:
    """Aligned columns, at most ``limit`` rows, and how many there were."""
    shown = [tuple("NULL" if v is None else v for v in row) for row in result.rows[:limit]]
    widths = [
        max([len(name), *(len(row[index]) for row in shown)])
        for index, name in enumerate(result.columns)
    ]

    def line(values: tuple[str, ...]) -> str:
        return " | ".join(
            value.ljust(width) for value, width in zip(values, widths, strict=True)
        ).rstrip()

    lines = [line(result.columns), "-+-".join("-" * width for width in widths)]
    lines += [line(row) for row in shown]
    more = f", {limit} shown" if len(result.rows) > limit else ""
    lines.append(f"({len(result.rows)} rows{more})")
    return "\n".join(lines)


def _beeline_error(output: str) -> str:
    """The server's message out of beeline's output (its stack traces left out)."""
    errors = [line.strip() for line in output.splitlines() if line.startswith("Error:")]
    if errors:
        return "\n".join(errors)
    return "\n".join(output.strip().splitlines()[-20:]) or "beeline failed with no output"


def _pid_file(cfg: Config) -> Path:
    return endpoint_dir(cfg) / "endpoint.pid"


def _server_pid(cfg: Config) -> int | None:
    """The pid in the pid file while that process is still this server (not a reused pid)."""
    pid_file = _pid_file(cfg)
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid if _process_alive(pid) else None
    return pid if THRIFT_SERVER_CLASS.encode() in command_line else None


def _process_alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it first when it is this process's exited child (the
    server started by :func:`start` in a long-lived process, such as a test)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: started by another command, reaped by init
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _tail(log: Path, lines: int = 30) -> str:
    if not log.is_file():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "status", "query", "beeline"))
    parser.add_argument("sql_file", nargs="?", type=Path, help="query: a .sql file, one SELECT")
    parser.add_argument("--rows", type=int, default=20, help="query: rows to print")
    add_lakehouse_options(parser)
    args = parser.parse_args(argv)
    if (args.command == "query") != (args.sql_file is not None):
        parser.error("a .sql file goes with `query` and only with it")
    cfg = load_config(profile=args.profile, root=args.root)
    endpoint_dir(cfg).mkdir(parents=True, exist_ok=True)
    try:
        if args.command == "start":
            current = start(cfg)
            print(f"sql endpoint: up on {current.url} (read-only), pid {current.pid}")
            print(f"sql endpoint: beeline -u {current.url} -n {cfg.sql_endpoint.user}")
            print(f"sql endpoint: log in {current.log}")
        elif args.command == "stop":
            print("sql endpoint: stopped" if stop(cfg) else "sql endpoint: was not running")
        elif args.command == "status":
            current = status(cfg)
            print(f"sql endpoint: {'up on ' + current.url if current.running else 'down'}")
            return 0 if current.running else NOT_RUNNING
        elif args.command == "query":
            print(format_rows(query_file(cfg, args.sql_file), args.rows))
        else:
            command = beeline_command(cfg)
            os.execvp(command[0], command)
    except SqlEndpointError as error:
        print(f"sql endpoint: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
