"""Files that hold personal data (backups, exports, the SQLite database) are the owner's alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

PRIVATE = 0o600


def open_private(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8") -> IO:
    """Open a file for writing that only its owner can read, whatever the umask.

    Created 0600 from the start (no moment with wider permissions); an existing file is
    narrowed to 0600 before anything is written to it.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    os.fchmod(fd, PRIVATE)
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding=encoding)


def create_private(path: str | Path) -> None:
    """Make sure a file exists and is 0600 (SQLite then gives its -wal and -shm the same)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)
