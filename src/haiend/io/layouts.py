"""Five ways to store N small samples on disk, each written once and read back sample by sample.

A *sample* is ``sample_bytes`` bytes (one image, one token sequence); the data set is an
``(n, sample_bytes)`` array of ``uint8``, deterministic for a seed. Every layout has a ``write``
that puts the array into a folder (returning the files it made) and a ``read`` that gives it back
as a new array, opening everything it needs itself, so a timed read pays every open, stat and
read a training loop's data loader would pay:

* ``files``: one file per sample, ``NNNNNN.bin`` in one folder: N opens (the layout that hurts
  on a parallel file system);
* ``tar``: one uncompressed tar shard of the same files, read member by member with
  :mod:`tarfile` (the WebDataset layout: ``NNNNNN.bin`` members, in order);
* ``hdf5``: one HDF5 file with one ``(n, sample_bytes)`` dataset, read one row at a time with h5py;
* ``parquet``: one Parquet file with one column of fixed-size binary values, read with pyarrow
  (Parquet is read by row groups, so the reader fetches the column and slices it);
* ``memmap``: one raw file of the whole array, mapped with :class:`numpy.memmap`, each sample copied
  out of the mapping (page faults instead of read calls).

The libraries do the formats (tarfile, h5py, pyarrow, NumPy); nothing here parses a format by hand.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from haiend.errors import HaiendError


def make_samples(n: int, sample_bytes: int, seed: int = 0) -> np.ndarray:
    """The data set: ``n`` samples of ``sample_bytes`` random bytes, the same for the same seed."""
    if n < 1 or sample_bytes < 1:
        raise HaiendError(
            f"the number of samples and their size must both be at least 1, not {n} samples of {sample_bytes} bytes."
        )
    return np.random.default_rng(seed).integers(0, 256, size=(n, sample_bytes), dtype=np.uint8)


def _member(i: int) -> str:
    return f"{i:06d}.bin"


# --- files: one file per sample --------------------------------------------------------------
def write_files(folder: Path, samples: np.ndarray) -> list[Path]:
    paths = []
    for i, sample in enumerate(samples):
        path = folder / _member(i)
        path.write_bytes(sample.tobytes())
        paths.append(path)
    return paths


def read_files(folder: Path, n: int, sample_bytes: int) -> np.ndarray:
    out = np.empty((n, sample_bytes), dtype=np.uint8)
    for i in range(n):
        with open(folder / _member(i), "rb") as f:
            out[i] = np.frombuffer(f.read(), dtype=np.uint8)
    return out


# --- tar: one WebDataset-style shard ---------------------------------------------------------
def write_tar(folder: Path, samples: np.ndarray) -> list[Path]:
    import io

    path = folder / "shard-000000.tar"
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for i, sample in enumerate(samples):
            info = tarfile.TarInfo(_member(i))
            info.size = sample.nbytes
            tar.addfile(info, io.BytesIO(sample.tobytes()))
    return [path]


def read_tar(folder: Path, n: int, sample_bytes: int) -> np.ndarray:
    out = np.empty((n, sample_bytes), dtype=np.uint8)
    count = 0
    with tarfile.open(folder / "shard-000000.tar", "r:") as tar:  # "r:": no compression probing
        for member in tar:
            i = int(member.name.split(".")[0])
            out[i] = np.frombuffer(tar.extractfile(member).read(), dtype=np.uint8)
            count += 1
    if count != n:
        raise HaiendError(f"the tar shard in {folder} holds {count} samples, not {n}.")
    return out


# --- hdf5: one dataset -------------------------------------------------------------------------
def write_hdf5(folder: Path, samples: np.ndarray) -> list[Path]:
    import h5py

    path = folder / "samples.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("samples", data=samples)  # contiguous, uncompressed
    return [path]


def read_hdf5(folder: Path, n: int, sample_bytes: int) -> np.ndarray:
    import h5py

    out = np.empty((n, sample_bytes), dtype=np.uint8)
    with h5py.File(folder / "samples.h5", "r") as f:
        dataset = f["samples"]
        for i in range(n):
            dataset.read_direct(out, np.s_[i], np.s_[i])
    return out


# --- parquet: one column of fixed-size binary values ----------------------------------------
def write_parquet(folder: Path, samples: np.ndarray) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, sample_bytes = samples.shape
    column = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(sample_bytes), n, [None, pa.py_buffer(samples.tobytes())]
    )
    path = folder / "samples.parquet"
    # No compression and no dictionary: random bytes do not compress, and the read must move the bytes.
    pq.write_table(pa.table({"sample": column}), path, compression="none", use_dictionary=False)
    return [path]


def read_parquet(folder: Path, n: int, sample_bytes: int) -> np.ndarray:
    import pyarrow.parquet as pq

    column = pq.read_table(folder / "samples.parquet", columns=["sample"], use_threads=False)["sample"]
    out = np.empty((n, sample_bytes), dtype=np.uint8)
    row = 0
    for chunk in column.chunks:  # one chunk per row group; a fixed-size binary's values are one buffer
        values = np.frombuffer(chunk.buffers()[1], dtype=np.uint8, offset=chunk.offset * sample_bytes)
        rows = len(chunk)
        out[row : row + rows] = values[: rows * sample_bytes].reshape(rows, sample_bytes)
        row += rows
    if row != n:
        raise HaiendError(f"the Parquet file in {folder} holds {row} samples, not {n}.")
    return out


# --- memmap: one raw file, mapped --------------------------------------------------------------
def write_memmap(folder: Path, samples: np.ndarray) -> list[Path]:
    path = folder / "samples.u8"
    path.write_bytes(samples.tobytes())
    return [path]


def read_memmap(folder: Path, n: int, sample_bytes: int) -> np.ndarray:
    mapped = np.memmap(folder / "samples.u8", dtype=np.uint8, mode="r", shape=(n, sample_bytes))
    out = np.empty((n, sample_bytes), dtype=np.uint8)
    for i in range(n):
        out[i] = mapped[i]
    del mapped  # unmaps the file
    return out


@dataclass(frozen=True)
class Layout:
    """One way of storing the samples: how it writes, how it reads, and what it costs in opens."""

    name: str
    summary: str
    write: Callable[[Path, np.ndarray], list[Path]]
    read: Callable[[Path, int, int], np.ndarray]
    # How many files a full read of n samples opens: the metadata model's input.
    opens_per_read: Callable[[int], int]
    requires: str = ""  # the module it needs, if any

    def available(self) -> str | None:
        """None if it runs here; else one sentence saying what is missing."""
        if not self.requires:
            return None
        try:
            __import__(self.requires)
        except ImportError:
            return f"the {self.name} layout needs {self.requires}: pip install -e '.[io]' (or '.[all]')."
        return None


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("files", "one file per sample in one folder", write_files, read_files, lambda n: n),
        Layout("tar", "one tar shard, WebDataset-style (tarfile)", write_tar, read_tar, lambda n: 1),
        Layout(
            "hdf5", "one HDF5 dataset, read row by row (h5py)", write_hdf5, read_hdf5, lambda n: 1, "h5py"
        ),
        Layout(
            "parquet",
            "one Parquet column of fixed-size binary (pyarrow)",
            write_parquet,
            read_parquet,
            lambda n: 1,
            "pyarrow",
        ),
        Layout("memmap", "one raw file mapped with numpy.memmap", write_memmap, read_memmap, lambda n: 1),
    )
}


def chosen(names: Sequence[str] | None) -> list[Layout]:
    """The layouts named (all when None); an unknown name is an error listing the known ones."""
    if names is None:
        return list(LAYOUTS.values())
    unknown = [name for name in names if name not in LAYOUTS]
    if unknown:
        raise HaiendError(f"unknown layout {unknown[0]!r}: choose from {', '.join(LAYOUTS)}.")
    return [LAYOUTS[name] for name in names]


def files_of(folder: Path) -> list[Path]:
    """Every regular file under a layout's folder (what eviction and cleaning must reach)."""
    return sorted(Path(root) / name for root, _, names in os.walk(folder) for name in names)
