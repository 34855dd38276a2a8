"""contentlake's configuration (base.yaml, profiles/, log4j2.properties), shipped as package data.

Installed as ``contentlake.conf`` (pyproject.toml) and read through ``importlib.resources``.
"""
