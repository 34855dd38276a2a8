"""Retry of Delta commit conflicts: which errors, how often, how long between attempts."""

import logging

import pytest
from delta.exceptions import ConcurrentAppendException, MetadataChangedException

from contentlake.config import WriteSettings
from contentlake.delta_commits import backoff_delay, commit_with_retry


class FlakyWrite:
    """A write that loses ``conflicts`` commit races before it succeeds."""

    def __init__(self, conflicts, error=ConcurrentAppendException):
        self.conflicts = conflicts
        self.error = error
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.conflicts:
            raise self.error(f"conflict {self.calls}")
        return "committed"


def test_a_conflict_is_retried_with_exponential_backoff_and_logged(caplog):
    write, sleeps = FlakyWrite(conflicts=2), []
    settings = WriteSettings(max_attempts=5, backoff_seconds=0.5)
    with caplog.at_level(logging.WARNING, logger="contentlake.delta_commits"):
        result = commit_with_retry(
            write, "events", settings, sleep=sleeps.append, jitter=lambda: 0.0
        )

    assert (result, write.calls, sleeps) == ("committed", 3, [0.5, 1.0])
    assert [r.getMessage() for r in caplog.records] == [
        "write to events: commit conflict on attempt 1 of 5 (ConcurrentAppendException); "
        "retrying in 0.50s",
        "write to events: commit conflict on attempt 2 of 5 (ConcurrentAppendException); "
        "retrying in 1.00s",
    ]


def test_the_last_conflict_is_raised_after_max_attempts():
    write, sleeps = FlakyWrite(conflicts=10, error=MetadataChangedException), []
    settings = WriteSettings(max_attempts=3, backoff_seconds=1.0)
    with pytest.raises(MetadataChangedException, match="conflict 3"):
        commit_with_retry(write, "content", settings, sleep=sleeps.append, jitter=lambda: 0.0)
    assert (write.calls, sleeps) == (3, [1.0, 2.0])


def test_other_errors_are_not_retried():
    write, sleeps = FlakyWrite(conflicts=1, error=ValueError), []
    with pytest.raises(ValueError):
        commit_with_retry(write, "content", WriteSettings(), sleep=sleeps.append)
    assert (write.calls, sleeps) == (1, [])


def test_jitter_stretches_the_delay_by_at_most_itself():
    settings = WriteSettings(backoff_seconds=2.0)
    assert backoff_delay(settings, 3, 0.0) == 8.0
    assert backoff_delay(settings, 3, 0.25) == 10.0


def test_max_attempts_below_one_is_refused():
    with pytest.raises(ValueError, match="max_attempts"):
        commit_with_retry(FlakyWrite(0), "content", WriteSettings(max_attempts=0))
