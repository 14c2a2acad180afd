"""The pooled results the book's part "Results across machines" is built from (``haiend.catalogue``).

Fifty synthetic machines in four architecture classes check that the tables stay readable (one
summary row per class, one folded table per class); machines built to disagree check that a
change of ranking is marked on both and that a difference inside a machine's drift is not.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
import yaml

from haiend import catalogue, records
from haiend.records import Record
from helpers import triad_record

ROOT = Path(__file__).resolve().parents[1]
CLASSES = {  # simd flags -> the class they name
    ("sse2", "avx", "avx2", "fma", "avx512f"): "x86_64 AVX-512",
    ("sse2", "avx", "avx2", "fma"): "x86_64 AVX2",
    ("sse2", "avx"): "x86_64 AVX",
}


def machine(i: int, simd=("sse2", "avx", "avx2", "fma"), architecture="x86_64") -> dict:
    return {
        "machine_id": f"test-cpu-{i:08x}",
        "cpu_model": f"Test CPU {i}",
        "architecture": architecture,
        "logical_cores": 2,
        "physical_cores": 2,
        "caches": {"L2": 1 << 20, "L3": 32 << 20},
        "simd": list(simd),
        "host": f"anon-{i:012x}",
    }


def run(fp: dict, variant: str, median: float, *, seed: int, **changes) -> Record:
    """A triad record whose roof puts it at 0.9 of the bandwidth, eight times 1 % apart."""
    n = 1 << 20
    roof = {"bandwidth": 24.0 * n / median / 0.9, "peak": 1e11, "threads": 1}
    return triad_record(fp, variant, median, seed=seed, scatter=0.01, count=8, roof=roof, **changes)


CEILINGS = {
    "roofs": {"1": {"bandwidth": 2e10, "peak": 5e10, "bandwidth_source": "triad", "peak_source": "dgemm"}},
    "measured_at": "2026-12-02T09:00:00Z",
    "quick": False,
}


def save_machine(root: Path, site: str, fp: dict, runs: list[Record]) -> None:
    for r in runs:
        records.save(r, root / site)
    records.save_ceilings(fp["machine_id"], {**CEILINGS, "machine_id": fp["machine_id"]}, root / site)


@pytest.fixture
def fifty(tmp_path: Path) -> catalogue.Pool:
    """Fifty machines in three classes, spread over three sites; c always ahead of numpy by 2x."""
    classes = list(CLASSES)
    for i in range(50):
        fp = machine(i, simd=classes[i % 3])
        scale = 1 + i / 50
        save_machine(
            tmp_path,
            f"site-{i % 3}",
            fp,
            [run(fp, "c", 1e-3 * scale, seed=2 * i), run(fp, "numpy", 2e-3 * scale, seed=2 * i + 1)],
        )
    return catalogue.gather(tmp_path, include_own=False)


def test_architecture_class_names_the_widest_vector_extension():
    for simd, name in CLASSES.items():
        assert catalogue.architecture_class({"architecture": "x86_64", "simd": list(simd)}) == name
    assert catalogue.architecture_class({"architecture": "aarch64", "simd": ["asimd"]}) == "aarch64 NEON"
    assert catalogue.architecture_class({}) == "unknown no vector extension known"


def test_fifty_machines_summarise_to_one_row_per_class(fifty):
    assert len(fifty.machines) == 50 and not fifty.problems
    summary = catalogue.summary_table(fifty, "stream.triad")
    assert [row["architecture"] for row in summary.rows] == sorted(CLASSES.values())
    assert sum(int(row["machines"]) for row in summary.rows) == 50
    assert all("[" in row["c"] for row in summary.rows)  # the class's range is given


def test_each_class_table_lists_exactly_its_machines(fifty):
    groups = fifty.by_architecture()
    assert sorted(groups) == sorted(CLASSES.values())
    for group, machines in groups.items():
        table = catalogue.machine_table(fifty, "stream.triad", machines)
        assert {row["machine"] for row in table.rows} == {m.machine_id for m in machines}
        assert all(m.architecture == group for m in machines)
        fractions = catalogue.machine_table(fifty, "stream.triad", machines, value="fraction")
        assert all(float(row["c"]) == pytest.approx(0.9, abs=0.02) for row in fractions.rows)


def test_fifty_machines_agree_so_no_ranking_change_is_marked(fifty):
    found = catalogue.rankings(fifty, "stream.triad")
    assert len(found) == 50
    assert all(r.order == ("c", "numpy") and not r.changed for r in found)


def test_a_pair_ordered_both_ways_beyond_drift_is_marked_on_both_machines(tmp_path):
    a, b, close = machine(1), machine(2), machine(3)
    save_machine(tmp_path, "s", a, [run(a, "numba", 1e-3, seed=1), run(a, "c", 2e-3, seed=2)])
    save_machine(tmp_path, "s", b, [run(b, "numba", 2e-3, seed=3), run(b, "c", 1e-3, seed=4)])
    save_machine(
        tmp_path, "s", close, [run(close, "numba", 1.00e-3, seed=5), run(close, "c", 1.02e-3, seed=6)]
    )
    pool = catalogue.gather(tmp_path, include_own=False)
    by_id = {r.machine_id: r for r in catalogue.rankings(pool, "stream.triad")}
    [flip_a] = by_id[a["machine_id"]].flips
    assert (flip_a.ahead, flip_a.behind, flip_a.reversed_on) == ("numba", "c", (b["machine_id"],))
    assert flip_a.ratio == pytest.approx(2, rel=0.05)
    [flip_b] = by_id[b["machine_id"]].flips
    assert (flip_b.ahead, flip_b.behind) == ("c", "numba")
    within = by_id[close["machine_id"]]  # 2 % apart: inside the 5 % floor of drift, so not ordered
    assert not within.flips and within.ties == (True,) and str(within) == "numba ~ c"
    table = catalogue.ranking_table(pool, "stream.triad")
    marked = {row["machine"] for row in table.rows if row["changes between machines"]}
    assert marked == {a["machine_id"], b["machine_id"]}


def test_ranks_are_a_column_of_their_own(tmp_path):
    fp = machine(1)
    save_machine(tmp_path, "s", fp, [run(fp, "mpi", 1e-3, seed=1, ranks=2), run(fp, "c", 2e-3, seed=2)])
    table = catalogue.cells(catalogue.gather(tmp_path, include_own=False), "stream.triad")
    assert set(table[fp["machine_id"]]) == {"mpi (2 ranks)", "c"}


def test_runs_at_more_threads_stay_out_of_the_one_thread_tables(tmp_path):
    fp = machine(1)
    save_machine(tmp_path, "s", fp, [run(fp, "c", 2e-3, seed=1), run(fp, "c", 1e-3, seed=2, threads=2)])
    pool = catalogue.gather(tmp_path, include_own=False)
    [cell] = catalogue.cells(pool, "stream.triad")[fp["machine_id"]].values()
    assert cell.runs == 1 and cell.merit == pytest.approx(24 * (1 << 20) / 2e-3 / 1e9, rel=0.02)
    assert catalogue.cells(pool, "stream.triad", threads=2)[fp["machine_id"]]["c"].runs == 1


def test_own_records_join_the_pool_once_and_a_corrupt_file_is_named(tmp_path):
    fp = machine(1)
    shared = run(fp, "c", 1e-3, seed=1)
    save_machine(tmp_path / "catalogue", "site-a", fp, [shared])
    own = tmp_path / "own"
    records.save(shared, own)  # also in the catalogue: counted once
    records.save(run(fp, "numpy", 2e-3, seed=2), own)
    bad = own / fp["machine_id"] / "stream.triad" / "broken.json"
    bad.write_text("{not json", encoding="utf-8")
    pool = catalogue.gather(tmp_path / "catalogue", own)
    [m] = pool.machines.values()
    assert len(m.records) == 2 and pool.own_records == 1
    assert m.sites == ("site-a", catalogue.OWN_SITE)
    assert [path for path, _ in pool.problems] == [bad]


def test_gathering_makes_no_network_request(fifty, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the catalogue reached for the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    pool = catalogue.gather(ROOT / "results", tmp_path / "nothing")
    for kernel in catalogue.kernels_measured(pool):
        catalogue.summary_table(pool, kernel), catalogue.ranking_table(pool, kernel)
    catalogue.write_machine_pages(pool, tmp_path / "pages")


def test_one_page_per_machine_with_fingerprint_ceilings_and_site(fifty, tmp_path):
    folder = tmp_path / "pages"
    stale = folder / "gone_machine.md"
    folder.mkdir()
    stale.write_text("# a machine no longer pooled\n", encoding="utf-8")
    written = catalogue.write_machine_pages(fifty, folder)
    assert len(written) == 50 and not stale.exists()
    assert sorted(folder.glob("*.md")) == written
    page = (folder / f"{fifty.machines['test-cpu-00000000'].page_name}.md").read_text(encoding="utf-8")
    assert page.startswith("# test-cpu-00000000\n")
    for heading in ("## Fingerprint", "## Ceilings", "## What it measured"):
        assert heading in page
    assert "site `site-0`" in page and "anon-000000000000" in page and "| 1 | 20.0 | 50.0 |" in page
    classes = [p.name.split("_")[0] for p in written]  # pages sort by class: one run of names each
    runs = [c for i, c in enumerate(classes) if i == 0 or c != classes[i - 1]]
    assert sorted(runs) == sorted({"x86-64-avx", "x86-64-avx2", "x86-64-avx-512"})


def test_a_bar_in_a_fingerprint_does_not_break_the_page_table(tmp_path):
    fp = machine(1) | {"c_compiler": "gcc | clang"}
    save_machine(tmp_path, "s", fp, [run(fp, "c", 1e-3, seed=1)])
    page = catalogue.machine_page(catalogue.gather(tmp_path, include_own=False).machines[fp["machine_id"]])
    assert "| C compiler | gcc \\| clang |" in page


def test_the_book_builds_the_machine_pages_from_the_catalogue(tmp_path, monkeypatch):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    part = next(p for p in toc["parts"] if p["caption"] == "Results across machines")
    files = [c.get("file") for c in part["chapters"]]
    assert "notebooks/results_across_machines" in files and "notebooks/results_findings" in files
    chapter = next(c for c in part["chapters"] if c.get("file") == "book/results/machines")
    assert chapter["sections"] == [{"glob": (catalogue.PAGE_FOLDER / "*").as_posix()}]
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["local_extensions"]["machine_pages"] == "book/_ext"
    assert (catalogue.PAGE_FOLDER.as_posix() + "/") in (ROOT / ".gitignore").read_text(encoding="utf-8")

    # the extension's hook, on a copy of the catalogue
    (tmp_path / "results").symlink_to(ROOT / "results")
    monkeypatch.setenv(records.ENV_RESULTS_DIR, str(tmp_path / "own"))
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    sys.modules.pop("machine_pages", None)
    import machine_pages

    machine_pages.write_pages(type("App", (), {"srcdir": str(tmp_path)})())
    pages = sorted((tmp_path / catalogue.PAGE_FOLDER).glob("*.md"))
    machines = {json.loads(p.read_text())["machine_id"] for p in (ROOT / "results").glob("*/*/machine.json")}
    assert len(pages) == len(machines) >= 2
    assert {p.stem.split("_")[-1] for p in pages} == machines


def test_a_ranking_by_energy_orders_by_joules_per_call(tmp_path):
    fp = machine(1)
    runs = [run(fp, "numba", 1e-3, seed=1), run(fp, "c", 2e-3, seed=2), run(fp, "numpy", 3e-3, seed=3)]
    joules = {"numba": 0.9, "c": 0.3}  # numpy recorded none: it is left out of the energy ranking
    for r in runs:
        if r.variant in joules:
            r.energy.update(
                method="measured",
                scope="test",
                source="test",
                seconds=1.0,
                joules=joules[r.variant] * 10,
                cpu_seconds=1.0,
                calls=10,
                parts={},
                assumptions=[],
                reason="",
                idle={"method": "measured", "watts": 5.0, "seconds": 0.5},
                intensity={
                    "g_per_kwh": 207.05,
                    "source": "test",
                    "year": 2024,
                    "pue": 1.0,
                    "pue_source": "test",
                },
            )
    save_machine(tmp_path, "s", fp, runs)
    pool = catalogue.gather(tmp_path, include_own=False)
    [ranking] = catalogue.rankings(pool, "stream.triad", by="energy")
    assert ranking.order == ("c", "numba")
    [by_time] = catalogue.rankings(pool, "stream.triad")
    assert by_time.order == ("numba", "c", "numpy")
    table = catalogue.ranking_table(pool, "stream.triad", by="energy")
    assert table.rows[0]["energy"] == "measured" and "most frugal first" in table.caption
