"""A relocatable archive of the pipeline's Python environment, for Spark executors.

    python -m contentlake.env_archive build     # make env-archive

Builds the project's wheel (``pip wheel --no-deps``), installs it with its ``pipeline`` extra,
non-editable, into a fresh virtualenv outside the source tree (``build/env-archive/venv``)
and packs that with ``venv-pack`` into ``dist/contentlake-env.tar.gz``. The cluster profile
ships the archive with ``spark.archives=<archive>#env`` and runs executors' Python as
``./env/bin/python`` (``contentlake.spark_settings``), so no worker needs the driver's
interpreter or this project installed.

The work is skipped where it is already done: the wheel is rebuilt every time (seconds),
but the virtualenv and the archive are only rebuilt when the wheel's *content* differs
from the one they were made from (a wheel's zip timestamps change on every build, its
files do not), so CI and a test session build the ~1.5 GB environment once.

As with every venv-pack archive (Spark's "Python Package Management" guide), the
environment's ``bin/python`` is a link to the base interpreter it was made with: workers
need that CPython release at that same path (``base_prefix`` in the manifest beside the
archive; the same base image on every node). Everything else travels in the archive.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = SOURCE_ROOT / "build" / "env-archive"
# gzip, although every executor of every application unpacks the archive before its first
# task and a plain .tar unpacks ~2.5x faster (9 s against 23 s for this environment here):
# Spark unpacks a .tar with its own Java code, which drops the files' modes
# (SPARK-38632), so ./env/bin/python is not executable; a .tar.gz goes through the
# system's tar, which keeps them. Level 1: the archive is a third bigger than at venv-pack's
# default 4 and packs in about half the time, and inflating costs the same.
ARCHIVE = SOURCE_ROOT / "dist" / "contentlake-env.tar.gz"
COMPRESS_LEVEL = 1
EXTRA = "pipeline"
WHEEL_HASH_FILE = ".contentlake-wheel-sha256"
# How the venv is made and packed; changing the recipe must rebuild what the stamps reuse.
RECIPE = "venv --copies, pipeline extra, pyspark excluded (1)"
# Left out of the archive: Spark puts its own Python (pyspark.zip, py4j) from each worker's
# SPARK_HOME on the Python workers' path, which must match the cluster's JVM side anyway,
# and pyspark's wheel is ~490 MB of jars that executors never load from Python. The driver
# keeps its own full install (the venv itself, or the submitting machine's).
EXCLUDED = (
    "lib/python*/site-packages/pyspark/*",
    "lib/python*/site-packages/pyspark-*.dist-info/*",
)


class EnvArchiveError(RuntimeError):
    """A step of the build failed; the message says which and shows its output."""


@dataclass(frozen=True)
class EnvBuild:
    """What :func:`build` made or found: paths, the wheel's content hash, what was reused."""

    wheel: Path
    wheel_sha256: str
    venv: Path
    archive: Path
    venv_reused: bool
    archive_reused: bool
    seconds: float

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def as_json(self) -> str:
        return json.dumps({k: str(v) for k, v in asdict(self).items()}, indent=2)


def wheel_content_hash(wheel: Path) -> str:
    """sha256 over the wheel's member names and bytes, in name order: equal for two builds
    of the same source, although the zip files themselves differ (timestamps)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            digest.update(name.encode() + b"\0")
            digest.update(hashlib.sha256(archive.read(name)).digest())
    return digest.hexdigest()


def build_wheel(source: Path, wheel_dir: Path) -> Path:
    """``pip wheel --no-deps`` of ``source`` into ``wheel_dir``, which is emptied first so it
    holds exactly one wheel."""
    if not (source / "pyproject.toml").is_file():
        raise EnvArchiveError(f"{source} is not a source tree (no pyproject.toml)")
    shutil.rmtree(wheel_dir, ignore_errors=True)
    wheel_dir.mkdir(parents=True)
    clear_stale_build(source)
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheel_dir),
         str(source)],
        "building the wheel",
    )
    (wheel,) = wheel_dir.glob("contentlake-*.whl")
    return wheel


def clear_stale_build(source: Path) -> list[Path]:
    """Remove setuptools' staging folders under ``source/build`` (``lib``, ``bdist.*``) and
    return what was removed. pip builds in the source tree, and setuptools copies the
    packages into ``build/lib`` without deleting what was since removed from the source: a
    SQL check moved to another table's folder would ship from both. Everything else under
    ``build/`` (this module's ``env-archive``) stays."""
    staging = source / "build"
    removed = [*staging.glob("lib"), *staging.glob("bdist.*")] if staging.is_dir() else []
    for folder in removed:
        shutil.rmtree(folder)
    return removed


def ensure_venv(wheel: Path, wheel_sha256: str, venv: Path) -> bool:
    """A virtualenv at ``venv`` holding ``wheel[pipeline]``; True when one made from the
    same wheel content was already there (its stamp is written last, so a build that died
    half-way is never taken for a finished one)."""
    stamp = venv / WHEEL_HASH_FILE
    stamped = f"{wheel_sha256} {RECIPE}"
    if stamp.is_file() and stamp.read_text().strip() == stamped:
        return True
    # A venv cannot be moved once made (its scripts name their interpreter by path), so it
    # is built in place, from scratch. --copies: bin/python is a file, not a link to the
    # base interpreter; Spark unpacks archives with Hadoop's untar, which refuses any link
    # that points outside the folder it unpacks into ("would create entry outside of").
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", "--copies", str(venv)], "creating the virtualenv")
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[{EXTRA}]"],
        f"installing {wheel.name}[{EXTRA}]",
    )
    stamp.write_text(stamped + "\n")
    return False


