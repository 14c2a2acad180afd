"""A debugger in a few dozen lines: a breakpoint made by hand with ptrace, as gdb makes it.

How a software breakpoint works (x86-64 Linux), step by step, each step one function here:

1. ``fork``; the child calls ``ptrace(PTRACE_TRACEME)`` and ``execv``s the program. The kernel
   stops a traced process with SIGTRAP after a successful ``execve``, before its first instruction,
   and tells the parent through ``waitpid``.
2. The address of ``file.c:N`` comes from the DWARF line table (:mod:`haiend.debug.dwarf`); a
   position-independent executable is loaded at a base the kernel chose, read from
   ``/proc/PID/maps`` and added.
3. ``PTRACE_PEEKTEXT`` reads the 8-byte word there; ``PTRACE_POKETEXT`` writes it back with its
   first byte replaced by ``0xCC`` (``int3``, the one-byte breakpoint instruction).
4. ``PTRACE_CONT``; when the CPU executes ``int3`` the kernel sends the program SIGTRAP, which
   stops it (it is traced) and wakes the debugger's ``waitpid``.
5. ``PTRACE_GETREGS`` fills a ``user_regs_struct``: ``rip`` is one past the ``int3``. The
   debugger sets it back by one (``PTRACE_SETREGS``), reads variables at their DWARF locations
   (``PTRACE_PEEKDATA`` at CFA + offset), puts the original byte back, executes that one
   instruction (``PTRACE_SINGLESTEP``, the trap flag) and writes ``int3`` again: the breakpoint
   stays set for the next iteration, and the program computes exactly what it would without it.

Written by hand with ctypes on libc's ``ptrace``: no maintained Python library exposes ptrace
breakpoints (python-ptrace is unmaintained, and gdb's Python API runs inside gdb), and the point
of the chapter is the mechanism. The register layout is x86-64's; on another architecture
:func:`unsupported` says so and the chapter shows gdb only. Like gdb, the child runs with
address-space randomisation off (``personality(ADDR_NO_RANDOMIZE)``) unless asked otherwise, so
both put the breakpoint at the same address; ``PTRACE_O_EXITKILL`` kills the program if the
debugger dies, and a watchdog kills it after ``timeout_s``.

Run as a module: ``python -m haiend.debug.ptrace PROGRAM FILE:LINE VAR [VAR ...] [-- ARGS]``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from haiend.debug import dwarf, tools
from haiend.errors import HaiendError

PTRACE_TRACEME, PTRACE_PEEKTEXT, PTRACE_PEEKDATA, PTRACE_POKETEXT = 0, 1, 2, 4
PTRACE_CONT, PTRACE_SINGLESTEP, PTRACE_GETREGS, PTRACE_SETREGS = 7, 9, 12, 13
PTRACE_SETOPTIONS, PTRACE_O_EXITKILL = 0x4200, 0x100000
ADDR_NO_RANDOMIZE = 0x0040000
INT3 = 0xCC
WORD = 8


class UserRegs(ctypes.Structure):
    """``struct user_regs_struct`` of x86-64 (``<sys/user.h>``), in the kernel's order."""

    _fields_ = [
        (name, ctypes.c_ulonglong)
        for name in (
            "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags "
            "rsp ss fs_base gs_base ds es fs gs"
        ).split()
    ]


def unsupported() -> str | None:
    """None on x86-64 Linux with ptrace allowed; else why this debugger cannot run here."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return (
            f"this tiny debugger reads x86-64 registers (user_regs_struct) and this machine is "
            f"{platform.machine()}, so only gdb's stop is shown here."
        )
    return tools.PTRACE.missing()


_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def _ptrace(request: int, pid: int, addr: int = 0, data: int | ctypes.c_void_p | None = None) -> int:
    """One ptrace call; a PEEK's answer may be -1, so failure is told by errno, not the result."""
    ctypes.set_errno(0)
    result = _libc.ptrace(request, pid, ctypes.c_void_p(addr), data)
    err = ctypes.get_errno()
    if err:
        raise OSError(err, f"ptrace({request}) on process {pid} failed: {os.strerror(err)}")
    return result


