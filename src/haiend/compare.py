"""``haiend results compare A B``: two runs, two variants or two machines, each difference with its noise.

A and B are each one of:

* a record file (``.../stream.triad/2026...json``): one run;
* ``KERNEL:VARIANT`` or ``KERNEL:VARIANT@MACHINE``: every run of that variant (on that machine, or
  on the one machine that has it), pooled;
* a machine id (or the start of one that names a single machine): every variant it measured,
  compared key by key with the other machine's.

Each comparison is :func:`haiend.stats.compare_runs` on the warm times: the ratio of medians
with a bootstrap interval, and "noise" when the interval holds 1 or stays inside the smallest
difference that counts. When the two sides did different amounts of work (two machines'
default sizes differ with their caches), the ratio is of the kernel's figure of merit (counted
bytes or flops per second), so it still says which ran faster.

``--by energy`` compares energy to solution instead: the joules of one call each run recorded
(records of schema version 3), one value per run, pooled over runs the same way; above 1, A
used less energy. A measured side against an estimated one is noted: an estimate follows time
and busy threads, not how the hardware was used.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from haiend import kernels, records, stats
from haiend.errors import HaiendError
from haiend.records import Record
from haiend.tables import Table


@dataclass(frozen=True)
class Side:
    """What one of A and B selected: a label and its records."""

    label: str
    records: tuple[Record, ...]
    kind: str  # "run", "variant" or "machine"


@dataclass(frozen=True)
class Row:
    kernel: str
    variant: str
    spread: str  # "1 thread", "2 ranks"...
    size_a: str
    size_b: str
    comparison: stats.Comparison
    metric: str  # "time" (same work) or the figure of merit compared
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "kernel": self.kernel,
            "variant": self.variant,
            "spread": self.spread,
            "size_a": self.size_a,
            "size_b": self.size_b,
            "compared": self.metric,
            "ratio": c.ratio,
            "low": c.low,
            "high": c.high,
            "confidence": c.confidence,
            "verdict": c.verdict,
            "runs_a": c.runs_a,
            "runs_b": c.runs_b,
            "sentence": str(c),
            "notes": list(self.notes),
        }


def select(spec: str, pool: Sequence[Record]) -> Side:
    """The records ``spec`` names (see the module docstring); HaiendError in one sentence if none."""
    path = Path(spec)
    if spec.endswith(".json") or path.is_file():
        if not path.is_file():
            raise HaiendError(f"{spec} is not a file.")
        try:
            record = Record.from_dict(records.read_json(path))
        except ValueError as exc:
            raise HaiendError(f"{spec} is not a readable record: {exc}.") from None
        return Side(f"{record.variant} ({path.name})", (record,), "run")
    if ":" in spec:
        key, _, machine = spec.partition("@")
        kernel, _, variant = key.partition(":")
        chosen = [r for r in pool if r.kernel == kernel and r.variant == variant]
        if machine:
            chosen = [r for r in chosen if r.machine_id.startswith(machine)]
        if not chosen:
            raise HaiendError(f"no records of {key}{' on ' + machine if machine else ''} were found.")
        machines = sorted({r.machine_id for r in chosen})
        if len(machines) > 1:
            raise HaiendError(
                f"{key} was measured on {len(machines)} machines ({', '.join(machines)}): add @MACHINE."
            )
        return Side(spec if machine else f"{key}@{machines[0]}", tuple(chosen), "variant")
    machines = sorted({r.machine_id for r in pool if r.machine_id.startswith(spec)})
    if len(machines) != 1:
        known = ", ".join(sorted({r.machine_id for r in pool})) or "none"
        what = "no machine" if not machines else f"{len(machines)} machines"
        raise HaiendError(
            f"{spec!r} names {what}: give a record file, KERNEL:VARIANT[@MACHINE] or one of: {known}."
        )
    return Side(machines[0], tuple(r for r in pool if r.machine_id == machines[0]), "machine")


def _spread(record: Record) -> tuple[int, int]:
    return record.threads, record.ranks


def _spread_label(spread: tuple[int, int]) -> str:
    threads, ranks = spread
    return f"{ranks} ranks" if ranks > 1 else f"{threads} thread{'s' if threads > 1 else ''}"


def _largest(runs: Sequence[Record]) -> list[Record]:
    """The runs at the largest size among ``runs`` (several sizes of one key are not pooled)."""
    top = max(tuple(r.size) for r in runs)
    return [r for r in runs if tuple(r.size) == top]


def merit(kernel: str) -> str:
    """The figure of merit of a kernel ("gb_per_s" or "gflop_per_s"); bytes for one not known here."""
    try:
        return kernels.get(kernel).spec.merit
    except HaiendError:
        return "gb_per_s"


def drift(pool: Sequence[Record], machine_id: str) -> stats.Drift:
    """The run-to-run drift of a machine, from every key it ran more than once in ``pool``."""
    runs = defaultdict(list)
    for r in pool:
        if r.machine_id == machine_id:
            runs[(r.kernel, r.variant, tuple(r.size), r.threads, r.ranks)].append(r.times)
    return stats.drift(list(runs.values()))


def _energy_samples(group: Sequence[Record]) -> list[list[float]]:
    """One sample per run: its joules per call; a HaiendError naming a run that recorded none."""
    for r in group:
        if r.joules_per_call is None:
            why = (r.energy or {}).get(
                "reason"
            ) or "it was made before records carried energy (schema version 3)"
            raise HaiendError(
                f"{r.kernel}:{r.variant} of {r.timestamp[:19]} has no energy to compare: {why}."
            )
    return [[r.joules_per_call] for r in group]


def compare_groups(
    a: Sequence[Record],
    b: Sequence[Record],
    *,
    labels: tuple[str, str],
    min_effect: float | None = None,
    by: str = "time",
) -> tuple[stats.Comparison, str]:
    """Compare two groups of runs by time (or ``by="energy"``, joules per call) when they did the
    same work, else per unit of work: the figure of merit, or the energy per byte or flop."""
    settings = {} if min_effect is None else {"min_effect": min_effect}
    if by == "energy":
        found = stats.compare_runs(_energy_samples(a), _energy_samples(b), labels=labels, **settings)
    else:
        found = stats.compare_runs([r.times for r in a], [r.times for r in b], labels=labels, **settings)
    same_work = tuple(a[0].size) == tuple(b[0].size) and a[0].kernel == b[0].kernel
    if same_work:
        return found, by
    metric = merit(a[0].kernel)
    if by == "energy":
        metric = "energy per byte" if metric == "gb_per_s" else "energy per flop"
    work = (lambda r: r.bytes_moved) if metric == "gb_per_s" else (lambda r: r.flops)
    scale = work(a[0]) / work(b[0])
    scaled = replace(found, ratio=found.ratio * scale, low=found.low * scale, high=found.high * scale)
    return replace(
        scaled, verdict=stats.judge(scaled.ratio, scaled.low, scaled.high, found.min_effect)
    ), metric


def noise_band(
    a: Side, b: Side, pool: Sequence[Record] = (), min_effect: float | None = None
) -> tuple[float, tuple[str, ...]]:
    """The smallest relative difference that counts, and the sentences that say where it came from.

    Given (``--min-effect``), it is used as it is. Otherwise it is the run-to-run drift of the
    machines involved (:func:`haiend.stats.drift`), from every key each ran more than once, the
    two sides' own runs included: two runs of the same variant differ by nothing but drift.
    """
    if min_effect is not None:
        return min_effect, (f"Differences under {min_effect:.0%} are taken as noise (--min-effect).",)
    seen = {}
    for r in (*pool, *a.records, *b.records):
        seen.setdefault((r.machine_id, r.kernel, r.variant, r.timestamp), r)
    everything = list(seen.values())
    machines = sorted({r.machine_id for r in (*a.records, *b.records)})
    drifts = {m: drift(everything, m) for m in machines}
    return max(d.min_effect for d in drifts.values()), tuple(f"On {m}, {d}." for m, d in drifts.items())


def compare(
    a: Side,
    b: Side,
    *,
    pool: Sequence[Record] = (),
    kernel: str | None = None,
    min_effect: float | None = None,
    by: str = "time",
) -> list[Row]:
    """Every comparison A and B allow: one for two runs or two variants, one per shared key for machines.

    ``pool`` is every record at hand, for the machines' run-to-run drift (see :func:`noise_band`).
    """
    if (a.kind == "machine") != (b.kind == "machine"):
        raise HaiendError("compare a machine with a machine, or runs and variants with each other.")
    effect, band = noise_band(a, b, pool, min_effect)
    if a.kind != "machine":
        left, right = _largest(a.records), _largest(b.records)
        found, metric = compare_groups(left, right, labels=(a.label, b.label), min_effect=effect, by=by)
        spread = _spread_label(_spread(left[0]))
        if _spread(left[0]) != _spread(right[0]):
            spread += f" vs {_spread_label(_spread(right[0]))}"
        label = (
            left[0].kernel if left[0].kernel == right[0].kernel else f"{left[0].kernel} vs {right[0].kernel}"
        )
        variant = (
            left[0].variant
            if left[0].variant == right[0].variant
            else f"{left[0].variant} vs {right[0].variant}"
        )
        return [
            Row(
                label,
                variant,
                spread,
                _size(left[0]),
                _size(right[0]),
                found,
                metric,
                band + _notes(left, right) + _energy_notes(left, right, by),
            )
        ]
    groups: dict[str, dict[tuple, list[Record]]] = {"a": defaultdict(list), "b": defaultdict(list)}
    for name, side in (("a", a), ("b", b)):
        for r in side.records:
            if kernel is None or r.kernel == kernel or r.kernel.startswith(kernel + "."):
                groups[name][(r.kernel, r.variant, *_spread(r))].append(r)
    shared = sorted(set(groups["a"]) & set(groups["b"]))
    if not shared:
        raise HaiendError(f"{a.label} and {b.label} have no kernel, variant and thread count in common.")
    rows = []
    for key in shared:
        left, right = _largest(groups["a"][key]), _largest(groups["b"][key])
        found, metric = compare_groups(left, right, labels=(a.label, b.label), min_effect=effect, by=by)
        rows.append(
            Row(
                key[0],
                key[1],
                _spread_label(key[2:]),
                _size(left[0]),
                _size(right[0]),
                found,
                metric,
                band + _notes(left, right) + _energy_notes(left, right, by),
            )
        )
    return rows


def busy(record: Record) -> str | None:
    """A sentence when other processes wanted the cores as ``record``'s run started, else None.

    From the count of processes running or ready at the start (``runnable_at_start``): when
    fewer cores were left than the run used, it shared its cores, and its times say as much about
    the neighbours as about the variant. (The load average is kept too, but it lags by a minute,
    so right after one benchmark it still counts that one.) Records without the count get no note.
    """
    others = (record.run or {}).get("runnable_at_start")
    cores = record.machine.get("usable_cores") or record.machine.get("logical_cores")
    if others is None or not cores:
        return None
    used = record.threads * record.ranks
    if cores - others >= used:
        return None
    return (
        f"{record.variant} ({record.timestamp[:19]}) started while {others} other process(es) were running"
        f" on {cores} cores: it shared the cores it used."
    )


def _energy_notes(a: Sequence[Record], b: Sequence[Record], by: str) -> tuple[str, ...]:
    if by != "energy":
        return ()
    methods = {side: {r.energy["method"] for r in group} for side, group in (("A", a), ("B", b))}
    if methods["A"] == methods["B"] == {"estimated"}:
        return (
            "Both sides' energy is estimated: it follows time and busy threads, so it ranks as time does.",
        )
    if methods["A"] != methods["B"]:
        said = "; ".join(f"{side}: {', '.join(sorted(m))}" for side, m in methods.items())
        return (
            f"The two sides' energy was found out differently ({said}): the ratio mixes a model and a counter.",
        )
    return ()


def _notes(*groups: Sequence[Record]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for group in groups for r in group if (n := busy(r))))


def _size(record: Record) -> str:
    return "x".join(str(v) for v in record.size)


def sentence(row: Row) -> str:
    """The comparison in one sentence: by time, stats' own; by energy, said of the joules."""
    c = row.comparison
    if not row.metric.startswith("energy"):
        return str(c)
    said = (
        f"{c.label_b} used {c.ratio:.3g} times the {row.metric} of {c.label_a}"
        f" ({c.confidence:.0%} interval {c.low:.3g} to {c.high:.3g})"
    )
    if c.verdict == "noise":
        return f"{said}: within the noise (differences under {c.min_effect:.0%} are not counted)."
    return f"{said}: A {_verdict_word(c.verdict, row.metric)}."


