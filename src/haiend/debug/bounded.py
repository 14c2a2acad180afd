"""Run a command with a time limit, and kill everything it started when the limit passes.

``subprocess.run(timeout=...)`` kills only the process it started: a debugger's inferior, an
``mpiexec``'s ranks or a sanitizer's child would live on. Here the command gets a session (and so
a process group) of its own, and on time-out an optional ``on_timeout`` callback looks at it first
(the MPI chapter dumps every rank's stack there), then the whole group is killed, and so is every
descendant found in /proc: MPICH's launcher (Hydra) starts each rank in a session of its own, so
the ranks of a hung job are not in ``mpiexec``'s group. ``run`` returns when they are all gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    """What a bounded run did: its exit status (None when it was killed), output and time taken."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _live_processes() -> dict[int, tuple[int, int]]:
    """Every live (not zombie) process in /proc: pid -> (parent pid, process group)."""
    live = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if fields[0] != "Z":
            live[int(entry)] = (int(fields[1]), int(fields[2]))
    return live


def group_members(pgid: int) -> list[int]:
    """The pids of the live processes in process group ``pgid``."""
    return sorted(pid for pid, (_, group) in _live_processes().items() if group == pgid)


def children(parent: int) -> list[int]:
    """The live processes whose parent is ``parent``, in pid order."""
    return sorted(pid for pid, (ppid, _) in _live_processes().items() if ppid == parent)


def descendants(root: int) -> list[int]:
    """The live processes below ``root`` (children, grandchildren ...), in pid order."""
    parent_of = {pid: parent for pid, (parent, _) in _live_processes().items()}
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parent_of.items() if parent in frontier and pid not in found}
        found |= frontier
    return sorted(found)


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (dead, waiting only for its parent to read its status)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_all(pids: Sequence[int], wait_s: float = 10.0) -> None:
    """SIGKILL each of ``pids`` and wait (up to ``wait_s``) until the kernel has ended them."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + wait_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)


def run(
    argv: Sequence[str],
    timeout_s: float,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    stdin: str | None = None,
    on_timeout: Callable[[int], None] | None = None,
) -> Finished:
    """Run ``argv``; after ``timeout_s`` call ``on_timeout(pgid)``, then kill the group and every descendant."""
    start = time.perf_counter()
    child = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    timed_out = False
    try:
        stdout, stderr = child.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        started = descendants(child.pid)
        try:
            if on_timeout is not None:
                on_timeout(child.pid)
        finally:  # a failed diagnosis must not leave anything running
            kill_group(child.pid)
            kill_all(sorted(set(started) | set(descendants(child.pid))))
        stdout, stderr = child.communicate()
    finally:
        kill_group(child.pid)  # members that outlived a leader which exited on its own
    seconds = time.perf_counter() - start
    return Finished(tuple(argv), None if timed_out else child.returncode, stdout, stderr, seconds, timed_out)


def kill_group(pgid: int) -> None:
    """SIGKILL every process of the group; a group already gone is fine."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
