"""A local PostgreSQL server for the Hive metastore, shared by every Spark process.

The embedded Derby metastore admits one JVM at a time: while a job runs, an analyst's
session cannot even resolve a table name. With ``metastore.kind: postgres`` every session
keeps the catalogue in PostgreSQL instead, and this module runs that server for one
lakehouse, its files in ``{paths.metastore}/postgres``::

    python -m contentlake.metastore up [--root ./lakehouse]    # make metastore-up
    python -m contentlake.metastore status                      # exit 0 up, 3 down
    python -m contentlake.metastore down                        # make metastore-down

``up`` and ``down`` may be repeated: ``up`` initialises the cluster only once, starts it
only when it is stopped and creates the configured role and database only when missing.
It also keeps a copy of the JDBC driver in ``{paths.metastore}/jdbc``, which sessions put
on the JVM class path (see ``spark_settings.postgres_metastore_conf`` for why).
Only the server binaries are needed (Debian: ``apt-get install -y postgresql``), not the
system service. PostgreSQL refuses to run as root, so under root every server command runs
as the ``postgres`` system user that the package creates.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from contentlake.config import PROFILES, Config, PostgresMetastore, load_config
from contentlake.sql_files import SQL_DIR

SERVER_USER = "postgres"
SUPERUSER = "postgres"
INSTALL_HINT = "install them with `apt-get install -y postgresql` (or `make metastore-install`)"
BOOTSTRAP_SQL = SQL_DIR / "metastore" / "create_role_and_database.sql"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
METASTORE_PASSWORD_ENV = "CONTENTLAKE_METASTORE_PASSWORD"
ENDPOINT_PASSWORD_ENV = "CONTENTLAKE_SQL_ENDPOINT_PASSWORD"
SPARK_IVY = Path.home() / ".ivy2.5.2"  # Spark 4's default spark.jars.ivy
MAVEN_REPOSITORY = Path.home() / ".m2" / "repository"
NOT_RUNNING = 3  # exit status of `status` when the server is down, as pg_ctl and LSB use

_TOOLS = ("initdb", "pg_ctl", "psql")
_SETTINGS_FILE = "contentlake.conf"


class MetastoreError(RuntimeError):
    """The server cannot be managed as asked; the message says what to do."""


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    port: int | None
    data_dir: Path
    jdbc_url: str


def server_dir(cfg: Config) -> Path:
    """Beside the Derby files, so one lakehouse root holds its whole catalogue."""
    return cfg.paths.metastore / "postgres"


def metastore_password(cfg: Config, generate: bool = False) -> str:
    """The pipeline role's password, read when a job or command runs, never from ``conf/``.

    ``$CONTENTLAKE_METASTORE_PASSWORD`` first: a deployment's secret store sets it, and the
    DAG fills it from the Airflow connection ``contentlake_metastore``. Otherwise the one
    that ``up`` generated for a local server (``generate``), kept beside its data with mode
    0600."""
    return _secret(cfg, METASTORE_PASSWORD_ENV, "metastore-password", generate)


def endpoint_password(cfg: Config, generate: bool = False) -> str:
    """The SQL endpoint role's password: ``$CONTENTLAKE_SQL_ENDPOINT_PASSWORD``, else the
    one generated for the local server, as :func:`metastore_password`."""
    return _secret(cfg, ENDPOINT_PASSWORD_ENV, "sql-endpoint-password", generate)


def _secret(cfg: Config, variable: str, name: str, generate: bool) -> str:
    if value := os.environ.get(variable):
        return value
    path = server_dir(cfg) / "secrets" / name
    if path.is_file():
        return path.read_text().strip()
    if not generate:
        raise MetastoreError(
            f"no {name.replace('-', ' ')}: set ${variable} (for a local server, "
            "`make metastore-up` generates one)"
        )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    # Created readable by its owner only, never world-readable even for an instant.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(value)
    return value


def jdbc_url(settings: PostgresMetastore) -> str:
    return f"jdbc:postgresql://{settings.host}:{settings.port}/{settings.database}"


def driver_jar_path(cfg: Config) -> Path:
    _, artifact, version = cfg.metastore.postgres.driver_package.split(":")
    return cfg.paths.metastore / "jdbc" / f"{artifact}-{version}.jar"


def ensure_driver_jar(cfg: Config) -> Path:
    """Copy the JDBC driver to :func:`driver_jar_path` unless it is there: from Spark's Ivy
    cache or the local Maven repository when either holds it, else resolved by Spark."""
    target = driver_jar_path(cfg)
    if target.is_file():
        return target
    coordinate = cfg.metastore.postgres.driver_package
    group, artifact, version = coordinate.split(":")
    ivy_name = f"{group}_{artifact}-{version}.jar"
    maven_dir = MAVEN_REPOSITORY / group.replace(".", "/") / artifact / version
    candidates = [ivy / "jars" / ivy_name for ivy in (cfg.paths.ivy, SPARK_IVY) if ivy]
    candidates.append(maven_dir / f"{artifact}-{version}.jar")
    target.parent.mkdir(parents=True, exist_ok=True)
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        with tempfile.TemporaryDirectory() as ivy:
            _resolve_with_spark(coordinate, Path(ivy))
            shutil.copyfile(Path(ivy) / "jars" / ivy_name, target)
    else:
        shutil.copyfile(found, target)
    return target


def _resolve_with_spark(coordinate: str, ivy: Path) -> None:
    """Let Spark's own resolver fetch ``coordinate`` (Maven Central or ~/.m2) into ``ivy``:
    spark-submit resolves ``--packages`` before it runs the (empty) application."""
    spark_submit = Path(sys.executable).parent / "spark-submit"
    noop = ivy / "noop.py"
    noop.write_text("")
    resolved = subprocess.run(
        [
            str(spark_submit) if spark_submit.is_file() else "spark-submit",
            "--master=local[1]",
            f"--packages={coordinate}",
            f"--conf=spark.jars.ivy={ivy}",
            str(noop),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if resolved.returncode != 0:
        raise MetastoreError(f"Spark could not resolve {coordinate}:\n{resolved.stderr[-2000:]}")


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and psql: PATH first, then Debian's versioned
    folders (which are not on PATH), newest major version first."""
    candidates = []
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda bindir: int(bindir.parent.name) if bindir.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in _TOOLS):
            return bindir
    return None


