"""The installed version of this project, read from its package metadata.

Pure: imports only the standard library, so `kandinsky-bot --version` loads no engine.
"""

from __future__ import annotations

import importlib.metadata

PACKAGE = "kandinsky-bot"


def bot_version() -> str:
    """Return the installed version of this project ("0+unknown" when it is not installed)."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
