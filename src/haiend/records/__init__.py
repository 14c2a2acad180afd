"""Result files: the only code that builds, checks, reads and writes them.

Layout, in the spirit of asv (results from many machines merge by copying folders)::

    <results dir>/<machine id>/machine.json          the fingerprint (schema "machine")
    <results dir>/<machine id>/ceilings.json         the measured roofs (schema "ceilings")
    <results dir>/<machine id>/<kernel>/<stamp>_<variant>_<size>_<threads>t.json   (schema "record")

A catalogue of many sites (the repository's ``results/``) adds one level in front:
``<site>/<machine id>/...``. The results directory is ``$HAIEND_RESULTS_DIR`` if set, else a
per-user data folder (``~/.local/share/haiend/results`` on Linux).

Every file carries ``schema_version`` for its kind (:mod:`haiend.records.schemas`) and is
checked with ``jsonschema`` when written and when read; files of earlier versions are migrated
when read (:mod:`haiend.records.migrations`). A record keeps the raw samples; the median,
minimum, GB/s, GFLOP/s and fraction of the roof are computed from them on every read, never
taken from a file. Files are written atomically (:mod:`haiend.atomic`). ``load`` names every
file it cannot read, with why, and loads the rest.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from haiend import atomic, threads
from haiend.container import inside
from haiend.errors import HaiendError
from haiend.records import migrations, schemas
from haiend.records.schemas import InvalidFile
from haiend.roofline import Roof, fraction_of_roof

SCHEMA_VERSION = schemas.CURRENT["record"]
ENV_RESULTS_DIR = "HAIEND_RESULTS_DIR"
MACHINE_FILE = "machine.json"
CEILINGS_FILE = "ceilings.json"
#: Statistics derived from the raw times; accepted in a dict (``--json`` output has them) and ignored.
DERIVED = (*migrations.DERIVED_IN_V1, "joules_per_call", "watts", "carbon_g_per_call")


@dataclass(frozen=True)
class Record:
    """One measured, checked variant of one kernel at one size, thread and rank count.

    Only what was measured is stored; the statistics are properties computed from ``times``.
    """

    kernel: str
    variant: str
    size: list[int]
    dtype: str
    threads: int
    times: list[float]  # warm per-call seconds, every timed repeat
    warmup_times: list[float]
    cold_time: float
    batch: int
    clock: str
    bytes_moved: float  # counted by the kernel's specification
    flops: float
    roof: dict[str, Any]  # {"bandwidth": B/s, "peak": flop/s, "threads": n, sources, level}; {} if none
    error: float
    tolerance: float
    machine_id: str
    machine: dict[str, Any]
    correct: bool = True
    ranks: int = 1
    details: dict[str, Any] = field(default_factory=dict)
    extra_times: dict[str, list[float]] = field(default_factory=dict)  # other clocks, e.g. GPU host times
    run: dict[str, Any] = field(default_factory=dict)  # git commit, load average, start, command
    energy: dict[str, Any] = field(default_factory=dict)  # haiend.energy's reading; {} if not metered
    timestamp: str = field(default_factory=lambda: now_stamp())
    haiend_version: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def median_s(self) -> float:
        return float(statistics.median(self.times))

    @property
    def min_s(self) -> float:
        return float(min(self.times))

    @property
    def gb_per_s(self) -> float:
        """Counted bytes over the median time, in GB/s."""
        return self.bytes_moved / self.median_s / 1e9

    @property
    def gflop_per_s(self) -> float:
        """Counted flops over the median time, in GFLOP/s."""
        return self.flops / self.median_s / 1e9

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes_moved

    @property
    def roof_used(self) -> Roof | None:
        if not self.roof.get("bandwidth") or not self.roof.get("peak"):
            return None
        known = {f.name for f in fields(Roof)}
        return Roof(**{k: v for k, v in self.roof.items() if k in known})

    @property
    def fraction_of_roof(self) -> float:
        """The median time's share of the roof it was judged by; NaN when it had none (GPU, --no-roof)."""
        roof = self.roof_used
        if roof is None or self.bytes_moved <= 0 or self.median_s <= 0:
            return float("nan")
        return fraction_of_roof(self.flops, self.bytes_moved, self.median_s, roof)

    @property
    def joules_per_call(self) -> float | None:
        """Energy to solution of one call: the metered window's joules over its calls; None if not known."""
        if self.energy.get("joules") is None:
            return None
        return self.energy["joules"] / self.energy["calls"]

    @property
    def watts(self) -> float | None:
        """Mean power over the metered window; None if not known."""
        if self.energy.get("joules") is None or not self.energy.get("seconds"):
            return None
        return self.energy["joules"] / self.energy["seconds"]

    @property
    def carbon_g_per_call(self) -> float | None:
        """g CO2e of one call: kWh x the grid intensity x PUE the record names; None if not known."""
        joules, intensity = self.joules_per_call, self.energy.get("intensity")
        if joules is None or not intensity:
            return None
        return joules / 3.6e6 * intensity["g_per_kwh"] * intensity["pue"]

    def to_dict(self, *, derived: bool = False) -> dict[str, Any]:
        """The file's content; with ``derived``, also the statistics (for ``--json`` output)."""
        data = asdict(self)
        if derived:
            data.update({name: getattr(self, name) for name in DERIVED})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], context: dict[str, Any] | None = None) -> Record:
        """A record from a file's data of any readable version (checked, migrated); ValueError if not."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if isinstance(version, int) and version >= 2:  # (version 1 stored some; its migration drops them)
            data = {k: v for k, v in data.items() if k not in DERIVED}
        data = migrations.migrate("record", data, context)
        names = {f.name for f in fields(cls)}
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise InvalidFile(f"missing field(s) {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in names})


def now_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_context(command: str | None = None) -> dict[str, Any]:
    """The circumstances of a run, taken when it starts: haiend's git commit (when it runs from a
    checkout), whether that checkout had changes, the load average, how many other processes were running or ready, the CPU set the run had and
    its cgroup CPU quota (on a shared node, such as a workshop's hub, what each run could use),
    the time, and the container it ran in, if any (:func:`haiend.container.inside.detect`)."""
    commit = dirty = None
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if done.returncode == 0:
            commit = done.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        load = None
    try:  # /proc/loadavg's fourth field is "running/total", and the running count includes this process
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        others: int | None = max(0, running - 1)
    except (OSError, ValueError, IndexError):
        others = None
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "load_average": load,
        "cpu_set": threads.cpu_list(threads.cpu_set()),
        "cpu_quota": threads.cpu_quota(),
        "runnable_at_start": others,
        "started": now_stamp(),
        "command": command,
        "container": inside.detect(),
    }


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


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")


def record_name(record: Record) -> str:
    """The file name of a record: its time stamp, variant, size and threads (ranks when >1)."""
    stamp = record.timestamp.replace(":", "").replace("-", "")
    spread = f"{record.threads}t" + (f"{record.ranks}r" if record.ranks > 1 else "")
    return f"{stamp}_{slug(record.variant)}_{'x'.join(map(str, record.size))}_{spread}.json"


def record_path(root: Path, record: Record) -> Path:
    return root / record.machine_id / slug(record.kernel) / record_name(record)


def checked(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` if it matches the current schema of ``kind``; else a HaiendError (nothing is written)."""
    try:
        schemas.validate(kind, data, schemas.CURRENT[kind])
    except InvalidFile as exc:
        raise HaiendError(
            f"haiend made a {kind} file that is not valid ({exc}); nothing was written."
        ) from None
    return data


def save(record: Record, directory: str | os.PathLike[str] | None = None) -> Path:
    """Store a record (and refresh its machine's machine.json); returns the record's path."""
    root = ensure_writable(results_dir(directory))
    data = checked("record", record.to_dict())
    fingerprint = checked("machine", {**record.machine, "schema_version": schemas.CURRENT["machine"]})
    atomic.write_json(root / record.machine_id / MACHINE_FILE, fingerprint)
    return atomic.write_json(record_path(root, record), data)


@dataclass
class Loaded:
    """What ``load`` found: the records it could read, and every file it could not, with why."""

    records: list[Record]
    problems: list[tuple[Path, str]]
    sites: dict[int, str] = field(default_factory=dict)  # id(record) -> site, in a catalogue

    def raise_if_problems(self) -> None:
        if self.problems:
            path, why = self.problems[0]
            raise HaiendError(f"result file {path} cannot be read: {why}.")

    def site_of(self, record: Record) -> str:
        return self.sites.get(id(record), "")


def kind_of(path: Path) -> str:
    """Which kind of file a path holds, by its name."""
    return {MACHINE_FILE: "machine", CEILINGS_FILE: "ceilings"}.get(path.name, "record")


def read_json(path: Path) -> Any:
    """A file's JSON; ValueError with one clause when it is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None


def read_file(path: Path, kind: str | None = None, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """A file of any kind, checked and migrated to the current version; ValueError naming why not."""
    kind = kind or kind_of(path)
    data = read_json(path)
    if kind == "ceilings" and context is None:
        beside = path.parent / MACHINE_FILE
        context = {"machine": read_file(beside, "machine")} if beside.exists() else {}
    if kind == "record":
        return Record.from_dict(data, context).to_dict()
    return migrations.migrate(kind, data, context)


def load(
    directory: str | os.PathLike[str] | None = None,
    *,
    kernel: str | None = None,
    machine_id: str | None = None,
) -> Loaded:
    """Read every record under the results directory (or a catalogue of sites), oldest first."""
    root = results_dir(directory)
    found: list[Record] = []
    problems: list[tuple[Path, str]] = []
    sites: dict[int, str] = {}
    for path in record_paths(root):
        try:
            record = Record.from_dict(read_json(path))
        except (ValueError, TypeError, OSError) as exc:
            problems.append((path, str(exc)))
            continue
        if kernel is not None and record.kernel != kernel and not record.kernel.startswith(kernel + "."):
            continue
        if machine_id is not None and record.machine_id != machine_id:
            continue
        found.append(record)
        sites[id(record)] = site_of_path(root, path)
    found.sort(key=lambda r: r.timestamp)
    return Loaded(found, problems, sites)


def site_of_path(root: Path, path: Path) -> str:
    """The site a file belongs to in a catalogue (``<site>/<machine>/...``); "" in a plain results folder."""
    parts = path.relative_to(root).parts
    depth = 4 if kind_of(path) == "record" else 3
    return parts[0] if len(parts) == depth else ""


def all_files(root: Path) -> list[Path]:
    """Every JSON file a results folder or catalogue holds (hidden files and folders left out)."""
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.rglob("*.json") if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def record_paths(root: Path) -> Iterable[Path]:
    return [p for p in all_files(root) if kind_of(p) == "record"]


def save_ceilings(
    machine_id: str, data: dict[str, Any], directory: str | os.PathLike[str] | None = None
) -> Path:
    root = ensure_writable(results_dir(directory))
    content = checked("ceilings", {**data, "schema_version": schemas.CURRENT["ceilings"]})
    return atomic.write_json(root / machine_id / CEILINGS_FILE, content)


def load_ceilings(machine_id: str, directory: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The cached ceilings of a machine, or None; a corrupt cache is an error naming the file."""
    path = results_dir(directory) / machine_id / CEILINGS_FILE
    if not path.exists():
        return None
    try:
        return read_file(path, "ceilings")
    except (ValueError, OSError) as exc:
        raise HaiendError(
            f"the ceilings file {path} cannot be read ({exc}): delete it or run 'haiend roofline --remeasure'."
        ) from None
