"""External programs (cmake, a C++ compiler, java, mvn): found on a PATH, run with it, one-line errors."""

from __future__ import annotations

import os
import shutil

from mobilesdk.errors import MobileSDKError


def find_tool(
    names: str | tuple[str, ...],
    what: str,
    hint: str,
    search_path: str | None = None,
    error: type[MobileSDKError] = MobileSDKError,
) -> str:
    """The first of ``names`` on ``search_path`` (default: the process's PATH); else ``error`` in one line."""
    names = (names,) if isinstance(names, str) else names
    for name in names:
        found = shutil.which(name, path=search_path)
        if found:
            return found
    raise error(f"{what} not found on PATH (looked for {', '.join(names)}); {hint}")


def tool_env(search_path: str | None) -> dict[str, str] | None:
    """The environment a tool found on ``search_path`` runs with (None: this process's)."""
    return None if search_path is None else {**os.environ, "PATH": search_path}
