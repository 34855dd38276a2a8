"""Follow the ``CURRENT`` pointer and swap the served snapshot without dropping a request.

A background thread stats ``CURRENT`` every ``interval_s``; only when the file changed
(``os.replace`` gives it a new inode and mtime) does it read the name, and only a new name
is loaded. Loading runs entirely in that thread; the swap is the assignment of one
attribute, atomic in Python. A request reads :attr:`SnapshotWatcher.current` once and
uses that object to the end, so it finishes on the snapshot it started on and never sees
a half-loaded one; the old snapshot is freed when its last request is done.

A snapshot that fails to load (checksum mismatch, unreadable) is logged and recorded in
:attr:`last_error`; the one already served keeps serving. It is tried again only when
``CURRENT`` is written again. A refused snapshot is the exception: it is looked at again
on every check, because ``snapshots promote --force`` moves CURRENT first and logs the
forced promotion just after, and a check in between must not shut it out for good.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from contentlake.index_snapshot import CURRENT_POINTER
from contentlake.serving.loader import RefusedSnapshot, ServedSnapshot, load_served_snapshot

logger = logging.getLogger(__name__)
Loader = Callable[[Path, str], ServedSnapshot]


class SnapshotWatcher:
    """Holds the served snapshot of ``snapshots_root`` and keeps it in step with CURRENT."""

    def __init__(
        self, snapshots_root: Path, load: Loader = load_served_snapshot, interval_s: float = 1.0
    ) -> None:
        self.snapshots_root = Path(snapshots_root)
        self.interval_s = interval_s
        self.last_error: str | None = None
        self._load = load
        self._current: ServedSnapshot | None = None
        self._seen: tuple[int, int, int] | None = None
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> ServedSnapshot | None:
        """The snapshot to answer with; None until one has loaded."""
        return self._current

    def refresh(self) -> bool:
        """Load the snapshot CURRENT names if it changed; True when the served one changed."""
        with self._refresh_lock:  # the thread and a caller (start-up, tests) never race
            pointer = self.snapshots_root / CURRENT_POINTER
            try:
                stat = pointer.stat()
            except FileNotFoundError:
                return False  # nothing published yet, or a pointer being replaced
            signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if signature == self._seen:
                return False
            try:
                name = pointer.read_text().strip()
            except FileNotFoundError:
                return False  # deleted since the stat: the served snapshot stays
            self._seen = signature
            if self._current is not None and name == self._current.name:
                self.last_error = None  # CURRENT is back on what is served
                return False
            try:
                snapshot = self._load(self.snapshots_root, name)
            except Exception as error:  # whatever went wrong, the old snapshot serves on
                if isinstance(error, RefusedSnapshot):
                    self._seen = None  # a forced promotion may be logged any moment now
                message = f"{name}: {error}"
                if message != self.last_error:  # once, not on every check
                    logger.error("not serving snapshot %s: %s", name, error)
                self.last_error = message
                return False
            previous, self._current = self._current, snapshot
            self.last_error = None
            logger.info(
                "serving snapshot %s (%d vectors)%s",
                name,
                snapshot.index.ntotal,
                f", was {previous.name}" if previous else "",
            )
            return True

    def start(self) -> None:
        """Load what CURRENT names now, then keep watching it from a daemon thread."""
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="snapshot-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except OSError as error:  # e.g. the root on a network mount went away for a while
                logger.warning("cannot read %s: %s", self.snapshots_root / CURRENT_POINTER, error)
