"""Online serving of published FAISS snapshots: loader, CURRENT watcher and HTTP app.

python -m contentlake.serving --root ./lakehouse --port 8000
"""

from contentlake.serving.app import create_app
from contentlake.serving.loader import ServedSnapshot, load_served_snapshot
from contentlake.serving.metadata import ItemFilter
from contentlake.serving.watcher import SnapshotWatcher

__all__ = [
    "ItemFilter",
    "ServedSnapshot",
    "SnapshotWatcher",
    "create_app",
    "load_served_snapshot",
]
