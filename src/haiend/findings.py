"""Findings: claims about realisation variants, decided by the pooled records of every machine.

A finding is small data, never code (``results/findings.yaml``, checked against
``schemas/findings.schema.json``): an ``id``, the ``claim`` in one sentence, where the curriculum
teaches it (``taught_in``), the ``conditions`` under which it is meant to hold, and the ``query``
that decides it. The conditions have two parts:

* ``machine``: facts of the fingerprint (``simd`` flags it must have, ``not_simd`` flags it must
  lack, ``architecture``, ``cpu_vendor``, ``min_logical_cores``). A machine whose records never meet
  them gets "does not apply"; a fingerprint that lacks the key asked about counts as not meeting it.
* ``records``: which records count (``threads``, ``ranks``, ``data_in``: ``memory`` when the
  kernel's data is larger than the last-level cache, ``cache`` when it fits). A machine that meets
  the machine conditions but has no record that meets these gets "not measured".

A query is one of four kinds. Each side of it is a selector: ``kernel`` and ``variant``, and
optionally ``threads``, ``ranks`` and ``details`` (values the record's details must hold).

* ``ratio``: ``metric`` of the numerator over that of the denominator, literally (``gb_per_s``
  and ``gflop_per_s`` are rates, so 0.95 means "reaches 0.95 of"; ``median_s`` is a time);
  bounded by ``at_least`` and/or ``at_most``.
* ``ratio_of_ratios``: ``top`` over ``bottom``, both ratios as above ("fastmath gains more in
  float32 than in float64" is gain32 / gain64 at least 1).
* ``fraction_of_roof``: the selector's ``fraction_of_roof``, bounded as above.
* ``faster`` ... ``than``: :func:`haiend.stats.compare_runs` on the two, with ``min_effect``.

Verdicts, per machine id:

* a bound is decided by the bootstrap interval, not the point: "holds" when the whole interval
  meets it, "contradicted" when the whole interval misses it, "inconclusive" when it straddles
  the bound (the records are too noisy to say; it is shown, never dropped);
* ``faster``: "holds" when A is faster beyond the noise, "contradicted" when it is slower *or*
  the interval lies inside the ``min_effect`` band (a difference too small to matter is not the
  difference claimed), "inconclusive" when the interval holds 1 and reaches beyond the band.

Which records: on each side, the records of one setting (size, threads, ranks). Where both sides
were measured at common settings, the one with the largest size (then the most threads) is
used; sides that share no setting use the largest size of each for a rate (``gb_per_s``,
``gflop_per_s``: a stencil's bandwidth against the triad's), and are "not measured" for times
(``median_s``, ``faster``), which compare only at one size. Several runs
of that setting are pooled, not reduced to the newest: the hierarchical bootstrap of
:mod:`haiend.stats` draws runs and then times, so runs that disagree widen the interval, which
is the run-to-run noise a single run hides. Every record used is listed in the evidence.

Results are grouped by ``machine_id``; machine conditions are checked on each record's own
fingerprint, so two machines that share an id are at least not judged by one another's flags.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from haiend import stats
from haiend.errors import HaiendError

SCHEMA = Path(__file__).with_name("schemas") / "findings.schema.json"
VERDICTS = ("holds", "contradicted", "inconclusive", "not measured", "does not apply")
QUERY_KINDS = ("ratio", "ratio_of_ratios", "fraction_of_roof", "faster")


@dataclass(frozen=True)
class Finding:
    """One claim, the conditions it is meant for, and the query that decides it."""

    id: str
    claim: str
    taught_in: tuple[str, ...]
    conditions: Mapping[str, Any]
    query: Mapping[str, Any]
    note: str = ""

    @property
    def kind(self) -> str:
        return next(k for k in QUERY_KINDS if k in self.query)


@dataclass(frozen=True)
class Verdict:
    """A finding judged on one machine: the verdict, the figure that decided it, and the evidence."""

    finding: str
    machine_id: str
    verdict: str
    value: float | None = None  # the ratio or fraction; None when nothing was measured
    low: float | None = None
    high: float | None = None
    reason: str = ""  # one sentence
    evidence: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def cell(self) -> str:
        """The table cell: "holds 0.98", "contradicted 0.71", "not measured"."""
        return self.verdict if self.value is None else f"{self.verdict} {self.value:.2f}"


class FindingsTable(NamedTuple):
    rows: list[dict[str, Any]]  # one per finding: id, claim, taught_in, then a cell per machine id
    evidence: list[dict[str, Any]]  # one per finding and machine: verdict, reason, records used


# -- reading ----------------------------------------------------------------------------------------


def load(path: str | os.PathLike[str], *, check_names: bool = True) -> list[Finding]:
    """Read and validate a findings file; any problem is one HaiendError naming the file and finding.

    ``check_names`` also checks every kernel and variant against the installed kernels, so that a
    misspelt name fails here rather than reading "not measured" for ever.
    """
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HaiendError(f"findings file {path} cannot be read ({exc.strerror or exc}).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise HaiendError(f"findings file {path} is not valid YAML{where}.") from None
    return parse(raw, where=str(path), check_names=check_names)


def parse(raw: Any, *, where: str = "the findings file", check_names: bool = True) -> list[Finding]:
    """Validate data read from a findings file and build its findings."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        raise HaiendError(f"findings file {where}: {_sentence(errors[0], raw)}.")
    found: list[Finding] = []
    for item in raw["findings"]:
        finding = Finding(
            id=item["id"],
            claim=item["claim"],
            taught_in=tuple(item["taught_in"]),
            conditions=item.get("conditions") or {},
            query=item["query"],
            note=item.get("note", ""),
        )
        if any(f.id == finding.id for f in found):
            raise HaiendError(f"findings file {where}: finding {finding.id!r} appears twice.")
        if check_names:
            _check_names(finding, where)
        found.append(finding)
    return found


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def _sentence(error: Any, raw: Any) -> str:
    """One sentence for the first schema error: which finding, which key, what is wrong."""
    path = list(error.absolute_path)
    subject = "the file"
    if len(path) >= 2 and path[0] == "findings" and isinstance(path[1], int):
        item = raw["findings"][path[1]]
        name = item.get("id") if isinstance(item, dict) else None
        subject = f"finding {name!r}" if isinstance(name, str) else f"finding number {path[1] + 1}"
        path = path[2:]
    key = ".".join(str(p) for p in path)
    at = f"{subject}, key {key!r}," if key else subject
    if error.validator == "oneOf" and path and path[-1] == "query":
        return (
            f"{at} must have exactly one of ratio, ratio_of_ratios, fraction_of_roof (each with at_least"
            " or at_most) or faster with than (and optionally min_effect)"
        )
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        return f"{at} lacks {missing!r}"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        extra = [k for k in extra if not k.startswith("_")] or extra
        return f"{at} has the unknown key {extra[0]!r}"
    if error.validator == "enum":
        return f"{at} must be one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "pattern":
        return f"{at} {json.dumps(error.instance)} is not in the expected form"
    return f"{at} {error.message}"