def pack(venv: Path, archive: Path, wheel_sha256: str) -> bool:
    """``venv-pack`` ``venv`` into ``archive`` (format from its suffix) unless the manifest
    beside it names the same wheel content; True when it was reused. Written under a
    temporary name and renamed, so a reader never sees half an archive."""
    manifest = manifest_path(archive)
    if archive.is_file() and manifest.is_file():
        made_from = json.loads(manifest.read_text())
        if (made_from.get("wheel_sha256"), made_from.get("recipe")) == (wheel_sha256, RECIPE):
            return True
    import venv_pack  # the dev extra; only the machine that builds archives needs it

    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f".{archive.name}.partial{''.join(archive.suffixes)}")
    partial.unlink(missing_ok=True)
    venv_pack.pack(
        prefix=str(venv),
        output=str(partial),
        filters=[("exclude", pattern) for pattern in EXCLUDED],
        compress_level=COMPRESS_LEVEL,
        verbose=False,
    )
    os.replace(partial, archive)
    base_prefix = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    manifest.write_text(
        json.dumps(
            {
                "wheel_sha256": wheel_sha256,
                "recipe": RECIPE,
                "extra": EXTRA,
                "excluded": list(EXCLUDED),
                # Workers must have this interpreter at this path (module docstring).
                "base_prefix": base_prefix,
                "bytes": archive.stat().st_size,
            },
            indent=2,
        )
        + "\n"
    )
    return False


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".json")


def build(source: Path = SOURCE_ROOT, build_dir: Path = BUILD_DIR, archive: Path = ARCHIVE
          ) -> EnvBuild:
    """Wheel, virtualenv and archive for ``source``, each reused when its input is unchanged."""
    started = time.monotonic()
    build_dir.mkdir(parents=True, exist_ok=True)
    # One build at a time per build folder: a second one (make env-archive while a test
    # session builds) waits, then finds everything made and reuses it.
    with (build_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wheel = build_wheel(source, build_dir / "wheel")
        wheel_sha256 = wheel_content_hash(wheel)
        venv = build_dir / "venv"
        venv_reused = ensure_venv(wheel, wheel_sha256, venv)
        archive_reused = pack(venv, archive, wheel_sha256)
    return EnvBuild(
        wheel=wheel,
        wheel_sha256=wheel_sha256,
        venv=venv,
        archive=archive,
        venv_reused=venv_reused,
        archive_reused=archive_reused,
        seconds=round(time.monotonic() - started, 1),
    )


def _run(command: list[str], what: str) -> None:
    # Outside the source tree: pip must not find this checkout on sys.path by accident.
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EnvArchiveError(
            f"{what} failed (exit {done.returncode}): {' '.join(command)}\n"
            f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build (or reuse) wheel, venv and archive")
    build_parser.add_argument("--source", type=Path, default=SOURCE_ROOT)
    build_parser.add_argument("--build-dir", type=Path, default=BUILD_DIR)
    build_parser.add_argument(
        "--archive", type=Path, default=ARCHIVE, help="output (.tar.gz or .tgz for Spark)"
    )
    args = parser.parse_args(argv)
    try:
        result = build(args.source, args.build_dir.resolve(), args.archive.resolve())
    except EnvArchiveError as error:
        print(error, file=sys.stderr)
        return 1
    print(result.as_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
