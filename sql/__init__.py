"""contentlake's SQL files (ddl/, dq/, analyst/, metastore/), shipped as package data.

Installed as ``contentlake.sql`` (pyproject.toml) and read through ``importlib.resources``.
"""
