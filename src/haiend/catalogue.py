"""The pooled results: every machine of the repository's catalogue and the reader's own, side by side.

The book's part "Results across machines" is built from what :func:`gather` returns: the records
of ``results/<site>/<machine>/`` and of the reader's own results folder (``$HAIEND_RESULTS_DIR``
or the per-user one), each machine with its fingerprint, its measured ceilings and the sites
that contributed it. From that pool come

* :func:`cells`: per kernel, one value per machine and variant: the median over runs of the
  figure of merit and of the fraction of that machine's own roof, at one thread (the setting
  every machine can be compared in; the standards quote one-thread ratios);
* :func:`summary_table` and :func:`machine_table`: the variant x machine tables, one row per
  architecture class first (so 50 machines still read as a handful of rows), then one table per
  class with a row per machine;
* :func:`rankings`: the order of the variants on each machine, with the pairs that another
  machine orders the other way marked; two variants within a machine's run-to-run drift are
  not ordered at all;
* :func:`machine_page`: one Markdown page per machine (fingerprint, ceilings, contributors,
  what it measured), written at build time by ``book/_ext/machine_pages.py``.

Nothing here reaches the network: the pool is files on disk.
"""

from __future__ import annotations

import html
import math
import os
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haiend import compare, records
from haiend.ceilings import Ceilings
from haiend.machine import bytes_in_words
from haiend.machine import summary as fingerprint_summary
from haiend.records import Record
from haiend.tables import Table

OWN_SITE = "yours"  # the site shown for the reader's own results folder
PAGE_FOLDER = Path("book") / "results" / "machines"  # where the per-machine pages are written
SIDE_BY_SIDE = 6  # up to this many machines, each gets its own roofline panel
OPEN_UP_TO = 10  # up to this many machines, the per-machine tables are shown unfolded
SIMD_CLASSES = (  # the widest vector extension names the class; first match wins
    ("avx512f", "AVX-512"),
    ("avx2", "AVX2"),
    ("avx", "AVX"),
    ("sve", "SVE"),
    ("asimd", "NEON"),
    ("neon", "NEON"),
    ("sse2", "SSE2"),
)


def architecture_class(fingerprint: Mapping[str, Any]) -> str:
    """The class a machine is grouped in: its instruction set and widest vector extension."""
    simd = {str(s).lower() for s in fingerprint.get("simd") or ()}
    widest = next((name for flag, name in SIMD_CLASSES if flag in simd), "no vector extension known")
    return f"{fingerprint.get('architecture') or 'unknown'} {widest}"


def cpu_name(fingerprint: Mapping[str, Any]) -> str:
    """The processor in words: the model name, with family and model numbers where known."""
    name = fingerprint.get("cpu_model") or fingerprint.get("architecture") or "unknown processor"
    family, model = fingerprint.get("cpu_family"), fingerprint.get("cpu_model_number")
    if family is not None and model is not None:
        return f"{name} (family {family}, model {model})"
    return str(name)


@dataclass(frozen=True)
class Machine:
    """One machine of the pool: who sent it, what it is, its roofs and its records."""

    machine_id: str
    sites: tuple[str, ...]
    fingerprint: Mapping[str, Any]
    ceilings: Ceilings | None
    records: tuple[Record, ...]

    @property
    def architecture(self) -> str:
        return architecture_class(self.fingerprint)

    @property
    def cpu(self) -> str:
        return cpu_name(self.fingerprint)

    @property
    def page_name(self) -> str:
        """The page's file stem: the class first, so that pages sort by architecture."""
        return f"{records.slug(self.architecture).lower()}_{self.machine_id}"