def _check_names(finding: Finding, where: str) -> None:
    from haiend import kernels

    known = set(kernels.names())
    for selector in _selectors(finding.query):
        name, variant = selector["kernel"], selector["variant"]
        if name not in known:
            raise HaiendError(
                f"findings file {where}: finding {finding.id!r} names the unknown kernel {name!r}."
            )
        if variant not in kernels.get(name).variants:
            raise HaiendError(
                f"findings file {where}: finding {finding.id!r} names {variant!r}, which is not a variant"
                f" of {name} (it has {', '.join(kernels.get(name).variants)})."
            )


def _selectors(query: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "ratio" in query:
        return [query["ratio"]["numerator"], query["ratio"]["denominator"]]
    if "ratio_of_ratios" in query:
        q = query["ratio_of_ratios"]
        return [
            q["top"]["numerator"],
            q["top"]["denominator"],
            q["bottom"]["numerator"],
            q["bottom"]["denominator"],
        ]
    if "fraction_of_roof" in query:
        return [query["fraction_of_roof"]]
    return [query["faster"], query["than"]]


# -- evaluating -------------------------------------------------------------------------------------


def evaluate(finding: Finding, records: Iterable[Any], *, seed: int = 0) -> list[Verdict]:
    """The verdict of one finding on every machine id the records come from, sorted by id."""
    by_machine: dict[str, list[Any]] = {}
    for record in _record_list(records):
        by_machine.setdefault(record.machine_id, []).append(record)
    return [_on_machine(finding, mid, by_machine[mid], seed) for mid in sorted(by_machine)]


def evaluate_all(
    findings_path: str | os.PathLike[str], records: Iterable[Any], *, seed: int = 0
) -> list[Verdict]:
    """Every finding of a file on every machine of the records (a ``records.Loaded`` or a list)."""
    records = _record_list(records)
    return [v for f in load(findings_path) for v in evaluate(f, records, seed=seed)]


def findings_table(findings: Sequence[Finding], verdicts: Sequence[Verdict]) -> FindingsTable:
    """Rows for a findings x machines table, and the evidence behind every cell.

    Every finding has a row, whatever its verdicts: a contradicted finding is shown as such.
    """
    machines = sorted({v.machine_id for v in verdicts})
    rows, evidence = [], []
    for finding in findings:
        row: dict[str, Any] = {
            "finding": finding.id,
            "claim": finding.claim,
            "taught in": ", ".join(finding.taught_in),
        }
        mine = {v.machine_id: v for v in verdicts if v.finding == finding.id}
        for mid in machines:
            row[mid] = mine[mid].cell() if mid in mine else "not measured"
        rows.append(row)
        for mid in machines:
            if mid in mine:
                v = mine[mid]
                evidence.append(
                    {
                        "finding": finding.id,
                        "machine": mid,
                        "verdict": v.verdict,
                        "value": v.value,
                        "interval": None if v.low is None else (v.low, v.high),
                        "reason": v.reason,
                        "records": list(v.evidence),
                    }
                )
    return FindingsTable(rows, evidence)


def _record_list(records: Iterable[Any]) -> list[Any]:
    return list(getattr(records, "records", records))


def _on_machine(finding: Finding, machine_id: str, mine: list[Any], seed: int) -> Verdict:
    def verdict(name: str, reason: str, **kw: Any) -> Verdict:
        return Verdict(finding.id, machine_id, name, reason=reason, **kw)

    wanted = finding.conditions.get("machine") or {}
    eligible = [r for r in mine if _machine_meets(r.machine or {}, wanted) is None]
    if not eligible:
        return verdict("does not apply", f"The machine {_machine_meets(mine[-1].machine or {}, wanted)}.")
    wanted_records = finding.conditions.get("records") or {}
    kept = [r for r in eligible if _record_meets(r, wanted_records)]
    try:
        measured = _measure(finding.query, kept, seed)
    except _NotMeasured as missing:
        return verdict("not measured", _why_missing(missing, eligible, wanted_records))
    name, reason = _decide(finding, measured)
    return verdict(
        name, reason, value=measured.value, low=measured.low, high=measured.high, evidence=measured.used
    )


def _why_missing(missing: _NotMeasured, eligible: list[Any], wanted: Mapping[str, Any]) -> str:
    """Why a side has no record; where the record conditions left some out, say how many."""
    if missing.selector is None:
        return str(missing)
    rejected = len(_selected(missing.selector, eligible))
    if not rejected:
        return f"No record of {_describe(missing.selector)} was found for this machine."
    asked = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in wanted.items())
    return f"{rejected} record(s) of {_describe(missing.selector)} exist for this machine, none with {asked}."


