"""Write the samples in every layout, check each read, time it cold and warm, count its system
calls, and keep it all as records.

Every layout is read back and compared byte for byte with the written samples before any timing
(correct before fast); every timed read is compared too. A *cold* read follows the eviction of its
files (:mod:`haiend.io.cache`), a *warm* one follows an untimed read that left them cached. The raw
seconds are kept; samples/s and MB/s are derived from them on reading (:func:`samples_per_s`).

Records: one per layout, kernel ``io.read``, variant the layout's name, size ``[n, sample_bytes]``,
``times`` the warm reads, ``cold_time`` the first cold read; ``details`` keeps every cold time, how
the files were evicted, the files and opens of a read, the file system, and the system-call counts
(the record schema allows any ``details``, so the schema is unchanged). ``bytes_moved`` is the
bytes of the samples; nothing is computed, so ``flops`` is 0 and ``roof`` empty.

The data set lives in a fresh temporary folder inside the folder given (default: the system's
temporary folder), removed afterwards whatever happens, so nothing half-written is left behind.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from haiend import __version__, machine, records, sizes
from haiend.errors import HaiendError
from haiend.io import cache, layouts, syscalls
from haiend.io.metadata import MetadataModel

KERNEL = "io.read"
QUICK_SIZE = (2000, 4096)  # 2,000 samples of 4 KiB: a quick read is well under a second per layout
FULL_SAMPLE_BYTES = 16384
FULL_MAX_SAMPLES = 100_000
REPEAT = 3


def default_size(info: dict[str, Any] | None = None) -> tuple[int, int]:
    """The size ``HAIEND_SIZE`` asks for: the quick size, or with ``full`` samples of 16 KiB, as many as
    make an eighth of the available memory (the samples, their read-back copy and the page cache's copy
    must all fit, or warm reads are not warm), at least the quick count and at most 100,000."""
    if sizes.quick():
        return QUICK_SIZE
    info = info if info is not None else machine.describe()
    available = int(info.get("memory_available_bytes") or 0)
    n = available // 8 // FULL_SAMPLE_BYTES
    return (max(QUICK_SIZE[0], min(FULL_MAX_SAMPLES, n)), FULL_SAMPLE_BYTES)


def file_system_of(path: Path) -> str:
    """The type of the file system ``path`` is on (ext4, xfs, tmpfs, lustre ...), from /proc/mounts."""
    try:
        mounts = [line.split()[:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    path = str(path.resolve())
    best = ("", "unknown")
    for _, point, kind in mounts:
        point = point.replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, kind)
    return best[1]


@dataclass(frozen=True)
class Reading:
    """One layout, measured (``record`` set) or not (``reason`` says why)."""

    layout: str
    record: records.Record | None = None
    reason: str = ""
    counts: syscalls.Counts | None = field(default=None, compare=False)

    @property
    def measured(self) -> bool:
        return self.record is not None

    @property
    def cold_times(self) -> list[float]:
        return list(self.record.details["cold_times"])

    @property
    def cold_s(self) -> float:
        """Median seconds of a cold read of all N samples."""
        return float(statistics.median(self.cold_times))

    @property
    def warm_s(self) -> float:
        """Median seconds of a warm read of all N samples."""
        return self.record.median_s

    @property
    def opens(self) -> int:
        return int(self.record.details["opens"])


def samples_per_s(record: records.Record, *, cold: bool = False) -> float:
    """Samples read per second, from the median of the cold or warm times."""
    seconds = statistics.median(record.details["cold_times"]) if cold else record.median_s
    return record.size[0] / seconds


def mb_per_s(record: records.Record, *, cold: bool = False) -> float:
    """MB (10^6 bytes) of samples read per second, from the median of the cold or warm times."""
    return samples_per_s(record, cold=cold) * record.size[1] / 1e6


def counts_of(record: records.Record) -> syscalls.Counts:
    """The system-call counts a record keeps (``reason`` set when there were none)."""
    kept = record.details.get("syscalls") or {"counted": False, "reason": "not counted"}
    if not kept.get("counted"):
        return syscalls.Counts(record.size[0], reason=kept.get("reason", "not counted"))
    return syscalls.Counts(record.size[0], dict(kept["per_read"]))


def _prepare(parent: Path, n: int, sample_bytes: int, count: int) -> Path:
    """A fresh folder for the data set inside ``parent``; an error (one sentence) if it cannot be."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="haiend-io-", dir=parent))
    except OSError as exc:
        raise HaiendError(
            f"the folder {parent} cannot be written ({exc.strerror or exc}): choose another."
        ) from None
    need = n * sample_bytes * count * 1.2 + (1 << 20) * count
    free = shutil.disk_usage(scratch).free
    if free < need:
        shutil.rmtree(scratch, ignore_errors=True)
        raise HaiendError(
            f"the folder {parent} has {free / 1e6:.0f} MB free and the layouts need about {need / 1e6:.0f} MB:"
            " choose a smaller size or another folder."
        )
    return scratch


def _timed_read(layout: layouts.Layout, folder: Path, samples: np.ndarray) -> float:
    n, sample_bytes = samples.shape
    start = time.perf_counter()
    out = layout.read(folder, n, sample_bytes)
    seconds = time.perf_counter() - start
    if not np.array_equal(out, samples):
        wrong = int(np.count_nonzero((out != samples).any(axis=1)))
        raise HaiendError(f"the {layout.name} layout read back {wrong} of {n} samples wrong.")
    return seconds