@dataclass
class Pool:
    """Every machine and record found, and every file that could not be read, with why."""

    machines: dict[str, Machine]
    problems: list[tuple[Path, str]] = field(default_factory=list)
    own_records: int = 0

    @property
    def records(self) -> list[Record]:
        return [r for m in self.machines.values() for r in m.records]

    def by_architecture(self) -> dict[str, list[Machine]]:
        """Machines grouped by :func:`architecture_class`, classes and machines in a stable order."""
        groups: dict[str, list[Machine]] = defaultdict(list)
        for machine in sorted(self.machines.values(), key=lambda m: m.machine_id):
            groups[machine.architecture].append(machine)
        return dict(sorted(groups.items()))


def _side_files(root: Path, name: str) -> dict[str, tuple[Path, str]]:
    """``machine.json`` or ``ceilings.json`` files by machine id, with their site ("" in a plain folder)."""
    found = {}
    for path in records.all_files(root):
        if path.name == name:
            parts = path.relative_to(root).parts
            found[path.parent.name] = (path, parts[0] if len(parts) == 3 else "")
    return found


def _read_side(path: Path, kind: str, problems: list[tuple[Path, str]]) -> dict[str, Any] | None:
    try:
        return records.read_file(path, kind)
    except (ValueError, TypeError, OSError) as exc:
        problems.append((path, str(exc)))
        return None


def gather(
    catalogue: str | os.PathLike[str] | None,
    own: str | os.PathLike[str] | None = None,
    *,
    include_own: bool = True,
) -> Pool:
    """The pool of ``catalogue`` (``results/``) and, unless ``include_own`` is false, the reader's folder.

    A record found in both (the reader imported the catalogue, or measured in it) counts once.
    Unreadable files are listed in ``problems`` and left out; the rest is pooled.
    """
    sources: list[tuple[Path, str | None]] = []
    if catalogue is not None:
        sources.append((Path(catalogue), None))
    if include_own:
        own_root = records.results_dir(own)
        if catalogue is None or own_root.resolve() != Path(catalogue).resolve():
            sources.append((own_root, OWN_SITE))
    by_machine: dict[str, list[Record]] = defaultdict(list)
    sites: dict[str, set[str]] = defaultdict(set)
    fingerprints: dict[str, dict[str, Any]] = {}
    ceilings: dict[str, Ceilings] = {}
    problems: list[tuple[Path, str]] = []
    seen: set[tuple[str, str, str, str]] = set()
    own_count = 0
    for root, site in sources:
        loaded = records.load(root)
        problems += loaded.problems
        for record in loaded.records:
            key = (record.machine_id, record.kernel, record.variant, record.timestamp)
            if key in seen:
                continue
            seen.add(key)
            by_machine[record.machine_id].append(record)
            sites[record.machine_id].add(site or loaded.site_of(record) or OWN_SITE)
            own_count += site == OWN_SITE
        for machine_id, (path, _) in _side_files(root, records.MACHINE_FILE).items():
            data = _read_side(path, "machine", problems)
            if data is not None:
                fingerprints.setdefault(machine_id, data)
        for machine_id, (path, _) in _side_files(root, records.CEILINGS_FILE).items():
            data = _read_side(path, "ceilings", problems)
            if data is not None and machine_id not in ceilings:
                ceilings[machine_id] = Ceilings.from_dict(data)
    machines = {
        machine_id: Machine(
            machine_id,
            tuple(sorted(sites[machine_id])),
            fingerprints.get(machine_id) or dict(runs[-1].machine),
            ceilings.get(machine_id),
            tuple(sorted(runs, key=lambda r: r.timestamp)),
        )
        for machine_id, runs in sorted(by_machine.items())
    }
    return Pool(machines, problems, own_count)


# --- One value per machine and variant ------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A variant on a machine: medians over its runs at the largest size measured there."""

    merit: float  # GB/s or GFLOP/s, the kernel's figure of merit
    fraction: float  # of the roof each run was judged by; NaN when it had none
    runs: int
    size: tuple[int, ...]
    low: float  # the slowest and fastest run's figure of merit
    high: float
    joules: float | None = None  # median joules per call over the runs that recorded energy
    energy_methods: tuple[str, ...] = ()  # how those runs' energy was found out

    def score(self, by: str) -> float | None:
        """Higher is better: the figure of merit, or (``by="energy"``) calls per joule."""
        if by == "energy":
            return None if not self.joules else 1 / self.joules
        return self.merit


