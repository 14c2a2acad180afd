"""haiend.io: every layout round-trips, a cold read really reads, the metadata model's arithmetic,
system calls counted, records written, bad input refused, nothing left behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from haiend import cli, io, profile, records
from haiend.errors import HaiendError
from haiend.io import cache, layouts, reading, syscalls
from haiend.io.metadata import DEFAULT_LATENCY_S, MetadataModel, from_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "examples" / "site-profiles"


@pytest.mark.parametrize("name", list(layouts.LAYOUTS))
def test_every_layout_reads_back_what_it_wrote(tmp_path, name):
    layout = layouts.LAYOUTS[name]
    samples = layouts.make_samples(37, 301, seed=3)  # odd sizes: nothing lines up with a block
    written = layout.write(tmp_path, samples)
    assert written and all(p.is_file() for p in written)
    assert layouts.files_of(tmp_path) == sorted(written)
    back = layout.read(tmp_path, 37, 301)
    assert back.dtype == np.uint8 and back.shape == (37, 301)
    np.testing.assert_array_equal(back, samples)
    assert layout.opens_per_read(37) == (37 if name == "files" else 1)


def test_a_wrong_read_is_caught(tmp_path):
    samples = layouts.make_samples(5, 64)
    layouts.LAYOUTS["files"].write(tmp_path, samples)
    (tmp_path / "000003.bin").write_bytes(bytes(64))
    with pytest.raises(HaiendError, match="files layout read back 1 of 5 samples wrong"):
        reading._timed_read(layouts.LAYOUTS["files"], tmp_path, samples)


@pytest.mark.parametrize("n, size", [(0, 10), (10, 0), (-1, 4)])
def test_samples_need_a_positive_count_and_size(n, size):
    with pytest.raises(HaiendError, match="at least 1"):
        layouts.make_samples(n, size)


def test_an_unknown_layout_is_named():
    with pytest.raises(HaiendError, match="unknown layout 'zip'.*files, tar"):
        layouts.chosen(["files", "zip"])


def test_eviction_makes_the_next_read_go_to_the_device(tmp_path):
    if reading.file_system_of(tmp_path) in ("tmpfs", "ramfs"):
        pytest.skip(
            f"{tmp_path} is in memory (tmpfs), so no read goes to a device: set TMPDIR to a disk folder."
        )
    before = cache.io_counters()
    if before is None or "read_bytes" not in before:
        pytest.skip(
            "/proc/self/io is missing (kernel without task I/O accounting), so device reads cannot be seen."
        )
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(4 << 20))
    path.read_bytes()  # warm
    assert cache.evict([path]) == "posix_fadvise"
    start = cache.io_counters()["read_bytes"]
    path.read_bytes()
    cold = cache.io_counters()["read_bytes"] - start
    assert cold >= (4 << 20) * 0.9, f"a read after eviction fetched only {cold} bytes from the device"
    start = cache.io_counters()["read_bytes"]
    path.read_bytes()
    assert cache.io_counters()["read_bytes"] - start < (1 << 20), "a warm read went to the device"


def test_drop_caches_only_when_asked():
    assert cache.method(drop_caches=False) == "posix_fadvise"
    assert cache.method(drop_caches=True) == ("drop_caches" if cache.can_drop_caches() else "posix_fadvise")


def test_the_metadata_model_adds_opens_times_latency():
    model = MetadataModel(1e-3, "a test", "testfs")
    assert model.added_s(2000) == pytest.approx(2.0)
    assert model.predicted_s(0.5, 2000) == pytest.approx(2.5)
    assert model.predicted_s(0.5, 1) == pytest.approx(0.501)
    assert model.slowdown(0.5, 2000) == pytest.approx(5.0)
    with pytest.raises(HaiendError, match="positive"):
        MetadataModel(0.0)
    with pytest.raises(HaiendError, match="negative"):
        model.added_s(-1)


@pytest.mark.parametrize("name", ["generic.toml", "generic.json"])
def test_the_site_profile_gives_the_latency_with_its_source(name):
    model = from_profile(PROFILES / name)
    assert model.latency_s == DEFAULT_LATENCY_S
    assert "mdtest" in model.source and "Lustre" in model.file_system


def test_a_profile_without_io_gets_the_cited_default_and_a_bad_one_a_sentence():
    base = {k: v for k, v in profile._load(PROFILES / "generic.json").items() if k != "io"}
    assert from_profile(profile.validate(base)) == MetadataModel()
    with pytest.raises(HaiendError, match="key 'io' must be a table of metadata_latency_s"):
        profile.validate({**base, "io": {"metadata_latency_s": -1, "metadata_latency_source": "x"}})
    with pytest.raises(HaiendError, match="key 'io'"):
        profile.validate({**base, "io": {"metadata_latency_s": 1e-3}})  # no source


def test_strace_summary_is_parsed():
    text = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 45.00    0.000900           1      2000           openat
 30.00    0.000600           0      4000        12 newfstatat
  0.00    0.000000           0         1           brk
------ ----------- ----------- --------- --------- ----------------
100.00    0.002000           0      6001        12 total
"""
    assert syscalls.parse_summary(text) == {"openat": 2000, "newfstatat": 4000, "brk": 1}
    counts = syscalls.Counts(2000, syscalls.parse_summary(text))
    assert counts.per_sample("openat") == 1.0
    assert counts.metadata_per_sample == 3.0
    assert syscalls.Counts(10, reason="no strace").as_details() == {"counted": False, "reason": "no strace"}