def measure_layout(
    layout: layouts.Layout,
    scratch: Path,
    samples: np.ndarray,
    *,
    repeat: int,
    drop_caches: bool,
    count_syscalls: bool,
    info: dict[str, Any],
    run: dict[str, Any],
) -> Reading:
    """Write ``samples`` in one layout, check a read, time it cold and warm, count its calls."""
    missing = layout.available()
    if missing:
        return Reading(layout.name, reason=missing)
    n, sample_bytes = samples.shape
    folder = scratch / layout.name
    folder.mkdir()
    written = layout.write(folder, samples)
    cache.evict(written)  # fsync: everything is on the device before anything is timed
    _timed_read(layout, folder, samples)  # correct before fast: a wrong read raises, untimed
    cold, how = [], ""
    for _ in range(repeat):
        how = cache.evict(written, drop_caches=drop_caches)
        cold.append(_timed_read(layout, folder, samples))
    warmup = _timed_read(layout, folder, samples)
    warm = [_timed_read(layout, folder, samples) for _ in range(repeat)]
    counts = (
        syscalls.count(layout.name, folder, n, sample_bytes)
        if count_syscalls
        else syscalls.Counts(n, reason="system calls were not counted (--no-syscalls).")
    )
    record = records.Record(
        kernel=KERNEL,
        variant=layout.name,
        size=[n, sample_bytes],
        dtype="uint8",
        threads=1,
        times=warm,
        warmup_times=[warmup],
        cold_time=cold[0],
        batch=1,
        clock="perf_counter",
        bytes_moved=float(samples.nbytes),
        flops=0.0,
        roof={},
        error=0.0,  # every read was compared byte for byte
        tolerance=0.0,
        machine_id=info["machine_id"],
        machine=info,
        details={
            "summary": layout.summary,
            "kind": "io",
            "cold_times": cold,
            "eviction": how,
            "files": len(written),
            "opens": layout.opens_per_read(n),
            "bytes_on_disk": sum(p.stat().st_size for p in written),
            "file_system": file_system_of(folder),
            "syscalls": counts.as_details(),
        },
        run=run,
        haiend_version=__version__,
    )
    return Reading(layout.name, record, counts=counts)


def measure(
    n: int | None = None,
    sample_bytes: int | None = None,
    *,
    folder: str | os.PathLike[str] | None = None,
    layout_names: list[str] | None = None,
    repeat: int = REPEAT,
    drop_caches: bool = False,
    count_syscalls: bool = True,
    save: bool = True,
    results_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    command: str | None = None,
) -> list[Reading]:
    """Measure every layout (or those named) at ``n`` samples of ``sample_bytes`` (default: the size
    ``HAIEND_SIZE`` asks for); records saved unless ``save=False``. Bad input raises HaiendError before
    anything is written."""
    info = machine.describe()
    default_n, default_bytes = default_size(info)
    n = default_n if n is None else int(n)
    sample_bytes = default_bytes if sample_bytes is None else int(sample_bytes)
    if repeat < 1:
        raise HaiendError(f"the number of repeats must be at least 1, not {repeat}.")
    chosen = layouts.chosen(layout_names)
    samples = layouts.make_samples(n, sample_bytes, seed)
    if save:
        records.ensure_writable(records.results_dir(results_dir))
    parent = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    scratch = _prepare(parent, n, sample_bytes, len(chosen))
    run = records.run_context(command)
    try:
        readings = [
            measure_layout(
                layout,
                scratch,
                samples,
                repeat=repeat,
                drop_caches=drop_caches,
                count_syscalls=count_syscalls,
                info=info,
                run=run,
            )
            for layout in chosen
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if save:
        for reading in readings:
            if reading.record is not None:
                records.save(reading.record, results_dir)
    return readings


def find(readings: list[Reading], layout: str) -> Reading:
    """The measured reading of ``layout``; an error naming why it is missing."""
    for reading in readings:
        if reading.layout == layout:
            if not reading.measured:
                raise HaiendError(f"the {layout} layout was not measured: {reading.reason}")
            return reading
    raise HaiendError(f"the {layout} layout was not measured.")


def rows(readings: list[Reading], model: MetadataModel) -> list[dict[str, Any]]:
    """One row per layout: files, opens, cold and warm seconds and rates, calls per sample, and the
    time the metadata model predicts on the parallel file system (cold read + opens x latency)."""
    table = []
    for reading in readings:
        if not reading.measured:
            table.append({"layout": reading.layout, "files": "-", "note": reading.reason})
            continue
        record, counts = reading.record, counts_of(reading.record)
        table.append(
            {
                "layout": reading.layout,
                "files": record.details["files"],
                "opens": reading.opens,
                "cold s": f"{reading.cold_s:.4f}",
                "warm s": f"{reading.warm_s:.4f}",
                "cold samples/s": f"{samples_per_s(record, cold=True):,.0f}",
                "warm samples/s": f"{samples_per_s(record):,.0f}",
                "warm MB/s": f"{mb_per_s(record):,.0f}",
                "calls/sample": f"{counts.total_per_sample:.1f}" if counts.counted else "-",
                "predicted s on PFS": f"{model.predicted_s(reading.cold_s, reading.opens):.3f}",
            }
        )
    return table
