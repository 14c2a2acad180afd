"""The class comparison of a workshop: one attendee per row, so the class sees its own spread.

It reads a class results folder (``haiend workshop collect``: one subfolder per attendee) and,
for one kernel, shows each attendee's best run (highest figure of merit: GB/s or GFLOP/s, as the
kernel's specification says), its fraction of the roof of the machine it ran on, and the
circumstances of that run: the machine, the CPU set it had, its cgroup CPU quota, the load
average and how many other processes were running when it started.

On a shared hub every attendee's server runs on the same node, so every record carries the same
machine id and the runs contend for its cores: a spread between attendees is then partly their
neighbours' doing, which the view says in words when the machine ids agree.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from haiend import records
from haiend.catalogue import merit_of, unit
from haiend.errors import HaiendError
from haiend.records import Record
from haiend.tables import Table


@dataclass
class ClassResults:
    """Each attendee's records of the class folder, and every file that could not be read."""

    folder: Path
    attendees: dict[str, list[Record]] = field(default_factory=dict)
    problems: list[tuple[Path, str]] = field(default_factory=list)

    def kernels(self) -> Counter[str]:
        """How many attendees ran each kernel."""
        return Counter(k for runs in self.attendees.values() for k in {r.kernel for r in runs})

    def best(self, kernel: str) -> dict[str, Record]:
        """Each attendee's run of ``kernel`` with the highest figure of merit (attendees without one left out)."""
        found = {}
        for name, runs in self.attendees.items():
            mine = [r for r in runs if r.kernel == kernel]
            if mine:
                found[name] = max(mine, key=merit_of)
        return found


def load(folder: str | os.PathLike[str]) -> ClassResults:
    """Read a class results folder: one subfolder per attendee, each a results folder."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise HaiendError(
            f"{root} is not a folder: give the class folder that 'haiend workshop collect' wrote."
        )
    loaded = ClassResults(root)
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        got = records.load(sub)
        loaded.problems += got.problems
        if got.records:
            loaded.attendees[sub.name] = got.records
    if not loaded.attendees:
        raise HaiendError(f"{root} holds no attendee's records: run 'haiend workshop collect' into it first.")
    return loaded


def choose_kernel(loaded: ClassResults, kernel: str | None) -> str:
    """``kernel`` (a kernel someone ran), else the kernel the most attendees ran."""
    counts = loaded.kernels()
    if kernel is None:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    if kernel not in counts:
        ran = ", ".join(sorted(counts))
        raise HaiendError(f"no attendee ran {kernel!r}; the class ran: {ran}.")
    return kernel


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}"


def row(name: str, record: Record) -> dict[str, str]:
    run = record.run or {}
    load_average = run.get("load_average")
    quota = run.get("cpu_quota")
    others = run.get("runnable_at_start")
    return {
        "attendee": name,
        "variant": record.variant,
        "threads": str(record.threads * record.ranks),
        unit(record.kernel): _number(merit_of(record)),
        "of roof": _number(record.fraction_of_roof, 2),
        "machine": record.machine_id,
        "CPU set": run.get("cpu_set") or "-",
        "CPU quota": "-" if quota is None else f"{quota:g} cores",
        "load (1 min)": "-" if not load_average else f"{load_average[0]:.2f}",
        "others running": "-" if others is None else str(others),
    }


def notes(best: dict[str, Record]) -> list[str]:
    """The spread in one sentence, and what a shared machine means for it."""
    said = []
    values = {name: merit_of(r) for name, r in best.items()}
    if len(values) > 1:
        low, high = min(values, key=values.get), max(values, key=values.get)
        kernel = next(iter(best.values())).kernel
        said.append(
            f"Spread: {_number(values[low])} to {_number(values[high])} {unit(kernel)} "
            f"({high} ran {values[high] / values[low]:.2f}x as fast as {low})."
        )
    machines = {r.machine_id for r in best.values()}
    if len(best) > 1 and len(machines) == 1:
        said.append(
            f"Every attendee ran on the same machine ({machines.pop()}), so their runs contended for its cores: "
            "part of the spread is their neighbours' doing. Each run's CPU set, quota, load average and the "
            "processes running when it started show how crowded it was."
        )
    return said


def table(folder: str | os.PathLike[str], kernel: str | None = None) -> tuple[Table, ClassResults]:
    """The class comparison of ``kernel`` (default: the one the most attendees ran)."""
    loaded = load(folder)
    chosen = choose_kernel(loaded, kernel)
    best = loaded.best(chosen)
    rows = [row(name, record) for name, record in sorted(best.items(), key=lambda kv: -merit_of(kv[1]))]
    caption = f"{chosen}: each attendee's best run, fastest first ({len(best)} of {len(loaded.attendees)} attendees)"
    return Table(rows, caption, notes(best)), loaded