def peek(pid: int, address: int) -> bytes:
    """The 8 bytes at ``address`` in the tracee (PTRACE_PEEKDATA)."""
    word = _ptrace(PTRACE_PEEKDATA, pid, address)
    return (word & (2**64 - 1)).to_bytes(WORD, "little")


def poke(pid: int, address: int, data: bytes) -> None:
    """Write 8 bytes at ``address`` in the tracee's (read-only, copied on write) code."""
    _ptrace(PTRACE_POKETEXT, pid, address, ctypes.c_void_p(int.from_bytes(data, "little")))


def registers(pid: int) -> UserRegs:
    regs = UserRegs()
    _ptrace(PTRACE_GETREGS, pid, 0, ctypes.cast(ctypes.pointer(regs), ctypes.c_void_p))
    return regs


def set_registers(pid: int, regs: UserRegs) -> None:
    _ptrace(PTRACE_SETREGS, pid, 0, ctypes.cast(ctypes.pointer(regs), ctypes.c_void_p))


def load_base(pid: int, program: Path) -> int:
    """Where the kernel mapped ``program``: the start of its mapping at file offset 0 (/proc/PID/maps)."""
    target = os.path.realpath(program)
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == target and int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16)
    raise HaiendError(f"{program} is not mapped in process {pid}.")


@dataclass(frozen=True)
class Hit:
    """One stop at the breakpoint: the registers that matter and the variables read there."""

    number: int
    rip: int
    rbp: int
    rsp: int
    cfa: int
    values: dict[str, int | float]


@dataclass
class Session:
    """A whole run under the tiny debugger: where the breakpoint went, every hit, and the outcome."""

    program: Path
    location: str
    elf_address: int
    load_base: int
    original_byte: int
    hits: list[Hit] = field(default_factory=list)
    stdout: str = ""
    returncode: int | None = None
    seconds: float = 0.0

    @property
    def address(self) -> int:
        return self.load_base + self.elf_address


def _start(program: Path, args: Sequence[str], output: int, randomise: bool) -> int:
    pid = os.fork()
    if pid == 0:  # the child: only what is safe after fork, then exec or exit
        try:
            os.dup2(output, 1)
            if not randomise:
                _libc.personality(ADDR_NO_RANDOMIZE)
            if _libc.ptrace(PTRACE_TRACEME, 0, None, None) != 0:
                os._exit(126)
            os.execv(program, [str(program), *args])
        finally:
            os._exit(127)
    return pid


def run(
    program: str | Path,
    location: str,
    variables: Sequence[str] = (),
    args: Sequence[str] = (),
    *,
    max_hits: int = 1000,
    randomise: bool = False,
    timeout_s: float = 30,
) -> Session:
    """Run ``program args`` with a breakpoint at ``location`` (``file.c:N``), reading ``variables`` at each hit.

    After ``max_hits`` the breakpoint is removed and the program runs to its end. Returns the
    :class:`Session`; raises HaiendError for a program that does not exist, a location with no
    code, a variable not in scope there, or where ptrace cannot be used.
    """
    reason = unsupported()
    if reason is not None:
        raise HaiendError(reason)
    program = Path(program)
    if not program.is_file() or not os.access(program, os.X_OK):
        raise HaiendError(f"the program {program} does not exist or is not executable.")
    source, _, line = location.rpartition(":")
    if not source or not line.isdigit():
        raise HaiendError(f"a breakpoint location is FILE:LINE, such as triad_steps.c:28, not {location!r}.")
    elf_address = dwarf.line_address(program, source, int(line))
    scope = dwarf.variables_at(program, elf_address)
    unknown = [name for name in variables if name not in scope]
    if unknown:
        raise HaiendError(
            f"{', '.join(unknown)} is not a local variable at {location} (there: {', '.join(sorted(scope)) or 'none'})."
        )
    moving = [name for name in variables if scope[name].frame_offset is None]
    if moving:
        raise HaiendError(
            f"{', '.join(moving)} {'has' if len(moving) == 1 else 'have'} no fixed place in the stack frame at "
            f"{location} (optimised code keeps a variable in registers or moves it): build the program with -O0."
        )
    rule = dwarf.frame_rule(program, elf_address)

    start = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        pid = _start(program, args, output.fileno(), randomise)
        reaped: list[int] = []  # the exit status, once waitpid has collected the child
        fired = threading.Event()

        def expire() -> None:
            if not reaped:
                fired.set()
                _signal(pid, signal.SIGKILL)

        watchdog = threading.Timer(timeout_s, expire)
        watchdog.start()
        try:
            session = _debug(pid, program, location, elf_address, scope, variables, rule, max_hits, reaped)
        finally:
            watchdog.cancel()
            if not reaped:  # an error on the way: the child must not outlive this call
                _signal(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        session.seconds = time.perf_counter() - start
        output.seek(0)
        session.stdout = output.read().decode(errors="replace")
    if fired.is_set():
        raise HaiendError(f"{program.name} did not finish within {timeout_s:g} s under the debugger and was killed.")
    return session


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _wait(pid: int, reaped: list[int]) -> int:
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) or os.WIFSIGNALED(status):
        reaped.append(status)
    return status


