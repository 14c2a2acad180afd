"""Writing a file so that a reader sees the old file or the whole new one, never half of one.

Every file haiend writes (records, ceilings, the fingerprint, Slurm scripts, compiled C
libraries) goes through :func:`replacing`: the content is written to a hidden temporary file in
the same folder, flushed to disk (``fsync``), given its permissions and renamed over the target
(``os.replace``, atomic on POSIX within one file system). If anything fails, or the process is
interrupted, the temporary file is removed and the target is untouched.

Written by hand because the standard library has the pieces but not the whole, and the small
packages that do (``atomicwrites``, now unmaintained) add little to these lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on leaving without an error it replaces ``path``.

    Whatever wrote the temporary file (this process, or a compiler it ran) has finished by then;
    the file is flushed to disk, given ``mode`` (default: 0o666 less the umask, as ``open``
    would) and renamed over ``path``. The parent folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, (0o666 if mode is None else mode) & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with replacing(path, mode=mode) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented, key-sorted JSON to ``path`` atomically; returns the path.

    The text is made before the file is touched, so data that cannot be written as JSON leaves
    nothing behind.
    """
    text = json.dumps(data, indent=1, sort_keys=True, allow_nan=True) + "\n"
    return write_text(path, text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
