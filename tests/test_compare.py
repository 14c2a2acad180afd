"""``haiend results compare``: runs, variants and machines, with the difference judged against the noise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from haiend import compare, records
from haiend.errors import HaiendError
from haiend.records import Record
from helpers import triad_record

CATALOGUE = Path(__file__).resolve().parents[1] / "results"
MACHINE = {
    "machine_id": "test-cpu-0123abcd",
    "cpu_model": "Test CPU",
    "architecture": "x86_64",
    "logical_cores": 2,
    "caches": {"L2": 1048576},
    "simd": ["avx2"],
}


def run(variant: str, median: float, *, seed: int, machine: dict = MACHINE, **changes) -> Record:
    """A record of the triad whose ten times scatter by about 2 % around ``median``."""
    return triad_record(machine, variant, median, seed=seed, **changes)


def haiend(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "haiend", *args], capture_output=True, text=True)


def test_two_runs_of_one_variant_a_little_apart_are_noise(tmp_path):
    first, second = run("numba", 1.00e-3, seed=1), run("numba", 1.02e-3, seed=2)
    paths = [records.save(r, tmp_path) for r in (first, second)]
    [row] = compare.compare(compare.select(str(paths[0]), []), compare.select(str(paths[1]), []))
    assert row.comparison.verdict == "noise" and row.metric == "time"


def test_a_variant_twice_as_fast_is_not_noise(tmp_path):
    pool = [run("numba", 1e-3, seed=1), run("numpy", 2e-3, seed=2)]
    [row] = compare.compare(
        compare.select("stream.triad:numba", pool), compare.select("stream.triad:numpy", pool)
    )
    assert row.comparison.verdict == "faster" and row.comparison.ratio == pytest.approx(2, rel=0.05)


def test_two_machines_at_different_sizes_are_compared_by_the_figure_of_merit():
    other = MACHINE | {"machine_id": "other-cpu-99999999"}
    pool = [run("c", 1e-3, seed=1), run("c", 4e-3, seed=2, n=1 << 21, machine=other)]
    [row] = compare.compare(compare.select("test-cpu", pool), compare.select("other-cpu", pool))
    assert row.metric == "gb_per_s"  # the triad's figure of merit, from its specification
    assert row.comparison.ratio == pytest.approx(
        2, rel=0.05
    )  # same GB/s would be 1: twice the bytes in 4x time


def test_runs_of_one_key_are_pooled():
    pool = [run("c", 1e-3, seed=s) for s in range(3)] + [run("numpy", 1.5e-3, seed=9)]
    [row] = compare.compare(
        compare.select("stream.triad:c", pool), compare.select("stream.triad:numpy", pool)
    )
    assert (row.comparison.runs_a, row.comparison.runs_b) == (3, 1)


@pytest.mark.parametrize(
    "a, b, message",
    [
        ("nosuch-machine", "test-cpu", "names no machine"),
        ("stream.triad:cuda", "stream.triad:c", "no records of stream.triad:cuda"),
        ("missing.json", "stream.triad:c", "is not a file"),
        ("test-cpu", "stream.triad:c", "compare a machine with a machine"),
    ],
)
def test_what_cannot_be_compared_is_one_sentence(a, b, message):
    pool = [run("c", 1e-3, seed=1)]
    with pytest.raises(HaiendError, match=message):
        compare.compare(compare.select(a, pool), compare.select(b, pool))


def test_the_command_prints_the_verdict_and_json(tmp_path):
    for record in (run("numba", 1e-3, seed=1), run("numpy", 2e-3, seed=2)):
        records.save(record, tmp_path)
    args = ("results", "compare", "stream.triad:numba", "stream.triad:numpy", "--results-dir", str(tmp_path))
    done = haiend(*args)
    assert done.returncode == 0, done.stderr
    assert "times as fast as" in done.stdout and "A faster" in done.stdout
    data = json.loads(haiend(*args, "--json").stdout)
    assert data["comparisons"][0]["verdict"] == "faster"
    done = haiend("results", "compare", "x", "y", "--results-dir", str(tmp_path))
    assert (
        done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    )


# -- on the committed catalogue: what the "done when" asks -------------------------------


def _catalogue_triads():
    loaded = records.load(CATALOGUE, kernel="stream.triad")
    by_key = {}
    for record in loaded.records:
        if record.threads == 1 and record.ranks == 1:
            by_key.setdefault((record.machine_id, record.variant, tuple(record.size)), []).append(record)
    return by_key


def test_on_the_catalogue_two_runs_of_one_variant_are_noise():
    pairs = [runs[:2] for runs in _catalogue_triads().values() if len(runs) >= 2]
    assert pairs, "the catalogue holds no machine with two runs of one triad variant"
    for first, second in pairs:
        [row] = compare.compare(
            compare.Side("first", (first,), "run"), compare.Side("second", (second,), "run")
        )
        assert row.comparison.verdict == "noise", (first.machine_id, first.variant, str(row.comparison))


def test_on_the_catalogue_numba_against_numpy_triad_is_not_noise():
    by_key = _catalogue_triads()
    machines = {m for (m, v, _) in by_key if v == "numba"} & {m for (m, v, _) in by_key if v == "numpy"}
    assert machines
    for machine in machines:
        pool = [r for (m, _, _), runs in by_key.items() if m == machine for r in runs]
        [row] = compare.compare(
            compare.select(f"stream.triad:numba@{machine}", pool),
            compare.select(f"stream.triad:numpy@{machine}", pool),
        )
        assert row.comparison.verdict != "noise", (machine, str(row.comparison))


def test_a_run_that_started_on_a_busy_machine_is_noted():
    quiet = run("c", 1e-3, seed=1, run={"load_average": [1.9, 1.0, 0.5], "runnable_at_start": 0})
    shared = run("numpy", 2e-3, seed=2, run={"load_average": [0.1, 0.1, 0.1], "runnable_at_start": 2})
    [row] = compare.compare(compare.Side("a", (quiet,), "run"), compare.Side("b", (shared,), "run"))
    [note] = [n for n in row.notes if "started while" in n]
    assert "numpy" in note and "2 other process(es) were running on 2 cores" in note


def energy_of(joules: float, method: str = "measured", calls: int = 10) -> dict:
    return {
        "method": method,
        "scope": "test",
        "source": "test",
        "seconds": 1.0,
        "joules": joules * calls,
        "cpu_seconds": 1.0,
        "calls": calls,
        "parts": {},
        "assumptions": [],
        "reason": "",
        "idle": {"method": method, "watts": 5.0, "seconds": 0.5},
        "intensity": {"g_per_kwh": 207.05, "source": "test", "year": 2024, "pue": 1.0, "pue_source": "test"},
    }


def test_by_energy_compares_joules_per_call_and_says_so():
    pool = [
        run("numba", 1e-3, seed=1, energy=energy_of(0.5)),
        run("numba", 1e-3, seed=2, energy=energy_of(0.52)),
        run("numpy", 2e-3, seed=3, energy=energy_of(1.5)),
        run("numpy", 2e-3, seed=4, energy=energy_of(1.45)),
    ]
    a, b = compare.select("stream.triad:numba", pool), compare.select("stream.triad:numpy", pool)
    [row] = compare.compare(a, b, by="energy")
    assert row.metric == "energy" and row.comparison.ratio == pytest.approx(1.47 / 0.51, rel=0.05)
    assert row.comparison.verdict == "faster" and "used less energy" in compare.sentence(row)
    assert "A used less energy per call" in compare.table([row], a, b).caption


def test_by_energy_notes_an_estimate_against_a_measurement_and_refuses_a_run_without_energy():
    pool = [
        run("numba", 1e-3, seed=1, energy=energy_of(0.5)),
        run("c", 1e-3, seed=2, energy=energy_of(0.5, "estimated")),
    ]
    [row] = compare.compare(
        compare.select("stream.triad:numba", pool), compare.select("stream.triad:c", pool), by="energy"
    )
    assert row.comparison.verdict == "noise" and any("found out differently" in n for n in row.notes)
    old = [run("numba", 1e-3, seed=1), run("c", 1e-3, seed=2)]
    with pytest.raises(HaiendError, match="has no energy to compare"):
        compare.compare(
            compare.select("stream.triad:numba", old), compare.select("stream.triad:c", old), by="energy"
        )