def _machine_meets(machine: Mapping[str, Any], wanted: Mapping[str, Any]) -> str | None:
    """None if the fingerprint meets the conditions, else why not (a phrase after "the machine")."""
    simd = machine.get("simd")
    if wanted.get("simd") or wanted.get("not_simd"):
        if not isinstance(simd, list):
            return "does not list its SIMD flags in its fingerprint"
        lacking = [f for f in wanted.get("simd", []) if f not in simd]
        if lacking:
            return f"lacks {', '.join(lacking)} (its SIMD flags: {', '.join(simd) or 'none'})"
        present = [f for f in wanted.get("not_simd", []) if f in simd]
        if present:
            return f"has {', '.join(present)}, which the finding excludes"
    for key in ("architecture", "cpu_vendor"):
        if key in wanted and machine.get(key) != wanted[key]:
            return f"has {key} {machine.get(key, 'unknown')}, not {wanted[key]}"
    if "min_logical_cores" in wanted and (machine.get("logical_cores") or 0) < wanted["min_logical_cores"]:
        return f"has {machine.get('logical_cores', 'an unknown number of')} logical cores, fewer than {wanted['min_logical_cores']}"
    return None


def _record_meets(record: Any, wanted: Mapping[str, Any]) -> bool:
    if "threads" in wanted and record.threads != wanted["threads"]:
        return False
    if "ranks" in wanted and record.ranks != wanted["ranks"]:
        return False
    if "data_in" in wanted:
        where = data_level(record)
        if where is None or (where == "memory") != (wanted["data_in"] == "memory"):
            return False
    return True


