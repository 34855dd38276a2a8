import logging
from pathlib import Path

import pytest

from contentlake.observability import (
    LOG_FORMAT,
    QUIET_LOGGERS,
    RootRelativeFormatter,
    configure_logging,
    display_path,
)

ROOT = Path("/data/lake")


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (ROOT / "snapshots" / "2026-11-01_ab12", "snapshots/2026-11-01_ab12"),
        (
            str(ROOT / "landing/events/date=2026-11-01/part-0.csv"),
            "landing/events/date=2026-11-01/part-0.csv",
        ),
        (
            "file:/data/lake/landing/_dead_letter/events/x.csv.gz",
            "landing/_dead_letter/events/x.csv.gz",
        ),
        ("file:///data/lake/warehouse/contentlake.db/events", "warehouse/contentlake.db/events"),
        (ROOT, "."),
        ("/data/lake2/landing/x.csv", "/data/lake2/landing/x.csv"),
        ("/elsewhere/x.csv", "/elsewhere/x.csv"),
        ("s3://bucket/lake/x.csv", "s3://bucket/lake/x.csv"),
    ],
)
def test_display_path_is_relative_to_the_root_only_below_it(path, shown):
    assert display_path(path, ROOT) == shown


def test_display_path_sees_through_a_symlinked_root(tmp_path):
    (tmp_path / "real" / "landing").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert display_path(tmp_path / "real" / "landing", tmp_path / "link") == "landing"


def test_console_lines_show_paths_relative_to_the_root():
    formatter = RootRelativeFormatter("%(message)s")
    record = logging.LogRecord(
        "contentlake.landing",
        logging.WARNING,
        __file__,
        1,
        "moved %s to %s (lakehouse at %s; not %s)",
        (
            "file:/data/lake/landing/a.csv",
            "/data/lake/landing/_dead_letter/a.csv",
            ROOT,
            "/data/lake2/b.csv",
        ),
        None,
    )
    assert formatter.format(record) == (
        f"moved file:/data/lake/landing/a.csv to /data/lake/landing/_dead_letter/a.csv "
        f"(lakehouse at {ROOT}; not /data/lake2/b.csv)"
    )
    formatter.root = ROOT
    assert formatter.format(record) == (
        f"moved landing/a.csv to landing/_dead_letter/a.csv (lakehouse at {ROOT}; "
        "not /data/lake2/b.csv)"
    )


def test_configure_logging_quiets_third_party_info(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    for name in QUIET_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)

    configure_logging()

    assert [type(h.formatter) for h in root.handlers] == [RootRelativeFormatter]
    assert root.handlers[0].formatter._fmt == LOG_FORMAT
    assert {"py4j", "matplotlib", "faiss", "sentence_transformers", "transformers"} <= set(
        QUIET_LOGGERS
    )
    assert all(not logging.getLogger(name).isEnabledFor(logging.INFO) for name in QUIET_LOGGERS)
    assert logging.getLogger("contentlake.pipeline").isEnabledFor(logging.INFO)