def server_available() -> bool:
    return find_bindir() is not None


def up(cfg: Config) -> ServerStatus:
    """Initialise (once), start (if stopped) and provision the configured server."""
    settings = cfg.metastore.postgres
    if settings.host not in LOCAL_HOSTS:
        raise MetastoreError(
            f"metastore.postgres.host is {settings.host!r}: this command runs a local server "
            "only; start the remote one where it lives"
        )
    bindir = _require_bindir()
    directory = server_dir(cfg)
    data = directory / "data"
    _prepare_directory(directory)
    if not (data / "PG_VERSION").is_file():
        _server_command(
            [
                str(bindir / "initdb"),
                f"--pgdata={data}",
                f"--username={SUPERUSER}",
                "--encoding=UTF8",
                "--no-locale",
                # Local socket connections come from this command only (the socket lives in
                # the lakehouse, not /var/run); Spark connects over TCP with the password.
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
            directory,
        )
    _write_server_settings(data, directory, settings.port)

    port = _running_port(bindir, data)
    if port is None:
        log = directory / "postgres.log"
        started = _server_command(
            [str(bindir / "pg_ctl"), "start", "--wait", f"--pgdata={data}", f"--log={log}"],
            directory,
            check=False,
        )
        if started.returncode != 0:
            raise MetastoreError(
                f"PostgreSQL did not start:\n{started.stdout}{started.stderr}{_tail(log)}"
            )
    elif port != settings.port:
        raise MetastoreError(
            f"the server in {data} runs on port {port}, the configuration says "
            f"{settings.port}: run `python -m contentlake.metastore down` first"
        )
    _server_command(
        [
            str(bindir / "psql"),
            "--no-psqlrc",
            "--quiet",
            f"--host={directory}",
            f"--port={settings.port}",
            f"--username={SUPERUSER}",
            "--dbname=postgres",
            "--set=ON_ERROR_STOP=1",
            f"--set=role={settings.user}",
            f"--set=password={metastore_password(cfg, generate=True)}",
            f"--set=database={settings.database}",
        ],
        directory,
        stdin=BOOTSTRAP_SQL.read_text(),
    )
    ensure_driver_jar(cfg)
    return status(cfg)


def down(cfg: Config) -> bool:
    """Stop the server if it runs (a fast shutdown: sessions are disconnected)."""
    bindir = _require_bindir()
    directory = server_dir(cfg)
    data = directory / "data"
    if not (data / "PG_VERSION").is_file() or _running_port(bindir, data) is None:
        return False
    _server_command(
        [str(bindir / "pg_ctl"), "stop", "--wait", "--mode=fast", f"--pgdata={data}"], directory
    )
    return True


def status(cfg: Config) -> ServerStatus:
    data = server_dir(cfg) / "data"
    bindir = find_bindir()
    running = bindir is not None and (data / "PG_VERSION").is_file()
    port = _running_port(bindir, data) if running else None
    return ServerStatus(
        running=port is not None,
        port=port,
        data_dir=data,
        jdbc_url=jdbc_url(cfg.metastore.postgres),
    )


def psql(cfg: Config, database: str, script: str, variables: dict[str, str] | None = None) -> str:
    """Run ``script`` as the superuser, over the running local server's socket, in
    ``database``; psql quotes the ``variables`` (``:'name'``). Returns psql's output
    (unaligned, tuples only). Used by ``contentlake.sql_endpoint`` for its read-only role."""
    bindir = _require_bindir()
    directory = server_dir(cfg)
    settings = [f"--set={name}={value}" for name, value in (variables or {}).items()]
    completed = _server_command(
        [
            str(bindir / "psql"),
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "--no-align",
            f"--host={directory}",
            f"--port={cfg.metastore.postgres.port}",
            f"--username={SUPERUSER}",
            f"--dbname={database}",
            "--set=ON_ERROR_STOP=1",
            *settings,
        ],
        directory,
        stdin=script,
    )
    return completed.stdout


def _require_bindir() -> Path:
    bindir = find_bindir()
    if bindir is None:
        raise MetastoreError(
            f"PostgreSQL server binaries ({', '.join(_TOOLS)}) not found on PATH or under "
            f"/usr/lib/postgresql/*/bin: {INSTALL_HINT}"
        )
    return bindir


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_USER, "--", *argv]


