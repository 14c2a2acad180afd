"""System calls per sample, counted by ``strace -c -f`` around a full read of a layout.

strace counts every call of a whole process, and a Python process makes thousands before it reads a
byte (imports, the loader, h5py's and pyarrow's start-up). So two child processes are traced, both
importing the layout's libraries and reading the whole data set once, untimed (which pulls in
whatever a first read loads lazily); one of them then reads it a second time. The difference
between the two counts is the calls of exactly one full read, and divided by N, per sample.

Where there is no ``strace`` (Debian: ``apt-get install strace``) or the kernel refuses ``ptrace``
(``kernel.yama.ptrace_scope`` = 3, or a container without ``CAP_SYS_PTRACE``), :func:`count`
returns a :class:`Counts` whose ``reason`` says so in one sentence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: System calls about a file rather than its bytes: opens, and stats by name or of an open file
#: (``strace -c`` cannot tell those two apart: glibc's fstat is ``newfstatat(fd, "", AT_EMPTY_PATH)``).
#: On Lustre or GPFS each may be a round trip to a server unless the client holds a lock on the file.
METADATA_CALLS = (
    "open",
    "openat",
    "openat2",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
)

_CHILD = """
import sys
from pathlib import Path
from haiend.io import layouts
layout = layouts.LAYOUTS[sys.argv[1]]
if layout.requires:
    __import__(layout.requires)
folder, n, size, reads = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
for _ in range(reads):
    layout.read(folder, n, size)
"""


@dataclass(frozen=True)
class Counts:
    """System calls of one full read: ``per_call`` maps a call's name to its count (all N samples)."""

    n: int
    per_call: dict[str, int] = field(default_factory=dict)
    reason: str = ""  # why nothing was counted; "" when counted

    @property
    def counted(self) -> bool:
        return not self.reason

    @property
    def total_per_sample(self) -> float:
        return sum(self.per_call.values()) / self.n

    @property
    def metadata_per_sample(self) -> float:
        """Opens and stats (:data:`METADATA_CALLS`) per sample."""
        return sum(v for k, v in self.per_call.items() if k in METADATA_CALLS) / self.n

    def per_sample(self, name: str) -> float:
        return self.per_call.get(name, 0) / self.n

    def as_details(self) -> dict[str, object]:
        """What a record's ``details`` keeps: the raw counts (per sample is derived on reading)."""
        if not self.counted:
            return {"counted": False, "reason": self.reason}
        return {"counted": True, "tool": "strace -c -f", "per_read": dict(self.per_call)}


def unavailable() -> str | None:
    """None if strace can trace a child here; else one sentence saying why not."""
    strace = shutil.which("strace")
    if strace is None:
        return "strace is not installed (Debian: apt-get install strace), so system calls were not counted."
    done = subprocess.run(
        [strace, "-c", "-o", os.devnull, "true"], capture_output=True, text=True, timeout=30
    )
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"strace cannot trace a process here ({why}): ptrace is not allowed, so system calls were not counted."
    return None


def parse_summary(text: str) -> dict[str, int]:
    """Calls by name from ``strace -c`` output (columns: % time, seconds, usecs/call, calls, [errors,] syscall)."""
    calls: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) in (5, 6) and parts[-1] != "total" and parts[3].isdigit():
            calls[parts[-1]] = calls.get(parts[-1], 0) + int(parts[3])
    return calls


def _traced(layout: str, folder: Path, n: int, sample_bytes: int, reads: int) -> dict[str, int]:
    package_root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory(prefix="haiend-strace-") as scratch:
        summary = Path(scratch) / "summary.txt"
        command = ["strace", "-c", "-f", "-o", str(summary), sys.executable, "-c", _CHILD]
        command += [layout, str(folder), str(n), str(sample_bytes), str(reads)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"the traced read of the {layout} layout failed: {why}")
        return parse_summary(summary.read_text())


def count(layout: str, folder: Path, n: int, sample_bytes: int) -> Counts:
    """The system calls one full read of ``layout`` in ``folder`` makes (see the module for how)."""
    reason = unavailable()
    if reason:
        return Counts(n, reason=reason)
    once = _traced(layout, folder, n, sample_bytes, 1)
    twice = _traced(layout, folder, n, sample_bytes, 2)
    difference = {name: twice.get(name, 0) - once.get(name, 0) for name in twice}
    return Counts(n, {name: calls for name, calls in sorted(difference.items()) if calls > 0})
