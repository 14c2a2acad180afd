"""Result files: round trips, atomic writes, and every unreadable file reported by name."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import pytest

from haiend import atomic, records
from haiend.errors import HaiendError
from haiend.records import Record, schemas

TEST_MACHINE = {
    "machine_id": "test-cpu-0123abcd",
    "cpu_model": "Test CPU",
    "architecture": "x86_64",
    "logical_cores": 2,
    "caches": {"L1d": 32768, "L2": 1048576, "L3": 33554432},
    "simd": ["sse2", "avx2", "fma"],
    "hostname": "testhost",
}


def make_record(**changes):
    values = dict(
        kernel="stream.triad",
        variant="numpy",
        size=[1000],
        dtype="float64",
        threads=2,
        times=[1e-3, 2e-3, 3e-3],
        warmup_times=[4e-3],
        cold_time=0.5,
        batch=1,
        clock="perf_counter",
        bytes_moved=24000.0,
        flops=2000.0,
        roof={"bandwidth": 1e10, "peak": 1e11, "threads": 2},
        error=0.0,
        tolerance=1e-14,
        correct=True,
        machine_id="test-cpu-0123abcd",
        machine=TEST_MACHINE,
        details={"summary": "test"},
        haiend_version="0.1.0",
    )
    values.update(changes)
    return Record(**values)


def files_under(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


# -- round trip and layout ----------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    record = make_record()
    path = records.save(record, tmp_path)
    assert path.parent == tmp_path / "test-cpu-0123abcd" / "stream.triad"
    assert path.name.endswith("_numpy_1000_2t.json")
    machine = json.loads((tmp_path / "test-cpu-0123abcd" / "machine.json").read_text())
    assert machine == {"schema_version": schemas.CURRENT["machine"], **record.machine}
    loaded = records.load(tmp_path)
    assert loaded.problems == []
    assert loaded.records == [record]
    assert loaded.records[0].intensity == pytest.approx(2000 / 24000)


def test_save_uses_the_results_dir_from_the_environment(isolated_dirs):
    path = records.save(make_record())
    assert path.is_relative_to(isolated_dirs)
    assert records.results_dir() == isolated_dirs
    assert len(records.load().records) == 1


def test_a_current_file_with_an_unknown_field_is_refused_by_name():
    """Version 2 is strict: a field this haiend does not know means a newer format, not noise."""
    data = make_record().to_dict()
    data["added_by_a_later_version"] = 1
    with pytest.raises(ValueError, match="added_by_a_later_version"):
        Record.from_dict(data)


def test_statistics_are_computed_from_the_times_not_read_from_the_file():
    data = make_record().to_dict(derived=True)
    assert data["median_s"] == pytest.approx(2e-3) and data["gb_per_s"] == pytest.approx(24000 / 2e-3 / 1e9)
    data |= {"median_s": 99.0, "gb_per_s": 1e6}  # what --json printed, tampered with
    record = Record.from_dict(data)
    assert record.median_s == pytest.approx(2e-3) and record.gb_per_s == pytest.approx(12.0 / 1000)
    assert record.fraction_of_roof == pytest.approx(12e-3 / 10)  # memory bound: 0.012 GB/s of 10 GB/s


def test_records_are_sorted_oldest_first(tmp_path):
    new = make_record(timestamp="2030-01-01T00:00:00.000000Z", variant="numba")
    old = make_record(timestamp="2020-01-01T00:00:00.000000Z", variant="c")
    records.save(new, tmp_path)
    records.save(old, tmp_path)
    assert [r.variant for r in records.load(tmp_path).records] == ["c", "numba"]


# -- atomic writes ------------------------------------------------------------------------------


def test_atomic_write_leaves_only_the_target(tmp_path):
    target = tmp_path / "sub" / "data.json"
    assert atomic.write_json(target, {"a": [1, 2.5, float("inf")]}) == target
    assert files_under(tmp_path) == ["sub/data.json"]
    assert json.loads(target.read_text()) == {"a": [1, 2.5, float("inf")]}


def test_failing_dump_leaves_neither_target_nor_temp_file(tmp_path):
    target = tmp_path / "data.json"
    with pytest.raises(TypeError):  # json.dump writes the first keys, then meets the object
        atomic.write_json(target, {"a": list(range(1000)), "z": object()})
    assert files_under(tmp_path) == []


def test_failing_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "data.json"
    atomic.write_json(target, {"version": 1})
    with pytest.raises(OSError, match="disk full"), atomic.replacing(target) as tmp:
        tmp.write_text('{"version": ')  # half written, then the disk fills up
        raise OSError("disk full")
    assert files_under(tmp_path) == ["data.json"]
    assert json.loads(target.read_text()) == {"version": 1}


def test_replacing_sets_the_mode_and_creates_the_folder(tmp_path):
    target = tmp_path / "new" / "script.sh"
    atomic.write_text(target, "#!/bin/sh\n", mode=0o755)
    assert target.read_text() == "#!/bin/sh\n" and files_under(tmp_path) == ["new/script.sh"]
    assert target.stat().st_mode & 0o100  # executable by its owner (the umask may clear group bits)


def test_writer_killed_mid_write_leaves_no_partial_file(tmp_path):
    """SIGKILL (no cleanup can run) while a large record is being written: readers see no file."""
    records.save(make_record(variant="good"), tmp_path)
    folder = tmp_path / "test-cpu-0123abcd" / "stream.triad"
    target = folder / "huge.json"
    writer = textwrap.dedent(
        f"""
        from pathlib import Path
        from haiend import atomic
        # about 300 MB of JSON text: far longer to write than the test waits
        atomic.write_json(Path({str(target)!r}), {{"times": ["x" * 1000] * 300_000}})
        """
    )
    process = subprocess.Popen([sys.executable, "-c", writer])
    try:
        deadline = time.monotonic() + 60
        while True:
            temps = [p for p in folder.glob(".huge.json.*.tmp") if p.stat().st_size > 0]
            if temps or process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the writer ended before it could be killed: make the object larger"
        assert temps, "the writer never started writing its temporary file"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not target.exists()
    assert [p.name for p in folder.glob("*.json") if p.name.startswith("huge")] == []
    loaded = records.load(tmp_path)
    assert loaded.problems == []
    assert [r.variant for r in loaded.records] == ["good"]
    for temp in folder.glob(".huge.json.*"):
        temp.unlink()  # a killed writer cannot clean up; do not leave hundreds of MB behind


# -- unreadable files are reported by name, the rest still load ---------------------------------


def test_every_unreadable_file_is_named_and_the_good_ones_load(tmp_path):
    good = make_record()
    records.save(good, tmp_path)
    folder = tmp_path / "test-cpu-0123abcd" / "stream.triad"
    (folder / "corrupt.json").write_text('{"kernel": "stream.tri')
    (folder / "list.json").write_text("[1, 2, 3]")
    (folder / "missing.json").write_text(json.dumps({"schema_version": 1, "kernel": "stream.triad"}))
    future = make_record().to_dict() | {"schema_version": records.SCHEMA_VERSION + 1}
    (folder / "future.json").write_text(json.dumps(future))
    (folder / "unversioned.json").write_text(json.dumps({"kernel": "stream.triad"}))

    loaded = records.load(tmp_path)
    assert loaded.records == [good]
    problems = {path.name: why for path, why in loaded.problems}
    assert set(problems) == {"corrupt.json", "list.json", "missing.json", "future.json", "unversioned.json"}
    assert all(path.parent == folder for path, _ in loaded.problems)
    assert "not valid JSON" in problems["corrupt.json"]
    assert "not a JSON object" in problems["list.json"]
    assert "required property" in problems["missing.json"] and "variant" in problems["missing.json"]
    assert "newer" in problems["future.json"] and str(records.SCHEMA_VERSION + 1) in problems["future.json"]
    assert "schema_version" in problems["unversioned.json"]
    with pytest.raises(HaiendError, match="corrupt.json|list.json|missing.json|future.json"):
        loaded.raise_if_problems()


def test_no_problems_means_raise_if_problems_is_silent(tmp_path):
    record = make_record()
    records.save(record, tmp_path)
    loaded = records.load(tmp_path)
    assert loaded.problems == [] and loaded.records == [record]
    assert loaded.raise_if_problems() is None  # returns quietly: nothing to report


def test_load_of_a_missing_folder_is_empty(tmp_path):
    loaded = records.load(tmp_path / "nothing-here")
    assert loaded.records == [] and loaded.problems == []


def test_load_filters_by_kernel_and_machine(tmp_path):
    triad_a = make_record()
    copy_a = make_record(kernel="stream.copy")
    A, B = "test-cpu-0123abcd", "other-cpu-99999999"
    triad_b = make_record(machine_id=B, machine=TEST_MACHINE | {"machine_id": B})
    stencil_b = replace(triad_b, kernel="stencil2d")
    for record in (triad_a, copy_a, triad_b, stencil_b):
        records.save(record, tmp_path)

    def found(**filters):
        return sorted((r.machine_id, r.kernel) for r in records.load(tmp_path, **filters).records)

    assert len(found()) == 4
    assert found(kernel="stream.triad") == [(B, "stream.triad"), (A, "stream.triad")]
    # a group name matches its members
    assert found(kernel="stream") == [(B, "stream.triad"), (A, "stream.copy"), (A, "stream.triad")]
    assert found(kernel="stre") == []  # a prefix that is not a group matches nothing
    assert found(machine_id=B) == [(B, "stencil2d"), (B, "stream.triad")]
    assert found(kernel="stencil2d", machine_id=A) == []


# -- an unwritable results folder ---------------------------------------------------------------


def test_save_under_a_regular_file_raises_haiend_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(HaiendError, match="cannot be written") as raised:
        records.save(make_record(), blocker / "sub")
    assert str(blocker / "sub") in str(raised.value)
    assert "--results-dir" in str(raised.value)
    assert files_under(tmp_path) == ["file"]


def test_save_into_a_read_only_folder_raises_haiend_error(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    try:
        try:
            (folder / "probe").write_text("")
        except PermissionError:
            pass
        else:
            pytest.skip(
                "a mode-0o500 folder is writable here (running as root); "
                "test_save_under_a_regular_file_raises_haiend_error covers an unwritable folder"
            )
        with pytest.raises(HaiendError, match="cannot be written"):
            records.save(make_record(), folder)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_ensure_writable_creates_the_folder_and_leaves_no_probe(tmp_path):
    folder = tmp_path / "a" / "b"
    assert records.ensure_writable(folder) == folder
    assert folder.is_dir() and list(folder.iterdir()) == []


# -- ceilings -----------------------------------------------------------------------------------


def test_ceilings_round_trip(tmp_path):
    data = {
        "machine_id": "m-1",
        "roofs": {"1": {"bandwidth": 1e10, "peak": 5e10}},
        "quick": True,
        "measured_at": "2026-12-02T00:00:00.000000Z",
    }
    path = records.save_ceilings("m-1", data, tmp_path)
    assert path == tmp_path / "m-1" / "ceilings.json"
    assert records.load_ceilings("m-1", tmp_path) == {"schema_version": schemas.CURRENT["ceilings"], **data}
    assert records.load_ceilings("another-machine", tmp_path) is None


@pytest.mark.parametrize(
    "text",
    ['{"roofs": ', "{}", json.dumps({"schema_version": schemas.CURRENT["ceilings"] + 1})],
    ids=["truncated", "unversioned", "future"],
)
def test_unreadable_ceilings_raise_haiend_error_naming_the_file(tmp_path, text):
    path = tmp_path / "m-1" / "ceilings.json"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(HaiendError) as raised:
        records.load_ceilings("m-1", tmp_path)
    assert str(path) in str(raised.value)
    assert "--remeasure" in str(raised.value)