def _server_command(
    argv: list[str], directory: Path, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    # The server user may not be allowed into the caller's working directory (/root).
    completed = subprocess.run(
        _as_server_user(argv),
        cwd=directory,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and completed.returncode != 0:
        raise MetastoreError(
            f"{Path(argv[0]).name} failed (exit {completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return completed


def _prepare_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    try:
        shutil.chown(directory, SERVER_USER, SERVER_USER)
    except LookupError as missing:
        raise MetastoreError(
            f"running as root, the server needs the {SERVER_USER!r} system user, which the "
            f"Debian package creates: {INSTALL_HINT}"
        ) from missing
    reachable = subprocess.run(
        _as_server_user(["test", "-w", str(directory)]), cwd="/", check=False
    )
    if reachable.returncode != 0:
        raise MetastoreError(
            f"the {SERVER_USER!r} user cannot reach {directory}: every folder above it must "
            "be traversable by other users (chmod o+x), so choose a root outside private "
            "folders such as /root or pytest's /tmp/pytest-of-root"
        )


def _write_server_settings(data: Path, directory: Path, port: int) -> None:
    """Port and sockets live in an included file rewritten on each ``up``, so a changed
    port in the configuration takes effect on the next start."""
    settings = data / _SETTINGS_FILE
    settings.write_text(
        "# Written by contentlake.metastore on every `up`; edits are overwritten.\n"
        f"port = {int(port)}\n"
        "listen_addresses = 'localhost'\n"
        f"unix_socket_directories = '{_quoted(directory)}'\n"
        # Socket logins are trusted, so only the server's own user may open the socket.
        "unix_socket_permissions = 0700\n"
    )
    main_conf = data / "postgresql.conf"
    include = f"include_if_exists = '{_SETTINGS_FILE}'\n"
    if include not in main_conf.read_text():
        with main_conf.open("a") as handle:
            handle.write(include)
    if os.geteuid() == 0:
        shutil.chown(settings, SERVER_USER, SERVER_USER)


def _running_port(bindir: Path, data: Path) -> int | None:
    """The port of the server running on ``data``, None when it is stopped."""
    checked = _server_command(
        [str(bindir / "pg_ctl"), "status", f"--pgdata={data}"], data.parent, check=False
    )
    if checked.returncode != 0:
        return None
    # postmaster.pid: pid, data directory, start time, port, socket directory, ...
    lines = (data / "postmaster.pid").read_text().splitlines()
    return int(lines[3])


def _quoted(path: Path) -> str:
    return str(path).replace("\\", "\\\\").replace("'", "''")


def _tail(log: Path, lines: int = 20) -> str:
    if not log.is_file():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--root", default=None, help="lakehouse root (default as the jobs')")
    parser.add_argument("--profile", choices=PROFILES, default=None)
    args = parser.parse_args(argv)
    cfg = load_config(profile=args.profile, root=args.root)
    try:
        if args.command == "up":
            current = up(cfg)
            print(f"metastore: PostgreSQL up on port {current.port}, data in {current.data_dir}")
            print(f"metastore: {current.jdbc_url} (jobs use it with metastore.kind: postgres)")
        elif args.command == "down":
            stopped = down(cfg)
            print("metastore: stopped" if stopped else "metastore: was not running")
        else:
            current = status(cfg)
            state = f"up on port {current.port}" if current.running else "down"
            print(f"metastore: PostgreSQL {state}, data in {current.data_dir}")
            return 0 if current.running else NOT_RUNNING
    except MetastoreError as error:
        print(f"metastore: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
