"""Run a command with a time limit, and kill everything it started when the limit passes.

``subprocess.run(timeout=...)`` kills only the process it started: a debugger's inferior, an
``mpiexec``'s ranks or a sanitizer's child would live on. Here the command gets a session (and so
a process group) of its own, and the whole group is killed on time-out, before or after an
optional ``on_timeout`` callback has looked at it (the MPI chapter dumps every rank's stack there).
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


def group_members(pgid: int) -> list[int]:
    """The pids of the live processes in process group ``pgid`` (from /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return sorted(members)


def run(
    argv: Sequence[str],
    timeout_s: float,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    stdin: str | None = None,
    on_timeout: Callable[[int], None] | None = None,
) -> Finished:
    """Run ``argv``; after ``timeout_s`` call ``on_timeout(pgid)``, then kill the process group."""
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
        if on_timeout is not None:
            try:
                on_timeout(child.pid)
            except Exception:  # a failed diagnosis must not leave the group running
                kill_group(child.pid)
                child.communicate()
                raise
        kill_group(child.pid)
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
