"""Files that readers never see half-written (references, gate reports, JUnit XML), and the checks that an
output path can be written at all, made before the work that would fill it."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from harness.errors import UsageError


def atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file.

    ``write`` receives a binary file object. On any failure the temporary file is removed and an existing
    ``path`` is left as it was. A kill leaves at most a ``.<name>.*.tmp`` file, which no reader opens.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it a normal file's mode
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # never hide the real failure behind the clean-up's
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (a crash right after must not bring the old file back)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_temporary(name: str) -> bool:
    """A file name that ``atomic_write`` uses for its temporary files (left behind only by a kill)."""
    return name.startswith(".") and name.endswith(".tmp")


# ------------------------------------------------------------------ output paths, checked before the work
def check_output_file(path: str | Path, option: str) -> Path:
    """Refuse, before anything runs, an output file that cannot be written: a folder, a path under a file,
    or a folder that is not writable. The parents of a missing folder are created only when writing."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise UsageError(f"{option} {path}: exists and is not a regular file")
    _check_folder(path.parent, option, path)
    return path


def check_output_folder(folder: str | Path, option: str) -> Path:
    """Refuse a folder that cannot be created or written into (a file on the way, a read-only folder)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {folder}: exists and is not a folder")
    _check_folder(folder, option, folder)
    return folder


def _check_folder(folder: Path, option: str, shown: Path) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:  # the nearest part of the path that exists
        if existing.is_symlink():
            raise UsageError(f"{option} {shown}: {existing} is a dangling link")
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {shown}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {shown}: {existing} is not writable")


def write_failure(option: str, path, exc: OSError) -> UsageError:
    """The one-line error for an output that failed while being written (full disk, read-only, ...)."""
    return UsageError(f"{option} {path}: cannot write: {exc.strerror or exc}"
                      + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""))