def test_many_files_make_one_open_per_sample_and_a_shard_one_in_all(tmp_path):
    reason = syscalls.unavailable()
    if reason:
        pytest.skip(reason)
    scratch_before = set(Path(tempfile.gettempdir()).glob("haiend-strace-*"))
    samples = layouts.make_samples(60, 128)
    for name in ("files", "tar"):
        (tmp_path / name).mkdir()
        layouts.LAYOUTS[name].write(tmp_path / name, samples)
    files = syscalls.count("files", tmp_path / "files", 60, 128)
    shard = syscalls.count("tar", tmp_path / "tar", 60, 128)
    assert files.per_call.get("openat", 0) + files.per_call.get("open", 0) == 60
    assert shard.per_call.get("openat", 0) + shard.per_call.get("open", 0) == 1
    assert files.total_per_sample > shard.total_per_sample
    assert (
        set(Path(tempfile.gettempdir()).glob("haiend-strace-*")) == scratch_before
    )  # strace's output removed


def test_measure_keeps_checked_records_and_leaves_nothing_behind(tmp_path):
    data, results = tmp_path / "data", tmp_path / "results"
    readings = io.measure(40, 256, folder=data, repeat=2, count_syscalls=False, results_dir=results)
    assert [r.layout for r in readings] == list(layouts.LAYOUTS)
    assert list(data.iterdir()) == []  # the data set's temporary folder is gone
    loaded = records.load(results, kernel=io.KERNEL)
    assert not loaded.problems
    assert sorted(r.variant for r in loaded.records) == sorted(layouts.LAYOUTS)
    for record in loaded.records:
        assert record.size == [40, 256] and record.bytes_moved == 40 * 256
        assert len(record.times) == 2 and len(record.details["cold_times"]) == 2
        assert record.details["eviction"] in ("posix_fadvise", "drop_caches")
        assert record.details["syscalls"] == {
            "counted": False,
            "reason": "system calls were not counted (--no-syscalls).",
        }
        assert io.samples_per_s(record) == pytest.approx(40 / record.median_s)
        assert io.mb_per_s(record, cold=True) == pytest.approx(
            io.samples_per_s(record, cold=True) * 256 / 1e6
        )
    files = io.find(readings, "files")
    assert files.opens == 40 and files.record.details["files"] == 40
    row = io.rows(readings, MetadataModel(1e-3))[0]
    assert float(row["predicted s on PFS"]) == pytest.approx(files.cold_s + 0.04, abs=1e-3)


def test_a_failure_midway_leaves_no_data_set(tmp_path, monkeypatch):
    def broken(folder, samples):
        (folder / "half").write_bytes(b"x")
        raise OSError("disk full")

    monkeypatch.setitem(
        layouts.LAYOUTS,
        "tar",
        layouts.LAYOUTS["tar"].__class__("tar", "broken", broken, layouts.read_tar, lambda n: 1),
    )
    with pytest.raises(OSError):
        io.measure(10, 64, folder=tmp_path / "data", repeat=1, count_syscalls=False, save=False)
    assert list((tmp_path / "data").iterdir()) == []


def _cli(capsys, monkeypatch, *args, results):
    """``haiend io ARGS`` in this process (a subprocess would spend seconds importing): (status, out, err)."""
    monkeypatch.setenv("HAIEND_RESULTS_DIR", str(results))
    status = cli.main(["io", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    "args, says",
    [
        (["--samples", "0"], "--samples must be at least 1, not 0."),
        (["--sample-bytes", "-5"], "--sample-bytes must be at least 1, not -5."),
        (["--layouts", "files,zip"], "unknown layout 'zip'"),
        (["--folder", "{file}/inside"], "cannot be written"),
    ],
)
def test_cli_bad_input_gets_one_sentence_and_exit_2(tmp_path, capsys, monkeypatch, args, says):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = [a.replace("{file}", str(blocker)) for a in args]
    status, _, err = _cli(
        capsys, monkeypatch, "--samples", "5", *args, "--no-syscalls", results=tmp_path / "results"
    )
    assert status == 2
    assert says in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not list(records.record_paths(tmp_path / "results"))  # nothing half-written


def test_cli_measures_and_records(tmp_path, capsys, monkeypatch):
    status, out, err = _cli(
        capsys,
        monkeypatch,
        "--samples",
        "30",
        "--sample-bytes",
        "128",
        "--repeat",
        "1",
        "--no-syscalls",
        "--folder",
        str(tmp_path / "data"),
        "--profile",
        str(PROFILES / "generic.json"),
        results=tmp_path / "results",
    )
    assert status == 0, err
    assert "files" in out and "predicted s on PFS" in out and "0.0005 s" in out
    assert len(records.load(tmp_path / "results", kernel="io.read").records) == 5
    assert list((tmp_path / "data").iterdir()) == []
