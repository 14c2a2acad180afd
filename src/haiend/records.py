"""Result files: the only module that reads or writes them.

Layout, in the spirit of asv (results from many machines merge by copying folders)::

    <results dir>/<machine id>/machine.json          the fingerprint, refreshed on each save
    <results dir>/<machine id>/ceilings.json         the measured roofs (see haiend.ceilings)
    <results dir>/<machine id>/<kernel>/<stamp>_<variant>_<size>_<threads>t.json

The results directory is ``$HAIEND_RESULTS_DIR`` if set, else a per-user data folder
(``~/.local/share/haiend/results`` on Linux). Every file carries ``schema_version``; files are
written to a hidden temporary file in the same folder, flushed to disk and renamed, so a reader
never sees half a file. ``load`` reports every file it cannot read by name and loads the rest.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from haiend import atomic
from haiend.errors import HaiendError

SCHEMA_VERSION = 1
ENV_RESULTS_DIR = "HAIEND_RESULTS_DIR"


@dataclass(frozen=True)
class Record:
    """One measured variant of one kernel at one size and thread count (schema version 1)."""

    kernel: str
    variant: str
    size: list[int]
    dtype: str
    threads: int
    times: list[float]  # warm per-call seconds, every repeat
    warmup_times: list[float]
    cold_time: float
    batch: int
    clock: str
    bytes_moved: float
    flops: float
    median_s: float
    min_s: float
    gb_per_s: float  # from the median time
    gflop_per_s: float  # from the median time
    roof: dict[str, Any]  # {"bandwidth": B/s, "peak": flop/s, "threads": n, sources}
    fraction_of_roof: float
    error: float
    tolerance: float
    correct: bool
    machine_id: str
    machine: dict[str, Any]
    ranks: int = 1
    details: dict[str, Any] = field(default_factory=dict)
    timestamp: str = field(default_factory=lambda: now_stamp())
    haiend_version: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes_moved

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        data = migrate(data)
        names = {f.name for f in fields(cls)}
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in names})


def now_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a record of an older schema up to this one; reject newer ones by name of the version."""
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise ValueError("no schema_version")
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"schema version {version} is newer than this haiend reads ({SCHEMA_VERSION}): upgrade haiend"
        )
    if version < 1:
        raise ValueError(f"unknown schema version {version}")
    return data  # version 1 is the first; later versions add their steps here


def results_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Where results live: the argument, else $HAIEND_RESULTS_DIR, else the per-user data folder."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get(ENV_RESULTS_DIR):
        return Path(os.environ[ENV_RESULTS_DIR]).expanduser()
    from platformdirs import user_data_path

    return user_data_path("haiend") / "results"


def ensure_writable(directory: Path) -> Path:
    """Create the folder if needed and prove it can be written, before any measurement starts."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
    except OSError as exc:
        raise HaiendError(
            f"the results directory {directory} cannot be written ({exc.strerror or exc}): "
            f"choose another with --results-dir or ${ENV_RESULTS_DIR}."
        ) from None
    return directory


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")


def save(record: Record, directory: str | os.PathLike[str] | None = None) -> Path:
    """Store a record (and refresh its machine's machine.json); returns the record's path."""
    root = ensure_writable(results_dir(directory))
    machine_folder = root / record.machine_id
    atomic.write_json(machine_folder / "machine.json", {"schema_version": SCHEMA_VERSION, **record.machine})
    stamp = record.timestamp.replace(":", "").replace("-", "")
    name = f"{stamp}_{_slug(record.variant)}_{'x'.join(map(str, record.size))}_{record.threads}t.json"
    return atomic.write_json(machine_folder / _slug(record.kernel) / name, record.to_dict())


@dataclass
class Loaded:
    """What ``load`` found: the records it could read, and every file it could not, with why."""

    records: list[Record]
    problems: list[tuple[Path, str]]

    def raise_if_problems(self) -> None:
        if self.problems:
            path, why = self.problems[0]
            raise HaiendError(f"result file {path} cannot be read: {why}.")


def load(
    directory: str | os.PathLike[str] | None = None,
    *,
    kernel: str | None = None,
    machine_id: str | None = None,
) -> Loaded:
    """Read every record under the results directory, newest last."""
    root = results_dir(directory)
    records: list[Record] = []
    problems: list[tuple[Path, str]] = []
    for path in _record_paths(root):
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            record = Record.from_dict(data)
        except json.JSONDecodeError as exc:
            problems.append((path, f"not valid JSON ({exc.msg} at line {exc.lineno})"))
            continue
        except (ValueError, TypeError, OSError) as exc:
            problems.append((path, str(exc)))
            continue
        if kernel is not None and record.kernel != kernel and not record.kernel.startswith(kernel + "."):
            continue
        if machine_id is not None and record.machine_id != machine_id:
            continue
        records.append(record)
    records.sort(key=lambda r: r.timestamp)
    return Loaded(records, problems)


def _record_paths(root: Path) -> Iterable[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*/*.json") if not p.name.startswith("."))


def save_ceilings(machine_id: str, data: dict[str, Any], directory: str | os.PathLike[str] | None = None) -> Path:
    root = ensure_writable(results_dir(directory))
    return atomic.write_json(root / machine_id / "ceilings.json", {"schema_version": SCHEMA_VERSION, **data})


def load_ceilings(machine_id: str, directory: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The cached ceilings of a machine, or None; a corrupt cache is an error naming the file."""
    path = results_dir(directory) / machine_id / "ceilings.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        migrate(data)
    except (json.JSONDecodeError, ValueError) as exc:
        raise HaiendError(
            f"the ceilings file {path} cannot be read ({exc}): delete it or run 'haiend roofline --remeasure'."
        ) from None
    return data
