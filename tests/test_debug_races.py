"""ThreadSanitizer reports the seeded OpenMP race on its source line and stays quiet where it sees everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from haiend.debug import races, tools

pytestmark = pytest.mark.skipif(tools.TSAN.missing() is not None, reason=str(tools.TSAN.missing()))

SOURCE_LINES = races.SOURCE.read_text().splitlines()


def line_of(fragment: str) -> int:
    """The 1-based line of races.c holding ``fragment`` (so the tests follow edits of the source)."""
    return next(number for number, text in enumerate(SOURCE_LINES, 1) if fragment in text)


@pytest.fixture(scope="module")
def tsan_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return races.build(tmp_path_factory.mktemp("races"), sanitize=True)


def test_tsan_names_the_racing_line_of_the_seeded_race(tsan_program: Path) -> None:
    run = races.run(tsan_program, "racy", 100_000, threads=2)
    assert "WARNING: ThreadSanitizer: data race" in run.finished.stderr
    seeded = line_of("total += x[i]; /* seeded race")
    assert any(seeded in report.lines for report in run.reports), run.finished.stderr
    assert all(report.function.startswith("sum_racy") for report in run.reports)


@pytest.mark.parametrize(("threads", "repeats"), [(1, 3), (2, 1)])
def test_tsan_is_quiet_on_the_reduction_where_it_sees_every_synchronisation(tsan_program: Path, threads: int, repeats: int) -> None:
    run = races.run(tsan_program, "reduced", 100_000, threads=threads, repeats=repeats)
    assert run.finished.returncode == 0 and run.total == 100_000
    assert run.reports == () and "ThreadSanitizer" not in run.finished.stderr, run.finished.stderr


def test_libgomp_barriers_are_invisible_so_a_correct_program_is_reported(tsan_program: Path) -> None:
    run = races.run(tsan_program, "phases", 1000, threads=2)
    assert run.total == sum(range(1000))  # correct ...
    reader, writer = line_of("b[i] = a[n - 1 - i]"), line_of("a[i] = (double)i;")
    assert any(set(report.lines) == {reader, writer} for report in run.reports), run.finished.stderr  # ... yet reported
    assert all("libgomp.so.1" in report.through for report in run.reports)


def test_reports_are_parsed_from_tsan_text() -> None:
    text = (
        "==================\nWARNING: ThreadSanitizer: data race (pid=1)\n"
        "  Write of size 8 at 0x7b by thread T1:\n    #0 f /src/k.c:7 (k+0x12)\n    #1 <null> <null> (libgomp.so.1+0x1c)\n\n"
        "  Previous read of size 8 at 0x7b by main thread:\n    #0 f /src/k.c:5 (k+0x10)\n\n"
        "  Thread T1 (tid=2, running) created by main thread at:\n    #0 pthread_create x.cpp:1 (libtsan.so.2+0x5e)\n\n"
        "SUMMARY: ThreadSanitizer: data race /src/k.c:7 in f\n==================\n"
    )
    (report,) = races.parse_reports(text)
    assert (report.file, report.line, report.function, report.lines) == ("/src/k.c", 7, "f", (7, 5))
    assert report.through == ("libgomp.so.1",) and report.accesses[1].thread == "main thread"


def test_an_unknown_mode_is_one_sentence(tsan_program: Path) -> None:
    from haiend.errors import HaiendError

    with pytest.raises(HaiendError, match="unknown mode 'sum'"):
        races.run(tsan_program, "sum", 10)
