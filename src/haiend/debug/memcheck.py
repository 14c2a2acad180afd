"""valgrind's memcheck: run a program unchanged on a synthetic CPU and read its XML report.

valgrind translates the program's machine code, a block at a time, into its own intermediate
form, adds checks, and runs the result (dynamic binary instrumentation: no rebuild, any
compiler). memcheck shadows every byte of memory with an *A-bit* (addressable or not) and every
bit with a *V-bit* (defined or not): a load or store of a byte whose A-bit is off is an invalid
read or write; copying an undefined value is allowed, and only a conditional jump, an address or
a system call that depends on undefined bits is reported. Its own malloc marks heap blocks
addressable but undefined, with unaddressable redzones between them. It knows nothing of what a
compiler meant: the stack and globals are all addressable, so running past a stack array into
the next bytes of the frame is not an invalid access. Python must be run with
``PYTHONMALLOC=malloc``: its own small-object allocator carves blocks out of big arenas that
valgrind sees as one allocation, and reads of freed or unused parts look legal or, where the
allocator reads its own free lists, look like errors.

``--xml=yes`` writes each error as ``<error>`` with ``<kind>`` (InvalidRead, UninitCondition,
...), ``<what>`` and a ``<stack>`` of frames (function, file, line); it is read here with the
standard library's ElementTree, which is all a flat, trusted document needs.
"""

from __future__ import annotations

import os
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path

from haiend.debug import bounded, programs, tools
from haiend.debug.reports import Finding, Frame, Report

TOOL = "valgrind memcheck"


def run(argv: Sequence[str], *, python: bool = False, timeout_s: float = 60) -> Report:
    """Run ``argv`` under memcheck; ``python=True`` sets ``PYTHONMALLOC=malloc`` for an interpreter."""
    reason = tools.missing(tools.VALGRIND)
    if reason is not None:
        return Report(TOOL, missing=reason)
    env = {**os.environ, **({"PYTHONMALLOC": "malloc"} if python else {})}
    with tempfile.TemporaryDirectory(prefix="haiend-memcheck-") as folder:
        xml = Path(folder) / "report.xml"
        command = ["valgrind", "--tool=memcheck", "--xml=yes", f"--xml-file={xml}", *argv]
        done = bounded.run(command, timeout_s, env=env)
        if done.timed_out:
            return Report(
                TOOL,
                run=done,
                missing=f"valgrind did not finish within {timeout_s:g} s.",
                command=tuple(command),
            )
        if not xml.exists() or xml.stat().st_size == 0:
            first = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return Report(
                TOOL, run=done, missing=f"valgrind wrote no report ({first}).", command=tuple(command)
            )
        try:
            findings = parse(xml.read_text(errors="replace"))
        except ElementTree.ParseError as error:
            return Report(
                TOOL,
                run=done,
                missing=f"valgrind's XML report could not be read ({error}).",
                command=tuple(command),
            )
        return Report(TOOL, findings, done, command=tuple(command))


def run_program(
    source: str | Path, args: Sequence[str], *, fixed: bool = False, timeout_s: float = 60
) -> Report:
    """Build ``source`` for debugging (``-g -O0``, no instrumentation) and run it under memcheck."""
    reason = tools.missing(tools.VALGRIND)
    if reason is not None:
        return Report(TOOL, missing=reason)
    program = programs.build(source, (*programs.DEBUG_FLAGS, *((programs.FIXED,) if fixed else ())))
    return run([str(program), *args], timeout_s=timeout_s)


def run_in_python(source: str | Path, code: str, *, fixed: bool = False, timeout_s: float = 120) -> Report:
    """Build ``source`` as a library and run ``code`` (library path in ``sys.argv[1]``) in Python under memcheck."""
    reason = tools.missing(tools.VALGRIND)
    if reason is not None:
        return Report(TOOL, missing=reason)
    library = programs.build(
        source, (*programs.DEBUG_FLAGS, *((programs.FIXED,) if fixed else ())), shared=True
    )
    return run([sys.executable, "-c", code, str(library)], python=True, timeout_s=timeout_s)


def parse(xml_text: str) -> tuple[Finding, ...]:
    """Every ``<error>`` of a memcheck XML report, its lines written as valgrind's text would show them."""
    root = ElementTree.fromstring(xml_text)
    found = []
    for error in root.iter("error"):
        kind = error.findtext("kind", "")
        what = error.findtext("what") or error.findtext("xwhat/text") or ""
        frames = []
        stack = error.find("stack")
        for frame in stack.iter("frame") if stack is not None else ():
            line = frame.findtext("line")
            frames.append(
                Frame(frame.findtext("fn", "???"), frame.findtext("file"), int(line) if line else None)
            )
        shown = [what] + [f"   at {f.function} ({f.file}:{f.line})" for f in frames if f.file and f.line][:3]
        auxwhat = error.findtext("auxwhat") or error.findtext("xauxwhat/text")
        if auxwhat:
            shown.append(f" {auxwhat}")
        found.append(Finding(TOOL, kind, what, tuple(frames), tuple(shown)))
    return tuple(found)