def column(record: Record) -> str:
    """The column a record falls in: its variant, with the rank count when it ran on several."""
    return f"{record.variant} ({record.ranks} ranks)" if record.ranks > 1 else record.variant


def merit_of(record: Record) -> float:
    return getattr(record, compare.merit(record.kernel))


def unit(kernel: str) -> str:
    return "GB/s" if compare.merit(kernel) == "gb_per_s" else "GFLOP/s"


def cells(pool: Pool, kernel: str, *, threads: int = 1) -> dict[str, dict[str, Cell]]:
    """``{machine id: {column: Cell}}`` for ``kernel`` at ``threads`` thread(s) per rank."""
    found: dict[str, dict[str, Cell]] = {}
    for machine_id, machine in pool.machines.items():
        groups: dict[str, list[Record]] = defaultdict(list)
        for r in machine.records:
            if r.kernel == kernel and r.threads == threads and r.correct:
                groups[column(r)].append(r)
        row = {}
        for name, runs in sorted(groups.items()):
            top = max(tuple(r.size) for r in runs)
            runs = [r for r in runs if tuple(r.size) == top]
            merits = [merit_of(r) for r in runs]
            metered = [r for r in runs if r.joules_per_call is not None]
            row[name] = Cell(
                statistics.median(merits),
                statistics.median(r.fraction_of_roof for r in runs),
                len(runs),
                top,
                min(merits),
                max(merits),
                statistics.median(r.joules_per_call for r in metered) if metered else None,
                tuple(sorted({r.energy["method"] for r in metered})),
            )
        if row:
            found[machine_id] = row
    return found


def latest_runs(machine: Machine, *, threads: int = 1) -> list[Record]:
    """The latest correct run of each kernel and variant at its largest size: one point per variant."""
    chosen: dict[tuple[str, str, int], Record] = {}
    for r in machine.records:  # oldest first, so the latest stays
        if r.threads != threads or not r.correct:
            continue
        key = (r.kernel, column(r), r.ranks)
        if key not in chosen or tuple(r.size) >= tuple(chosen[key].size):
            chosen[key] = r
    return list(chosen.values())


def kernels_measured(pool: Pool) -> list[str]:
    return sorted({r.kernel for r in pool.records})


def columns_of(table: Mapping[str, Mapping[str, Cell]]) -> list[str]:
    return sorted({name for row in table.values() for name in row})


def _number(value: float, digits: int = 3) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}g}"


def summary_table(pool: Pool, kernel: str, *, threads: int = 1) -> Table:
    """One row per architecture class: the median over its machines of each variant's figure of merit.

    The range across the class's machines follows in brackets when it has more than one; this is
    the table that stays a handful of rows however many machines are pooled.
    """
    table = cells(pool, kernel, threads=threads)
    names = columns_of(table)
    rows = []
    for architecture, machines in pool.by_architecture().items():
        mine = [table[m.machine_id] for m in machines if m.machine_id in table]
        if not mine:
            continue
        row: dict[str, Any] = {"architecture": architecture, "machines": len(mine)}
        for name in names:
            values = [r[name].merit for r in mine if name in r]
            if not values:
                row[name] = ""
            elif len(values) == 1:
                row[name] = _number(values[0])
            else:
                low, high = min(values), max(values)
                row[name] = f"{_number(statistics.median(values))} [{_number(low)}-{_number(high)}]"
        rows.append(row)
    return Table(
        rows,
        caption=f"{kernel}: median {unit(kernel)} over each class's machines, {threads} thread(s)",
        notes=["[low-high]: the slowest and fastest machine of the class."]
        if any("[" in str(v) for row in rows for v in row.values())
        else [],
    )