def _verdict_word(verdict: str, metric: str) -> str:
    if not metric.startswith("energy"):
        return verdict
    return {"faster": "used less energy", "slower": "used more energy"}.get(verdict, verdict)


def table(rows: Sequence[Row], a: Side, b: Side) -> Table:
    shown = []
    for row in rows:
        c = row.comparison
        shown.append(
            {
                "kernel": row.kernel,
                "variant": row.variant,
                "on": row.spread,
                "size A / B": row.size_a if row.size_a == row.size_b else f"{row.size_a} / {row.size_b}",
                "A / B": f"{c.ratio:.3f}" + ("" if row.metric == "time" else f" ({row.metric})"),
                f"{c.confidence:.0%} interval": f"{c.low:.3f} to {c.high:.3f}",
                "runs A, B": f"{c.runs_a}, {c.runs_b}",
                "verdict": "noise" if c.verdict == "noise" else f"A {_verdict_word(c.verdict, row.metric)}",
            }
        )
    notes = list(dict.fromkeys(n for row in rows for n in row.notes))
    energy = any(row.metric.startswith("energy") for row in rows)
    said = "A used less energy per call" if energy else "A ran faster"
    return Table(shown, caption=f"A = {a.label}; B = {b.label}. A / B > 1: {said}.", notes=notes)


def command(args, print_table: Callable[[Any], None]) -> int:
    """The ``compare`` action of ``haiend results``."""
    pool: list[Record] = []
    for directory in args.results_dir or [None]:
        loaded = records.load(directory)
        for path, why in loaded.problems:
            print(f"haiend: warning: skipped {path}: {why}", file=sys.stderr)
        pool.extend(loaded.records)
    if args.min_effect is not None and args.min_effect < 0:
        raise HaiendError(f"--min-effect must be 0 or more, not {args.min_effect}.")
    a, b = select(args.a, pool), select(args.b, pool)
    rows = compare(a, b, pool=pool, kernel=args.kernel, min_effect=args.min_effect, by=args.by)
    if args.json:
        print(json.dumps({"a": a.label, "b": b.label, "comparisons": [r.to_dict() for r in rows]}, indent=1))
        return 0
    if len(rows) == 1:
        print(sentence(rows[0]))
    print_table(table(rows, a, b))
    return 0