def data_level(record: Any) -> str | None:
    """Where the data lived: "memory" if it did not fit the last-level cache, else the cache level.

    Newer records carry the level their roof was taken from (``roof["level"]``); for older ones
    the kernel's footprint at the record's size is compared with the fingerprint's last-level
    cache. None when neither can be told (an unknown kernel, no cache sizes).
    """
    level = (record.roof or {}).get("level")
    if isinstance(level, str) and level:
        return level
    from haiend import kernels

    machine = record.machine or {}
    llc = machine.get("last_level_cache_bytes") or max((machine.get("caches") or {}).values(), default=0)
    if not llc or record.kernel not in kernels.names():
        return None
    footprint = kernels.get(record.kernel).footprint(tuple(record.size))
    return "memory" if footprint > llc else "cache"


class _NotMeasured(Exception):
    """No record, or no usable one, for a side of a query; the message is one sentence."""

    def __init__(self, message: str, selector: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.selector = selector


@dataclass(frozen=True)
class _Measured:
    value: float
    low: float
    high: float
    samples: np.ndarray  # bootstrap samples of the value
    used: tuple[Mapping[str, Any], ...]
    comparison: stats.Comparison | None = None


def _selected(selector: Mapping[str, Any], records: list[Any]) -> list[Any]:
    out = []
    for r in records:
        if r.kernel != selector["kernel"] or r.variant != selector["variant"]:
            continue
        if "threads" in selector and r.threads != selector["threads"]:
            continue
        if "ranks" in selector and r.ranks != selector["ranks"]:
            continue
        details = r.details or {}
        if any(details.get(k) != v for k, v in (selector.get("details") or {}).items()):
            continue
        out.append(r)
    return out


def _describe(selector: Mapping[str, Any]) -> str:
    extra = [f"{k}={selector[k]}" for k in ("threads", "ranks") if k in selector]
    extra += [f"{k}={v}" for k, v in (selector.get("details") or {}).items()]
    return f"{selector['kernel']} {selector['variant']}" + (f" ({', '.join(extra)})" if extra else "")


def _setting(record: Any) -> tuple[tuple[int, ...], int, int]:
    return tuple(record.size), record.threads, record.ranks


def _largest(settings: Iterable[tuple[tuple[int, ...], int, int]]) -> tuple[tuple[int, ...], int, int]:
    return max(settings, key=lambda s: (int(np.prod(s[0])), s[1], s[2], s[0]))


def _pair(
    selectors: Sequence[Mapping[str, Any]], records: list[Any], *, same_size: bool = False
) -> list[list[Any]]:
    """The records of each selector at one setting (see the module docstring for which).

    ``same_size``: only a common setting will do, as for times, which compare only at one size.
    """
    sides = []
    for selector in selectors:
        found = _selected(selector, records)
        if not found:
            raise _NotMeasured(f"No record of {_describe(selector)} meets the conditions.", selector)
        sides.append(found)
    common = set.intersection(*({_setting(r) for r in side} for side in sides))
    if common:
        chosen = _largest(common)
        return [[r for r in side if _setting(r) == chosen] for side in sides]
    if same_size:
        names = " and ".join(_describe(s) for s in selectors)
        raise _NotMeasured(f"{names} were not measured at a common size, thread and rank count.")
    out = []
    for side in sides:
        chosen = _largest({_setting(r) for r in side})
        out.append([r for r in side if _setting(r) == chosen])
    return out


def _evidence(record: Any) -> dict[str, Any]:
    return {
        "kernel": record.kernel,
        "variant": record.variant,
        "size": list(record.size),
        "dtype": record.dtype,
        "threads": record.threads,
        "ranks": record.ranks,
        "median_s": record.median_s,
        "gb_per_s": record.gb_per_s,
        "gflop_per_s": record.gflop_per_s,
        "fraction_of_roof": record.fraction_of_roof,
        "times": len(record.times),
        "timestamp": record.timestamp,
        "level": data_level(record),
        "cpu_model": (record.machine or {}).get("cpu_model"),
        "simd": (record.machine or {}).get("simd"),
    }


def _samples(record: Any, metric: str) -> np.ndarray:
    """The record's times turned into the metric, one value per timed call."""
    times = np.asarray(record.times, dtype=float)
    times = times[np.isfinite(times) & (times > 0)]
    if not times.size:
        raise _NotMeasured(f"The record of {record.kernel} {record.variant} holds no usable time.")
    if metric == "median_s":
        return times
    per_call = {"gb_per_s": record.gb_per_s, "gflop_per_s": record.gflop_per_s}.get(metric)
    if metric == "fraction_of_roof":
        per_call = record.fraction_of_roof
    if per_call is None or not np.isfinite(per_call) or per_call <= 0:
        raise _NotMeasured(f"The record of {record.kernel} {record.variant} has no positive {metric}.")
    return per_call * record.median_s / times  # each call's own rate


def _bootstrap(runs: list[np.ndarray], rng: np.random.Generator) -> tuple[float, np.ndarray]:
    return stats.pooled_median(runs), stats.bootstrap_medians(
        runs, resamples=stats.DEFAULT_RESAMPLES, rng=rng
    )


def _ratio(spec: Mapping[str, Any], records: list[Any], rng: np.random.Generator) -> _Measured:
    num, den = _pair(
        [spec["numerator"], spec["denominator"]], records, same_size=spec["metric"] == "median_s"
    )
    metric = spec["metric"]
    n_point, n_boot = _bootstrap([_samples(r, metric) for r in num], rng)
    d_point, d_boot = _bootstrap([_samples(r, metric) for r in den], rng)
    boot = n_boot / d_boot
    low, high = stats.percentile_interval(boot)
    return _Measured(n_point / d_point, low, high, boot, tuple(_evidence(r) for r in num + den))


def _measure(query: Mapping[str, Any], records: list[Any], seed: int) -> _Measured:
    rng = np.random.default_rng(seed)
    if "ratio" in query:
        return _ratio(query["ratio"], records, rng)
    if "ratio_of_ratios" in query:
        top = _ratio(query["ratio_of_ratios"]["top"], records, rng)
        bottom = _ratio(query["ratio_of_ratios"]["bottom"], records, rng)
        boot = top.samples / bottom.samples
        low, high = stats.percentile_interval(boot)
        return _Measured(top.value / bottom.value, low, high, boot, top.used + bottom.used)
    if "fraction_of_roof" in query:
        (side,) = _pair([query["fraction_of_roof"]], records)
        point, boot = _bootstrap([_samples(r, "fraction_of_roof") for r in side], rng)
        low, high = stats.percentile_interval(boot)
        return _Measured(point, low, high, boot, tuple(_evidence(r) for r in side))
    a, b = _pair([query["faster"], query["than"]], records, same_size=True)
    comparison = stats.compare_runs(
        [r.times for r in a],
        [r.times for r in b],
        min_effect=query.get("min_effect", stats.DEFAULT_MIN_EFFECT),
        seed=seed,
        labels=(_describe(query["faster"]), _describe(query["than"])),
    )
    used = tuple(_evidence(r) for r in a + b)
    return _Measured(comparison.ratio, comparison.low, comparison.high, np.array([]), used, comparison)


def _decide(finding: Finding, m: _Measured) -> tuple[str, str]:
    """The verdict and one sentence saying why, from the measured value and its interval."""
    if m.comparison is not None:
        c = m.comparison
        if c.verdict == "faster":
            return "holds", str(c)
        if c.verdict == "slower":
            return "contradicted", str(c)
        band = (1 / (1 + c.min_effect), 1 + c.min_effect)
        if band[0] <= c.low and c.high <= band[1]:
            return "contradicted", f"{str(c)[:-1]}, too small a difference for the claim."
        return "inconclusive", str(c)
    q = finding.query
    interval = f"{m.value:.3g} (95% interval {m.low:.3g} to {m.high:.3g})"
    misses, straddles = [], []
    if "at_least" in q:
        if m.high < q["at_least"]:
            misses.append(f"below {q['at_least']}")
        elif m.low < q["at_least"]:
            straddles.append(f"at least {q['at_least']}")
    if "at_most" in q:
        if m.low > q["at_most"]:
            misses.append(f"above {q['at_most']}")
        elif m.high > q["at_most"]:
            straddles.append(f"at most {q['at_most']}")
    if misses:
        return (
            "contradicted",
            f"The {finding.kind.replace('_', ' ')} was {interval}, wholly {' and '.join(misses)}.",
        )
    if straddles:
        return (
            "inconclusive",
            f"The {finding.kind.replace('_', ' ')} was {interval}, which may or may not be {' and '.join(straddles)}.",
        )
    bounds = ([f"at least {q['at_least']}"] if "at_least" in q else []) + (
        [f"at most {q['at_most']}"] if "at_most" in q else []
    )
    return "holds", f"The {finding.kind.replace('_', ' ')} was {interval}, wholly {' and '.join(bounds)}."
