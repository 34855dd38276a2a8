"""Errors a job raises on purpose; the CLI turns them into a readable exit 1."""

from __future__ import annotations


class JobFailed(RuntimeError):
    """A job stopped on purpose (a failed gate or unusable input); the message says why."""
