"""haiend.lab (what lab notebooks share) and haiend.student (the student copy of a lab)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import types
from dataclasses import replace

import numpy as np
import pytest

from haiend import bench, kernels, lab, machine, mpi, student, tables
from haiend.kernels import Variant
from haiend.requirements import Requirement

TRIAD = kernels.get("stream.triad")
SMALL = (1000,)


def _missing_thing():
    return "the thing is not installed: pip install thing."


def _wrong_triad(b, c, s, out):
    out[:] = b + c  # forgets the scalar
    return out


def _kernel_with_extra_variants():
    """Triad with a variant that cannot run here and one that computes the wrong thing."""
    extra = {
        "never": Variant("never", lambda *a: None, "needs a thing", (Requirement("thing", _missing_thing),)),
        "wrong": Variant("wrong", _wrong_triad, "forgets s"),
    }
    return replace(TRIAD, variants={"numpy": TRIAD.variants["numpy"], **extra})


# --- student copies ------------------------------------------------------------------------


def _notebook(tmp_path):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# Lab"},
        {
            "cell_type": "code",
            "metadata": {},
            "source": "def f():\n    ...",
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "metadata": {"tags": ["solution", "hide-cell"]},
            "source": "def f():\n    return 1",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}],
            "execution_count": 3,
        },
        {
            "cell_type": "code",
            "metadata": {"tags": ["hide-input"]},
            "source": "f()",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}],
            "execution_count": 4,
        },
    ]
    path = tmp_path / "lab.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_student_copy_drops_solution_cells_and_clears_outputs(tmp_path, capsys):
    source, target = _notebook(tmp_path), tmp_path / "student.ipynb"
    assert student.main([str(source), str(target)]) == 0
    copy = json.loads(target.read_text())
    sources = [cell["source"] for cell in copy["cells"]]
    assert sources == ["# Lab", "def f():\n    ...", "f()"]  # the solution is gone, the order kept
    assert all(
        c["outputs"] == [] and c["execution_count"] is None for c in copy["cells"] if c["cell_type"] == "code"
    )
    assert copy["cells"][2]["metadata"]["tags"] == ["hide-input"]  # other tags are left alone
    assert "1 solution cell(s) left out" in capsys.readouterr().out
    assert len(json.loads(source.read_text())["cells"]) == 4  # the lab itself is untouched


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "does not exist"),
        ("not json at all", "not JSON"),
        ('{"cells": "nope", "nbformat": 4}', "not a Jupyter notebook"),
        ('{"cells": [{"source": "x"}], "nbformat": 4}', "no cell_type"),
        ('{"cells": [], "nbformat": 3}', "format 4"),
    ],
)
def test_student_bad_input_is_one_sentence_exit_2_nothing_written(tmp_path, content, expected):
    source, target = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    if content is not None:
        source.write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "haiend.student", str(source), str(target)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not target.exists()


def test_student_refuses_to_overwrite_the_lab_and_wrong_argument_counts(tmp_path, capsys):
    source = _notebook(tmp_path)
    before = source.read_text()
    assert student.main([str(source), str(source)]) == 2
    assert source.read_text() == before
    assert student.main([str(source)]) == 2
    assert "usage" in capsys.readouterr().err


# --- correct before fast ---------------------------------------------------------------------


def test_check_all_reports_skipped_variants_with_their_reason_and_wrong_ones():
    rows = lab.check_all(_kernel_with_extra_variants(), TRIAD.make_inputs(SMALL), display=False)
    by_name = {row["variant"]: row for row in rows}
    assert set(by_name) == {"numpy", "never", "wrong"}
    assert by_name["never"]["runs here"] == "no"
    assert by_name["never"]["check"] == _missing_thing()
    assert by_name["numpy"]["runs here"] == "yes" and by_name["numpy"]["check"].startswith("correct")
    assert by_name["wrong"]["check"].startswith("WRONG")


def test_check_all_covers_every_variant_of_a_real_kernel():
    rows = lab.check_all("stream.copy", kernels.get("stream.copy").make_inputs(SMALL), display=False)
    assert [row["variant"] for row in rows] == list(kernels.get("stream.copy").variants)
    for row in rows:
        assert row["check"].startswith("correct") if row["runs here"] == "yes" else row["check"].endswith(".")


# --- exercises (the checks themselves: tests/test_grading.py) ------------------------------


def stub(b, c, s, out):
    # not written yet
    ...


def written(b, c, s, out):
    return np.add(b, s * c, out=out)


def test_measure_function_times_a_function_that_allocates_its_result():
    outcome = lab.measure_function(
        TRIAD, lambda b, c, s, out: b + s * c, name="temporaries", size=SMALL, repeat=3
    )
    assert outcome.status == "measured" and outcome.variant == "temporaries"
    assert outcome.record.bytes_moved == TRIAD.bytes_moved(SMALL)
    assert outcome.record.threads == 1 and len(outcome.record.times) <= 3
    assert lab.measure_function(TRIAD, _wrong_triad, size=SMALL).status == "wrong"
    skipped = lab.measure_function(TRIAD, stub, size=SMALL)
    assert skipped.status == "skipped" and "still `...`" in skipped.reason


def test_find_and_ratio():
    a = lab.measure_function(TRIAD, written, name="a", size=SMALL, repeat=3)
    b = lab.measure_function(TRIAD, written, name="b", size=SMALL, repeat=3)
    assert lab.find([a, b], "stream.triad", "b") is b
    assert lab.find([a, b], "stream.triad", "b", threads_=2) is None
    assert lab.ratio([a, b], "stream.triad", "a", "b") == pytest.approx(b.timing.median / a.timing.median)
    assert math.isnan(lab.ratio([a], "stream.triad", "a", "missing"))


# --- display, glue, sizes, MPI ---------------------------------------------------------------


def test_table_escapes_html_and_aligns_text():
    table = lab.Table(
        [{"variant": "<b>", "GB/s": "1.00"}, {"variant": "c", "note": "x"}], caption="t", notes=["<n>"]
    )
    html = table._repr_html_()
    assert (
        "&lt;b&gt;" in html and "<b>" not in html and "<caption>t</caption>" in html and "&lt;n&gt;" in html
    )
    assert repr(table).splitlines()[1].split() == ["variant", "GB/s", "note"]
    assert str(table).splitlines()[-1] == "<n>"  # notes under the table


def test_glue_value_passes_plain_numbers_and_is_silent_without_myst_nb(monkeypatch):
    calls = []
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display=True: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    assert lab.glue_value("x", np.float64(1.5)) == 1.5
    assert calls == [("x", 1.5, False)] and type(calls[0][1]) is float
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails: nothing is glued
    assert lab.glue_value("y", 2) == 2
    assert len(calls) == 1


def test_size_for_follows_haiend_size(monkeypatch):
    monkeypatch.setenv("HAIEND_SIZE", "quick")
    assert lab.size_for(TRIAD) == TRIAD.quick_size
    monkeypatch.setenv("HAIEND_SIZE", "full")
    info = {"last_level_cache_bytes": 64 * 2**20, "memory_available_bytes": 64 * 2**30}
    assert lab.size_for(TRIAD, info) == TRIAD.default_size(info) != TRIAD.quick_size


def test_mpi_bench_without_mpiexec_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(machine, "mpiexec_path", lambda: None)
    command, result = lab.mpi_bench("stream.triad", ranks=3)
    assert command == "mpiexec -n 3 python -m haiend bench stream.triad --variants mpi"
    assert isinstance(result, str) and "mpiexec" in result


def test_the_launcher_hides_this_process_rank_variables(monkeypatch):
    seen = {}

    class Job:  # stands in for the launched mpiexec: records how it was started
        def __init__(self, command, **options):
            seen.update(command=command, **options)
            self.returncode = 0

        def communicate(self, timeout=None):
            return "", ""

    monkeypatch.setattr(mpi.subprocess, "Popen", Job)
    monkeypatch.setattr(machine, "mpiexec_path", lambda: "/opt/mpi/bin/mpiexec")
    monkeypatch.setenv("PMI_RANK", "1")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setenv("HAIEND_SIZE", "quick")
    mpi.launch("haiend", 3, ["bench", "stream", "--variants", "mpi"], env={"EXTRA": "1"})
    assert seen["command"][:3] == ["/opt/mpi/bin/mpiexec", "-n", "3"]
    assert seen["command"][-6:] == ["-m", "haiend", "bench", "stream", "--variants", "mpi"]
    assert "PMI_RANK" not in seen["env"] and "OMPI_COMM_WORLD_SIZE" not in seen["env"]
    assert seen["env"]["HAIEND_SIZE"] == "quick" and seen["env"]["EXTRA"] == "1"
    assert seen["start_new_session"]  # so that a job past its time is killed whole


@pytest.mark.mpi
def test_mpi_bench_returns_outcomes_with_their_records():
    command, result = lab.mpi_bench("stream.triad", ranks=2, size=(1009,))
    if isinstance(result, str) and "no mpiexec" in result:
        pytest.skip(result)
    assert command.endswith("--variants mpi --size 1009")
    assert [(o.variant, o.status, o.size) for o in result] == [("mpi", "measured", (1009,))]
    assert result[0].record.ranks == 2 and result[0].check.passed
    assert tables.results(result).rows[0]["threads"] == "2"


FACTOR = 2


def _scaled(x):
    return FACTOR * x


def test_recompiled_replaces_module_level_names():
    from numba import njit

    original = njit(_scaled)
    assert original(5) == 10
    tripled = lab.recompiled(original, FACTOR=3)
    assert tripled is not original and tripled.signatures == []
    assert tripled(5) == 15 and original(5) == 10


def test_unavailable_prints_the_reason(capsys):
    kernel = _kernel_with_extra_variants()
    assert lab.unavailable(kernel, "numpy") is None
    assert lab.unavailable(kernel, "never") == _missing_thing()
    assert _missing_thing() in capsys.readouterr().out


def test_a_book_table_states_once_what_every_row_shares():
    kernel = _kernel_with_extra_variants()
    outcomes = [
        lab.measure_function(kernel, _wrong_triad, name="wrong", size=(1009,), repeat=2),
        bench.Outcome("stream.triad", "never", (1009,), "skipped", "a thing is missing"),
        bench.Outcome("stream.add", "never", (1009,), "skipped", "a thing is missing"),
    ]
    measured = [lab.measure_function(kernel, lambda b, c, s, out: np.add(b, s * c, out=out), name=n,
                                     size=(1009,), repeat=2) for n in ("first", "second")]  # fmt: skip
    table = tables.results([*measured, *outcomes], fold=True)
    assert [row["variant"] for row in table.rows] == ["first", "second"]
    assert "kernel" not in table.rows[0] and "size" not in table.rows[0] and "threads" not in table.rows[0]
    assert table.notes[0] == "Every row: kernel stream.triad, threads 1, size 1009."
    assert any(n.startswith("WRONG: stream.triad/wrong at 1009") for n in table.notes)
    assert table.notes[-1] == "Not run here: never: a thing is missing"  # once, for both kernels
    unfolded = tables.results(measured)
    assert unfolded.rows[0]["size"] == "1009"
    assert [n.split(" ")[0] for n in unfolded.notes] == ["mJ/call"]  # how the energy was found, said once
