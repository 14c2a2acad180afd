"""ASan, UBSan and valgrind on memory_bugs.c: each reports the seeded bug it should, by kind and
file:line, stays quiet on the fixed build, and misses what the chapter says it misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from haiend.debug import bounded, memcheck, programs, sanitizers, slowdown, tools
from haiend.debug.reports import Report
from haiend.requirements import Requirement
from helpers import live_children

SOURCE = programs.MEMORY_BUGS
N = "100"


def line(tag: str) -> int:
    return programs.seeded_line(SOURCE, tag)


@pytest.fixture(autouse=True)
def nothing_left_running():
    yield
    assert live_children() == [], "a tool's process outlived its test"


def ran(report: Report) -> Report:
    """The report, or a skip naming the missing tool."""
    if report.missing is not None and report.run is None:
        pytest.skip(report.missing)
    assert report.missing is None, report.missing
    return report


def test_asan_reports_the_heap_over_read_at_its_line_and_not_on_the_fixed_build() -> None:
    seeded = ran(sanitizers.run_program(SOURCE, "address", ["overread", N]))
    assert seeded.kinds_at(SOURCE, line("heap over-read")) == {"heap-buffer-overflow"}, seeded.run.stderr[
        -3000:
    ]
    assert seeded.run.returncode != 0
    assert f"memory_bugs.c:{line('heap over-read')}" in seeded.trimmed(SOURCE)
    fixed = ran(sanitizers.run_program(SOURCE, "address", ["overread", N], fixed=True))
    assert fixed.findings == () and fixed.run.returncode == 0, fixed.run.stderr[-3000:]


def test_asan_finds_it_in_a_library_called_from_python_through_ctypes() -> None:
    seeded = ran(sanitizers.run_in_python(SOURCE, "address", programs.SMOOTH_FROM_PYTHON))
    assert seeded.kinds_at(SOURCE, line("heap over-read")) == {"heap-buffer-overflow"}, seeded.run.stderr[
        -3000:
    ]
    fixed = ran(sanitizers.run_in_python(SOURCE, "address", programs.SMOOTH_FROM_PYTHON, fixed=True))
    assert fixed.findings == () and "out[n-2] =" in fixed.run.stdout, fixed.run.output[-3000:]


def test_valgrind_reports_the_same_over_read_and_nothing_on_the_fixed_build() -> None:
    seeded = ran(memcheck.run_program(SOURCE, ["overread", N]))
    assert seeded.kinds_at(SOURCE, line("heap over-read")) == {"InvalidRead"}, seeded.trimmed()
    assert "0 bytes after a block of size 800" in seeded.trimmed(SOURCE)
    fixed = ran(memcheck.run_program(SOURCE, ["overread", N], fixed=True))
    assert fixed.findings == (), fixed.trimmed()


@pytest.mark.slow
def test_valgrind_finds_it_in_python_with_pythonmalloc_malloc() -> None:
    seeded = ran(memcheck.run_in_python(SOURCE, programs.SMOOTH_FROM_PYTHON))
    assert seeded.kinds_at(SOURCE, line("heap over-read")) == {"InvalidRead"}, seeded.trimmed(SOURCE)


def test_the_uninitialised_read_is_valgrinds_and_asan_misses_it() -> None:
    seeded = ran(memcheck.run_program(SOURCE, ["uninit", N]))
    assert seeded.kinds_at(SOURCE, line("uninitialised read")) == {"UninitCondition"}, seeded.trimmed()
    assert ran(memcheck.run_program(SOURCE, ["uninit", N], fixed=True)).findings == ()
    asan = ran(sanitizers.run_program(SOURCE, "address", ["uninit", N]))
    assert asan.findings == () and asan.run.returncode == 0, asan.run.stderr[-3000:]


def test_the_stack_over_read_is_asans_and_valgrind_sees_no_invalid_read() -> None:
    asan = ran(sanitizers.run_program(SOURCE, "address", ["stack", N]))
    assert asan.kinds_at(SOURCE, line("stack over-read")) == {"stack-buffer-overflow"}, asan.run.stderr[
        -3000:
    ]
    assert ran(sanitizers.run_program(SOURCE, "address", ["stack", N], fixed=True)).findings == ()
    valgrind = ran(memcheck.run_program(SOURCE, ["stack", N]))
    assert valgrind.at(SOURCE, line("stack over-read")) == ()
    assert not any(f.kind.startswith("Invalid") for f in valgrind.findings), valgrind.trimmed()


def test_ubsan_reports_the_signed_overflow_in_the_index_and_not_when_fixed() -> None:
    seeded = ran(sanitizers.run_program(SOURCE, "undefined", ["overflow", "50000"]))
    assert seeded.kinds_at(SOURCE, line("signed overflow")) == {"signed integer overflow"}, seeded.run.stderr
    assert "50000 * 50000" in seeded.trimmed(SOURCE)
    fixed = ran(sanitizers.run_program(SOURCE, "undefined", ["overflow", "50000"], fixed=True))
    assert fixed.findings == () and "2500000000" in fixed.run.stdout, fixed.run.output


def test_a_missing_tool_gives_its_sentence_and_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = "valgrind is not installed here (Debian: apt-get install valgrind (./quickstart does it as root))."
    monkeypatch.setattr(tools, "VALGRIND", Requirement("valgrind", lambda: gone))
    monkeypatch.setitem(
        sanitizers.REQUIREMENT, "address", Requirement("AddressSanitizer", lambda: "no ASan here.")
    )
    report = memcheck.run_program(SOURCE, ["overread", N])
    assert (report.missing, report.run, report.trimmed()) == (gone, None, gone)
    assert sanitizers.run_in_python(SOURCE, "address", "pass").missing == "no ASan here."
    costs = slowdown.c_costs(n=1000, reps=2)
    assert (
        costs["valgrind memcheck"].missing == gone
        and costs["AddressSanitizer -O2"].missing == "no ASan here."
    )
    assert slowdown.ratios(costs, "plain -O2")["valgrind memcheck"] is None


def test_reports_are_read_from_the_tools_text() -> None:
    asan = """=================================================================
