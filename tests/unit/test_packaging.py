"""The wheel's package list names every folder of files that the code reads as resources."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the package itself supports 3.10

ROOT = Path(__file__).resolve().parents[2]


def test_every_folder_under_a_mapped_package_is_listed():
    """setuptools installs a folder's files only as some listed package's data; a data
    folder missing from ``packages`` is installed today with a warning and dropped by a
    later setuptools, so a new ``sql/dq/<table>`` folder must be listed."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(settings["packages"])
    missing = []
    for package, folder in settings["package-dir"].items():
        for path in sorted((ROOT / folder).rglob("*")):
            holds_files = path.is_dir() and any(p.is_file() for p in path.iterdir())
            if holds_files and path.name != "__pycache__":
                name = ".".join([package, *path.relative_to(ROOT / folder).parts])
                if name not in listed:
                    missing.append(name)
    assert missing == []