def _debug(pid, program, location, elf_address, scope, variables, rule, max_hits, reaped) -> Session:
    status = _wait(pid, reaped)  # stopped by SIGTRAP after execve
    if not os.WIFSTOPPED(status):
        raise HaiendError(f"{program.name} could not be started under ptrace (exit status {os.waitstatus_to_exitcode(status)}).")
    _ptrace(PTRACE_SETOPTIONS, pid, 0, ctypes.c_void_p(PTRACE_O_EXITKILL))
    base = load_base(pid, program) if dwarf.is_pie(program) else 0
    address = base + elf_address
    original = peek(pid, address)
    session = Session(program, location, elf_address, base, original[0])
    poke(pid, address, bytes([INT3]) + original[1:])
    _ptrace(PTRACE_CONT, pid, 0, None)
    while True:
        status = _wait(pid, reaped)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            session.returncode = os.waitstatus_to_exitcode(status)
            return session
        signal_number = os.WSTOPSIG(status)
        regs = registers(pid)
        if signal_number != signal.SIGTRAP or regs.rip - 1 != address:
            _ptrace(PTRACE_CONT, pid, 0, ctypes.c_void_p(signal_number))  # not ours: deliver it
            continue
        regs.rip -= 1  # rip points past the int3: back to the instruction it replaced
        set_registers(pid, regs)
        cfa = getattr(regs, rule.register) + rule.offset
        values = {name: scope[name].decode(peek(pid, cfa + scope[name].frame_offset)) for name in variables}
        session.hits.append(Hit(len(session.hits) + 1, regs.rip, regs.rbp, regs.rsp, cfa, values))
        poke(pid, address, original)  # the program's own instruction, executed once
        _ptrace(PTRACE_SINGLESTEP, pid, 0, None)
        status = _wait(pid, reaped)
        if not os.WIFSTOPPED(status):
            session.returncode = os.waitstatus_to_exitcode(status)
            return session
        if len(session.hits) < max_hits:
            poke(pid, address, bytes([INT3]) + original[1:])  # and the breakpoint again
        _ptrace(PTRACE_CONT, pid, 0, None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m haiend.debug.ptrace",
        description="Run a program built with -g -O0 with a breakpoint, printing local variables at each hit.",
    )
    parser.add_argument("program")
    parser.add_argument("location", help="FILE:LINE")
    parser.add_argument("variables", nargs="*")
    parser.add_argument("--args", nargs=argparse.REMAINDER, default=[], help="the program's arguments")
    parser.add_argument("--max-hits", type=int, default=1000)
    options = parser.parse_args(argv)
    try:
        session = run(options.program, options.location, options.variables, options.args, max_hits=options.max_hits)
    except HaiendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"breakpoint at {session.location}: {session.address:#x} (load base {session.load_base:#x})")
    for hit in session.hits:
        values = " ".join(f"{k}={v!r}" for k, v in hit.values.items())
        print(f"hit {hit.number}: rip={hit.rip:#x} {values}")
    print(f"exit status {session.returncode}; the program printed:\n{session.stdout}", end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
