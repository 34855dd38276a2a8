"""Java sources compiled at run time (the SQL endpoint's read-only rule), shipped as package data.

Installed as ``contentlake.jvm`` (pyproject.toml); no jar is committed or shipped.
"""
