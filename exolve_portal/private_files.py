"""Files that hold phone numbers or secrets are created readable by their owner only.

The SQLite database, the sandbox's state and background exports are created 0600 in
folders created 0700, whatever the process's umask. Explicit modes, not a process-wide
umask: a umask of 077 set in manage.py would also make `collectstatic`'s files
unreadable to the web server that serves them. SQLite gives the journal and WAL files
of a database the mode of the database file itself. Existing files and folders keep
the mode they have: an administrator may have chosen it. No Django here: the sandbox
uses it too.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path) -> Path:
    """`path` as a folder, created (with its missing parents) 0700 if it does not exist."""
    path = Path(path)
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # made at the same moment by another process
        folder.chmod(FOLDER_MODE)  # mkdir's mode is narrowed by the umask, never widened; exact here
    return path


def private_file(path) -> Path:
    """Create `path` empty and 0600 (and its missing folders 0700) if it does not exist yet."""
    path = Path(path)
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    return path


def open_private(path, mode: str = "wb"):
    """Open a new file for writing, created 0600 (an existing one is truncated and keeps its mode)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    return os.fdopen(os.open(path, flags, FILE_MODE), mode)


def sqlite_file(name: str) -> str | None:
    """The file of an SQLite database name, or None for an in-memory one."""
    name = str(name)
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return name