def machine_table(
    pool: Pool, kernel: str, machines: Sequence[Machine], *, value: str = "merit", threads: int = 1
) -> Table:
    """One row per machine, one column per variant: the figure of merit or (``value="fraction"``)
    the fraction of that machine's own roof."""
    table = cells(pool, kernel, threads=threads)
    names = columns_of({m.machine_id: table[m.machine_id] for m in machines if m.machine_id in table})
    rows = []
    sizes = set()
    for machine in machines:
        row_cells = table.get(machine.machine_id)
        if not row_cells:
            continue
        row: dict[str, Any] = {"machine": machine.machine_id, "site": ", ".join(machine.sites)}
        for name in names:
            cell = row_cells.get(name)
            if cell is None:
                row[name] = ""
                continue
            sizes.add(cell.size)
            shown = cell.merit if value == "merit" else cell.fraction
            row[name] = _number(shown, 3 if value == "merit" else 2)
            if value == "merit" and cell.runs > 1:
                row[name] += f" ({cell.runs} runs)"
        rows.append(row)
    what = unit(kernel) if value == "merit" else "fraction of the machine's own roof"
    notes = []
    if len(sizes) > 1:
        notes.append(
            "Sizes differ between cells (each machine's default follows its caches): "
            + ", ".join("x".join(map(str, s)) for s in sorted(sizes))
            + "; the figure of merit is per byte or flop, so the cells still compare."
        )
    return Table(rows, caption=f"{kernel}: {what}, {threads} thread(s), median over runs", notes=notes)


# --- Rankings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flip:
    """On one machine ``ahead`` beat ``behind`` by ``ratio``, beyond its drift; on ``reversed_on``,
    ``behind`` beat ``ahead`` beyond theirs: a place where the ranking changes between machines."""

    ahead: str
    behind: str
    ratio: float
    reversed_on: tuple[str, ...]

    def __str__(self) -> str:
        where = (
            ", ".join(self.reversed_on)
            if len(self.reversed_on) <= 3
            else f"{len(self.reversed_on)} other machines"
        )
        return f"{self.ahead} ahead of {self.behind} ({self.ratio:.2f}x), the other way on {where}"


@dataclass(frozen=True)
class Ranking:
    machine_id: str
    order: tuple[str, ...]  # fastest first
    ties: tuple[bool, ...]  # ties[i]: order[i] and order[i + 1] lie within the machine's drift
    flips: tuple[Flip, ...]

    @property
    def changed(self) -> bool:
        return bool(self.flips)

    def __str__(self) -> str:
        text = self.order[0] if self.order else ""
        for name, tie in zip(self.order[1:], self.ties, strict=True):
            text += f" {'~' if tie else '>'} {name}"
        return text


def _beats(row: Mapping[str, Cell], a: str, b: str, band: float, by: str = "time") -> bool:
    """``a`` beat ``b`` on a machine by more than its run-to-run drift ``band``."""
    return a in row and b in row and row[a].score(by) > row[b].score(by) * (1 + band)


def rankings(pool: Pool, kernel: str, *, threads: int = 1, by: str = "time") -> list[Ranking]:
    """Each machine's order of ``kernel``'s variants, with the pairs whose order other machines reverse.

    Two variants count as ordered on a machine only when they differ by more than its run-to-run
    drift (:func:`haiend.compare.drift`); closer than that they are shown as ``~``, and a pair
    that is ordered one way on one machine and the other way on another is a flip on both.
    """
    table = cells(pool, kernel, threads=threads)
    if by == "energy":  # only the variants whose runs recorded energy, on each machine
        table = {m: kept for m, row in table.items() if (kept := {n: c for n, c in row.items() if c.joules})}
    every = pool.records
    bands = {m: compare.drift(every, m).min_effect for m in table}
    found = []
    for machine_id, row in table.items():
        order = tuple(sorted(row, key=lambda n: (-row[n].score(by), n)))
        ties = tuple(
            row[a].score(by) <= row[b].score(by) * (1 + bands[machine_id])
            for a, b in zip(order, order[1:], strict=False)
        )
        flips = []
        for i, a in enumerate(order):
            for b in order[i + 1 :]:
                if not _beats(row, a, b, bands[machine_id], by):
                    continue
                elsewhere = tuple(
                    other
                    for other, theirs in table.items()
                    if other != machine_id and _beats(theirs, b, a, bands[other], by)
                )
                if elsewhere:
                    flips.append(Flip(a, b, row[a].score(by) / row[b].score(by), elsewhere))
        found.append(Ranking(machine_id, order, ties, tuple(flips)))
    return found


