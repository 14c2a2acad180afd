"""The tiny ptrace debugger stops where gdb stops, reads what the program computes, and changes nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from haiend.debug import bounded, dwarf, gdb_batch, programs, ptrace, tools
from haiend.errors import HaiendError
from haiend.requirements import c_compiler

ROOT = Path(__file__).resolve().parents[1]
UNSUPPORTED = ptrace.unsupported()
pytestmark = [
    pytest.mark.skipif(c_compiler() is None, reason="no C compiler to build the program: apt-get install gcc"),
    pytest.mark.skipif(UNSUPPORTED is not None, reason=UNSUPPORTED or ""),
]
LINE = programs.marked_line(programs.TRIAD, "TRIAD")
LOCATION = f"triad_steps.c:{LINE}"
PRINTED = re.compile(r"i=(\d+) a\[i\]=(\S+) sum=(\S+)")


def children() -> list[int]:
    """The live (not zombie) child processes of this test process, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.append(int(entry))
    return found


@pytest.fixture(autouse=True)
def nothing_left_running():
    before = set(children())
    yield
    assert set(children()) <= before, "a process started by the test is still running"


@pytest.fixture(scope="module", params=[True, False], ids=["pie", "no-pie"])
def program(request) -> Path:
    return programs.executable(pie=request.param)


def printed_sums(stdout: str) -> list[float]:
    return [float(m.group(3)) for m in PRINTED.finditer(stdout)]


def test_each_hit_reads_the_loop_index_and_the_sum_the_program_printed_before_it(program: Path) -> None:
    session = ptrace.run(program, LOCATION, ["i", "sum", "scalar"], ["6"], randomise=True)
    assert session.returncode == 0
    sums = printed_sums(session.stdout)
    assert len(sums) == 6 and [hit.values["i"] for hit in session.hits] == list(range(6))
    assert [hit.values["sum"] for hit in session.hits] == [0.0, *sums[:-1]]
    assert all(hit.values["scalar"] == 3.0 for hit in session.hits)
    assert all(hit.rip == session.address for hit in session.hits)
    assert session.elf_address in dwarf.line_rows(program, "triad_steps.c")[LINE]
    if dwarf.is_pie(program):
        assert session.load_base != 0 and session.load_base % 4096 == 0
    else:
        assert session.load_base == 0
    assert all(hit.cfa == hit.rbp + 16 for hit in session.hits)  # -O0 on x86-64: CFA = rbp + 16


def test_the_breakpoint_leaves_the_output_unchanged(program: Path) -> None:
    plain = bounded.run([str(program), "7"], 30)
    session = ptrace.run(program, LOCATION, ["i"], ["7"], max_hits=3)
    assert plain.returncode == 0 and session.returncode == 0
    assert session.stdout == plain.stdout and len(session.hits) == 3


def test_the_stop_agrees_with_gdb(program: Path) -> None:
    if tools.GDB.missing() is not None:
        pytest.skip(tools.GDB.missing())
    ours = ptrace.run(program, LOCATION, ["i", "sum"], ["4"], max_hits=3)
    theirs, finished = gdb_batch.stops(program, LOCATION, ["i", "sum"], ["4"], hits=3)
    assert finished.returncode == 0, finished.output[-2000:]
    assert [stop.rip for stop in theirs] == [hit.rip for hit in ours.hits]
    assert [(int(s.values["i"]), float(s.values["sum"])) for s in theirs] == [
        (hit.values["i"], hit.values["sum"]) for hit in ours.hits
    ]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"program": "/nonexistent/triad"}, "does not exist"),
        ({"location": "triad_steps.c:2"}, "has no code"),
        ({"location": "triad_steps.c"}, "FILE:LINE"),
        ({"location": "other.c:10"}, "no line table rows"),
        ({"variables": ["nope"]}, "not a local variable"),
    ],
    ids=["no-program", "no-code", "no-line", "other-file", "no-variable"],
)
def test_bad_input_is_one_clear_sentence(kwargs, words) -> None:
    call = {"program": programs.executable(), "location": LOCATION, "variables": ["i"], **kwargs}
    with pytest.raises(HaiendError) as caught:
        ptrace.run(call.pop("program"), call.pop("location"), call.pop("variables"))
    message = str(caught.value)
    assert words in message and message.endswith(".") and "\n" not in message


@pytest.mark.parametrize(
    "flags, words",
    [(("-g", "-O2"), "no fixed place in the stack frame"), (("-O0",), "no DWARF debugging information")],
    ids=["optimised", "no-debug-info"],
)
def test_a_program_built_without_g_O0_is_refused_with_the_flag_to_use(flags, words) -> None:
    with pytest.raises(HaiendError, match=words) as caught:
        ptrace.run(programs.executable(programs.TRIAD, flags), LOCATION, ["i"])
    assert str(caught.value).endswith(("-O0.", "-g.")) and "\n" not in str(caught.value)


def test_a_line_without_code_names_the_nearest_lines_with_code() -> None:
    blank = LINE - 2  # the closing brace of the first loop: no instruction of its own at -O0
    with pytest.raises(HaiendError, match=rf"nearest lines with code: .*\b{LINE - 1}\b"):
        ptrace.run(programs.executable(), f"triad_steps.c:{blank}", ["i"])


def test_a_program_that_never_reaches_its_end_is_killed_after_the_limit(tmp_path: Path) -> None:
    source = tmp_path / "spin.c"
    source.write_text("int main(void) {\n    volatile int k = 0;\n    for (;;) k++; /* SPIN */\n}\n")
    spin = programs.executable(source)
    with pytest.raises(HaiendError, match="did not finish within 1 s"):
        ptrace.run(spin, "spin.c:3", ["k"], max_hits=2, timeout_s=1)


def test_the_command_line_reports_hits_and_exits_2_on_bad_input() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    good = subprocess.run(
        [sys.executable, "-m", "haiend.debug.ptrace", str(programs.executable()), LOCATION, "i", "sum", "--args", "2"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert good.returncode == 0 and "hit 2: rip=" in good.stdout and "i=1 sum=1.0" in good.stdout, good.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "haiend.debug.ptrace", "/nonexistent/triad", LOCATION],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
