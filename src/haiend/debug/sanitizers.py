"""AddressSanitizer and UndefinedBehaviorSanitizer: build with ``-fsanitize=...``, run, read the report.

Both work at compile time. With ``-fsanitize=address`` gcc puts before every load and store a
look-up in *shadow memory* (one shadow byte for 8 bytes of memory, at ``(addr >> 3) + offset``)
and a call to report when the bytes are not addressable; it surrounds stack arrays and globals
with poisoned *redzones*, and the runtime's malloc does the same for heap blocks and keeps freed
blocks poisoned in a *quarantine* for a while, so a use after free lands on poison. With
``-fsanitize=undefined`` it inserts a check before each operation the C standard leaves
undefined (signed overflow, shifts by too much, misaligned or null pointers, ...), which prints
``file:line:col: runtime error: ...`` and, by default, carries on.

A sanitized program runs as it is. A sanitized *library* loaded into Python with ctypes needs
the runtime loaded before anything else in the process (``LD_PRELOAD``), and ASan's leak
check turned off (``ASAN_OPTIONS=detect_leaks=0``): the interpreter keeps memory to the end on
purpose. Both run here in a child process under :func:`haiend.debug.bounded.run`, never in the
caller, and the reports are read with regular expressions (no library parses them; their
format is the runtime's ``Printf`` lines in gcc's libsanitizer).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from haiend.debug import bounded, programs, tools
from haiend.debug.reports import Finding, Frame, Report

FLAGS = {
    "address": ("-fsanitize=address", "-fno-omit-frame-pointer"),
    "undefined": ("-fsanitize=undefined",),
}
REQUIREMENT = {"address": tools.ASAN, "undefined": tools.UBSAN}
TOOL_NAME = {"address": "AddressSanitizer", "undefined": "UndefinedBehaviorSanitizer"}
OPTIONS = {
    "address": {"ASAN_OPTIONS": "detect_leaks=0"},
    "undefined": {"UBSAN_OPTIONS": "print_stacktrace=1"},
}

_ASAN_ERROR = re.compile(r"ERROR: AddressSanitizer: ([\w-]+)(.*)")
_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+)(?: (\S+?):(\d+)(?::\d+)?)?\s*$")
_UBSAN_ERROR = re.compile(r"^(\S+?):(\d+):(\d+): runtime error: (.*)$")


def build(
    source: str | Path, sanitizer: str, *, fixed: bool = False, shared: bool = False, optimise: str = "-O0"
) -> Path:
    """``source`` built with ``-g``, ``optimise`` and the sanitizer (and ``-DHAIEND_FIXED`` if fixed)."""
    flags = ("-g", optimise, *FLAGS[sanitizer], *((programs.FIXED,) if fixed else ()))
    return programs.build(source, flags, shared=shared)


def run_program(
    source: str | Path, sanitizer: str, args: Sequence[str], *, fixed: bool = False, timeout_s: float = 60
) -> Report:
    """Build ``source`` as a sanitized program, run it with ``args`` and read its report."""
    reason = tools.missing(REQUIREMENT[sanitizer])
    if reason is not None:
        return Report(TOOL_NAME[sanitizer], missing=reason)
    program = build(source, sanitizer, fixed=fixed)
    return _run([str(program), *args], sanitizer, {}, timeout_s)


def run_in_python(
    source: str | Path, sanitizer: str, code: str, *, fixed: bool = False, timeout_s: float = 60
) -> Report:
    """Build ``source`` as a sanitized library; run ``code`` in a child Python with the runtime preloaded.

    ``code`` finds the library's path in ``sys.argv[1]`` (for ``ctypes.CDLL``).
    """
    reason = tools.missing(REQUIREMENT[sanitizer])
    if reason is not None:
        return Report(TOOL_NAME[sanitizer], missing=reason)
    runtime = tools.runtime_library(sanitizer)
    if runtime is None:
        return Report(
            TOOL_NAME[sanitizer],
            missing=f"the {sanitizer} sanitizer's shared runtime was not found, so a library cannot be loaded into Python with it (Debian's gcc ships it).",
        )
    library = build(source, sanitizer, fixed=fixed, shared=True)
    return _run(
        [sys.executable, "-c", code, str(library)], sanitizer, {"LD_PRELOAD": str(runtime)}, timeout_s
    )


def _run(argv: list[str], sanitizer: str, extra_env: Mapping[str, str], timeout_s: float) -> Report:
    env = {**os.environ, **OPTIONS[sanitizer], **extra_env}
    done = bounded.run(argv, timeout_s, env=env)
    findings = parse_asan(done.stderr) if sanitizer == "address" else parse_ubsan(done.stderr)
    if done.timed_out:
        return Report(
            TOOL_NAME[sanitizer],
            findings,
            done,
            f"the sanitized run did not finish within {timeout_s:g} s.",
            tuple(argv),
        )
    return Report(TOOL_NAME[sanitizer], findings, done, command=tuple(argv))


def _frames(lines: Sequence[str]) -> tuple[list[Frame], list[str]]:
    """The frames of the first stack in ``lines``, and the lines of those whose source file is here."""
    frames, shown = [], []
    for line in lines:
        match = _FRAME.match(line)
        if match is None:
            if frames:
                break
            continue
        function, file, number = match.groups()
        frames.append(Frame(function, file, int(number) if number else None))
        if file is not None and Path(file).is_absolute() and Path(file).is_file():
            shown.append(
                line.rstrip()
            )  # code whose source is on this machine: ours, not libc's or the runtime's
    return frames, shown


def parse_asan(text: str) -> tuple[Finding, ...]:
    """AddressSanitizer's error (it stops at the first): kind, access, stack, where the address lies."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _ASAN_ERROR.search(line)
        if match is None:
            continue
        rest = lines[index + 1 :]
        frames, shown = _frames(rest)
        access = next((r.strip() for r in rest[:2] if r.startswith(("READ", "WRITE"))), "")
        located = next((r.strip() for r in rest if " is located " in r), "")
        head = f"ERROR: AddressSanitizer: {match.group(1)}"
        return (
            Finding(
                "AddressSanitizer",
                match.group(1),
                f"{access}".strip(),
                tuple(frames),
                tuple(x for x in (head, access, *shown, located) if x),
            ),
        )
    return ()


def parse_ubsan(text: str) -> tuple[Finding, ...]:
    """Every ``file:line:col: runtime error: ...`` with the stack printed after it, if any."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        match = _UBSAN_ERROR.match(line.strip())
        if match is None:
            continue
        file, number, _, message = match.groups()
        frames, _shown = _frames(lines[index + 1 :])
        kind = message.split(":")[0].strip()
        found.append(
            Finding(
                "UndefinedBehaviorSanitizer",
                kind,
                message,
                (Frame("?", file, int(number)), *frames),
                (line.strip(),),
            )
        )
    return tuple(found)
