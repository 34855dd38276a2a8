"""Logging set-up and stage timings, so long runs say where their time goes.

The console of a CLI shows the pipeline's own lines: libraries' housekeeping stays below
WARNING, and paths under the lakehouse root are shown relative to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log their own housekeeping at INFO: py4j every gateway call, matplotlib
# its font cache, faiss which CPU build it loaded, the model stack its downloads and locks.
QUIET_LOGGERS = (
    "py4j",
    "bm25s",
    "matplotlib",
    "PIL",
    "urllib3",
    "filelock",
    "fsspec",
    "httpx",
    "huggingface_hub",
    "sentence_transformers",
    "transformers",
    "torch",
    "faiss",
)
_FILE_SCHEMES = ("file://", "file:")


def configure_logging(level: int = logging.INFO) -> None:
    """INFO lines of the pipeline on stderr; third-party INFO chatter off."""
    handler = logging.StreamHandler()
    handler.setFormatter(RootRelativeFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def show_paths_relative_to(root: Path) -> None:
    """From now on, the console lines of :func:`configure_logging` show paths under
    ``root`` relative to it (other handlers, such as a test's log capture, are left as they
    are)."""
    consoles = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, RootRelativeFormatter)
    ]
    for handler in consoles:
        handler.formatter.root = Path(root)
    if consoles:
        logging.getLogger(__name__).info("lakehouse root %s; paths below are relative to it", root)


def display_path(path: str | Path, root: str | Path) -> str:
    """``path`` relative to ``root`` when it lies under it, else ``path`` as given.

    Spark's ``file:`` URIs (``source_file``, ``_metadata.file_path``) count as paths.
    """
    text = str(path)
    local = next((text[len(s) :] for s in _FILE_SCHEMES if text.startswith(s)), text)
    # As given first; resolved too, for a root reached through a symlink.
    for candidate, base in (
        (Path(local), Path(root)),
        (Path(local).resolve(), Path(root).resolve()),
    ):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return text


class RootRelativeFormatter(logging.Formatter):
    """A formatter that writes paths under ``root`` (when set) relative to it."""

    root: Path | None = None

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if self.root is None:
            return text
        for prefix in (*(s + str(self.root) for s in _FILE_SCHEMES), str(self.root)):
            text = text.replace(prefix + "/", "")
        return text


@contextmanager
def timed_stage(logger: logging.Logger, stage: str) -> Iterator[None]:
    """Log when ``stage`` starts and how long it took."""
    logger.info("%s: started", stage)
    started = time.perf_counter()
    try:
        yield
    finally:
        logger.info("%s: %.1fs", stage, time.perf_counter() - started)
