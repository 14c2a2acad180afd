"""Making a read cold: the data of every file leaves the page cache before the timed read.

Two ways, chosen in this order:

* ``drop_caches``: ``sync`` then ``3`` written to ``/proc/sys/vm/drop_caches``, which empties the
  whole page cache and the dentry and inode caches of the machine. Only root may, and it slows every
  other program on the machine for a while, so it is done only when asked for *and* running as root.
* ``posix_fadvise``: for each file, ``fsync`` (dirty pages cannot be dropped) and then
  ``posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)``, which asks the kernel to drop that file's cached
  pages. No privilege is needed and nothing else is touched. The file's inode and directory entry
  stay cached, so the read that follows is cold for the data, warm for the metadata: on a laptop a
  metadata lookup is then a hash-table hit, which is why :mod:`haiend.io.metadata` models what a
  parallel file system adds on top.

The kernel may keep pages that another process has mapped or locked; :func:`io_counters` (from
``/proc/self/io``) lets a test see that a cold read really went to the device.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def can_drop_caches() -> bool:
    """True when this process may write /proc/sys/vm/drop_caches (root, and the file exists)."""
    return os.geteuid() == 0 and DROP_CACHES.exists() and os.access(DROP_CACHES, os.W_OK)


def method(drop_caches: bool = False) -> str:
    """The eviction :func:`evict` will use: ``"drop_caches"`` only if asked for and allowed."""
    return "drop_caches" if drop_caches and can_drop_caches() else "posix_fadvise"


def evict(paths: Iterable[Path], *, drop_caches: bool = False) -> str:
    """Drop the cached pages of ``paths`` (or the whole page cache, see the module); returns the method."""
    how = method(drop_caches)
    if how == "drop_caches":
        os.sync()
        DROP_CACHES.write_text("3\n")
        return how
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return how


def io_counters() -> dict[str, int] | None:
    """This process's ``/proc/self/io`` counters (``read_bytes``: bytes fetched from storage), or None
    where the kernel does not provide them (no task I/O accounting, or not Linux)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return {
        key: int(value) for key, value in (line.split(": ") for line in text.splitlines() if ": " in line)
    }