def ranking_table(pool: Pool, kernel: str, *, threads: int = 1, by: str = "time") -> Table:
    """One row per machine: its order of the variants (fastest, or with ``by="energy"`` most frugal,
    first), with the places the order changes marked."""
    by_id = {r.machine_id: r for r in rankings(pool, kernel, threads=threads, by=by)}
    table = cells(pool, kernel, threads=threads)
    order = "most frugal first" if by == "energy" else "fastest first"
    rows = []
    for architecture, machines in pool.by_architecture().items():
        for machine in machines:
            ranking = by_id.get(machine.machine_id)
            if ranking is None:
                continue
            rows.append(
                {
                    "architecture": architecture,
                    "machine": machine.machine_id,
                    order: str(ranking),
                    "changes between machines": "; ".join(str(f) for f in ranking.flips),
                }
            )
            if by == "energy":
                methods = {
                    m for cell in table.get(machine.machine_id, {}).values() for m in cell.energy_methods
                }
                rows[-1]["energy"] = ", ".join(sorted(methods))
    notes = [
        "'~': the two neighbours differ by less than that machine's run-to-run drift, so their order"
        " is not a result. A change is a pair ordered one way here and the other way on another"
        " machine, each beyond its own drift."
    ]
    if by == "energy":
        notes.append(
            "By joules per call. Where the energy is estimated, it follows run time and busy threads,"
            " so the order is the order by time; only measured energy can rank differently."
        )
    return Table(rows, caption=f"{kernel}: variants {order}, {threads} thread(s)", notes=notes)


def foldable(title: str, content: Any, *, opened: bool = False) -> str:
    """HTML that folds ``content`` (a Table or HTML text) under ``title``: one class of many machines."""
    body = content._repr_html_() if hasattr(content, "_repr_html_") else str(content)
    return f"<details{' open' if opened else ''}><summary>{html.escape(title)}</summary>{body}</details>"