==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x6 at pc 0x5 bp 0x7 sp 0x7
READ of size 8 at 0x6 thread T0
    #0 0x55 in smooth /src/memory_bugs.c:31
    #1 0x7f  (/lib/x86_64-linux-gnu/libffi.so.8+0x6f79)
    #2 0x7f in ffi_call (/lib/x86_64-linux-gnu/libffi.so.8+0x6b0c)

0x6 is located 8 bytes inside of 800-byte region [0x6,0x7)
"""
    (finding,) = sanitizers.parse_asan(asan)
    assert (
        finding.kind == "heap-use-after-free"
        and finding.at("memory_bugs.c", 31)
        and not finding.at("memory_bugs.c", 30)
    )
    assert finding.lines[-1].startswith("0x6 is located 8 bytes inside")
    ubsan = "x.c:7:12: runtime error: shift exponent 70 is too large for 64-bit type 'long int'\n"
    (shift,) = sanitizers.parse_ubsan(ubsan)
    assert (shift.kind, shift.frames[0].line) == (
        "shift exponent 70 is too large for 64-bit type 'long int'",
        7,
    )
    xml = """<?xml version="1.0"?><valgrindoutput><error><kind>InvalidWrite</kind><what>Invalid write of size 4</what>
    <stack><frame><fn>f</fn><file>a.c</file><line>3</line></frame><frame><fn>main</fn></frame></stack></error></valgrindoutput>"""
    (write,) = memcheck.parse(xml)
    assert (
        write.kind == "InvalidWrite"
        and write.at("a.c", 3)
        and write.lines == ("Invalid write of size 4", "   at f (a.c:3)")
    )


def test_an_unreadable_valgrind_report_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    if tools.VALGRIND.missing() is not None:
        pytest.skip(tools.VALGRIND.missing())

    def half_written(argv, timeout_s, env=None):  # valgrind "ran" and left a truncated XML file
        xml = next(a.split("=", 1)[1] for a in argv if a.startswith("--xml-file="))
        Path(xml).write_text("<valgrindoutput><error><kind>InvalidRead")
        return bounded.Finished(tuple(argv), 0, "", "", 0.1, False)

    monkeypatch.setattr(bounded, "run", half_written)
    report = memcheck.run(["/bin/true"])
    assert report.missing.startswith("valgrind's XML report could not be read (") and report.findings == ()


def test_costs_are_measured_for_every_tool_here() -> None:
    costs = slowdown.c_costs(n=10_000, reps=3)
    for name, cost in costs.items():
        assert cost.missing is not None or (cost.seconds is not None and cost.seconds > 0), (name, cost)