# --- One page per machine ---------------------------------------------------------------------


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def fingerprint_rows(fp: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The facts of a fingerprint that tell machines apart: :func:`haiend.machine.summary`, which
    ``haiend machine`` prints, with the processor's family and model, its class and whether it
    is a virtual machine."""
    rows = [(name, value) for name, value in fingerprint_summary(dict(fp)) if name != "machine id"]
    return [
        ("processor", f"{cpu_name(fp)}, {fp.get('cpu_vendor') or 'vendor not known'}"),
        ("architecture class", architecture_class(fp)),
        (
            "virtual machine",
            "yes" if fp.get("hypervisor") else "no" if "hypervisor" in fp else "not recorded",
        ),
        *rows,
    ]


def _ceilings_section(ceilings: Ceilings | None) -> list[str]:
    if ceilings is None:
        return ["No ceilings were sent with this machine's records: `haiend roofline` measures them."]
    rows = [
        (
            n,
            f"{roof.bandwidth / 1e9:.1f}",
            f"{roof.peak / 1e9:.1f}",
            f"{roof.bandwidth_source}; {roof.peak_source}",
        )
        for n, roof in sorted(ceilings.roofs.items())
    ]
    lines = [_md_table(("threads", "memory GB/s", "FP64 GFLOP/s", "measured with"), rows)]
    levels = [
        (n, level.name, bytes_in_words(level.capacity), f"{level.bandwidth / 1e9:.0f}")
        for n, found in sorted(ceilings.levels.items())
        for level in found
    ]
    if levels:
        lines += ["", "Cache bandwidths:", "", _md_table(("threads", "level", "capacity", "GB/s"), levels)]
    if ceilings.theoretical_peak_per_core:
        lines += [
            "",
            f"Theoretical FP64 peak of one core: {ceilings.theoretical_peak_per_core / 1e9:.1f} GFLOP/s"
            f" ({ceilings.peak_note or 'from the clock and the core model'}).",
        ]
    when = ceilings.measured_at or "an unrecorded date"
    lines += ["", f"Measured {when}{' at the quick size' if ceilings.quick else ''}."]
    return lines


def _measured_section(machine: Machine) -> list[str]:
    groups: dict[tuple[str, str, int, int], list[Record]] = defaultdict(list)
    for r in machine.records:
        groups[(r.kernel, r.variant, r.threads, r.ranks)].append(r)
    rows = []
    for (kernel, variant, threads, ranks), runs in sorted(groups.items()):
        top = max(tuple(r.size) for r in runs)
        at_top = [r for r in runs if tuple(r.size) == top]
        fraction = statistics.median(r.fraction_of_roof for r in at_top)
        rows.append(
            (
                kernel,
                variant,
                f"{ranks} ranks" if ranks > 1 else f"{threads} thread(s)",
                "x".join(map(str, top)),
                len(runs),
                f"{_number(statistics.median(merit_of(r) for r in at_top))} {unit(kernel)}",
                _number(fraction, 2),
                min(r.timestamp for r in runs)[:10],
            )
        )
    header = ("kernel", "variant", "spread", "largest size", "runs", "median", "of roof", "first run")
    commits = sorted({str(r.run.get("git_commit"))[:10] for r in machine.records if r.run.get("git_commit")})
    lines = [_md_table(header, rows), ""]
    if commits:
        lines.append(f"Measured with haiend at git commit(s) {', '.join(commits)}.")
    return lines


def machine_page(machine: Machine) -> str:
    """The Markdown page of one machine: who sent it, what it is, its roofs, what it measured."""
    fp = machine.fingerprint
    sites = ", ".join(
        "this reader's own results folder" if s == OWN_SITE else f"site `{s}`" for s in machine.sites
    )
    stamps = sorted(r.timestamp for r in machine.records)
    lines = [
        f"# {machine.machine_id}",
        "",
        f"{machine.cpu}, class {machine.architecture}. Contributed by {sites}:"
        f" {len(machine.records)} record(s) from {stamps[0][:10]} to {stamps[-1][:10]}."
        f" Host names are published only as a salted hash (`{fp.get('host', 'not recorded')}`).",
        "",
        "This page is written from the result files when the book is built"
        " (`haiend.catalogue.machine_page`); nothing on it is typed by hand.",
        "",
        "## Fingerprint",
        "",
        _md_table(("", ""), fingerprint_rows(fp)),
        "",
        "## Ceilings",
        "",
        *_ceilings_section(machine.ceilings),
        "",
        "## What it measured",
        "",
        *_measured_section(machine),
    ]
    return "\n".join(lines) + "\n"


def write_machine_pages(pool: Pool, folder: str | os.PathLike[str]) -> list[Path]:
    """Write one page per machine into ``folder``, removing the pages of machines no longer pooled."""
    from haiend import atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for machine in pool.machines.values():
        path = folder / f"{machine.page_name}.md"
        page = machine_page(machine)
        if not path.exists() or path.read_text(encoding="utf-8") != page:  # unchanged pages keep their time
            atomic.write_text(path, page)
        written.append(path)
    for stale in set(folder.glob("*.md")) - set(written):
        stale.unlink()
    return sorted(written)
