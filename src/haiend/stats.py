"""Is one realisation faster than another, or is the difference noise?

Two samples of warm per-call times are compared by the ratio of their medians, with a
percentile bootstrap interval around it. Medians, because timings are skewed: other work on a
shared machine only ever slows a call down, so a mean chases the disturbed calls. A bootstrap,
because it assumes no distribution (pyperf's ``compare_to`` uses Student's t test on means,
which assumes roughly normal samples; timings rarely are).

Direction: ``ratio = median(b) / median(a)``, the speed-up of ``a`` over ``b``. Above 1, ``a``
ran faster; below 1, slower. The verdict is ``"faster"`` or ``"slower"`` only when the whole
interval lies beyond ``[1 / (1 + min_effect), 1 + min_effect]``, and ``"noise"`` when any of it
reaches into that band: a difference that small is within what separate runs of the same code on
a shared machine drift by. Repeats inside one run
share that run's conditions (the same frequency, the same neighbours, the same page placement),
so an interval from them alone is narrower than the spread between runs; ``min_effect`` is the
allowance for that; :func:`drift` measures it for a machine from the keys it ran more than once.

When a key was measured several times, :func:`compare_runs` pools the runs with a
hierarchical bootstrap (runs drawn with replacement, then times within each drawn run), so the
interval widens by as much as the runs disagree. With one time per sample the interval has
width 0 and the verdict rests on ``min_effect`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from haiend.errors import HaiendError

DEFAULT_MIN_EFFECT = 0.05  # a first guess at run-to-run drift on a shared VM; to be re-measured
DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95

Runs = Sequence[Sequence[float]]


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing A with B: ``ratio`` = median(B) / median(A), the speed-up of A."""

    ratio: float
    low: float
    high: float
    confidence: float
    min_effect: float
    verdict: str  # "faster", "slower" (said of A) or "noise"
    times_a: int
    times_b: int
    runs_a: int = 1
    runs_b: int = 1
    label_a: str = "A"
    label_b: str = "B"

    def __str__(self) -> str:
        interval = f"{self.confidence:.0%} interval {self.low:.3g} to {self.high:.3g}"
        said = f"{self.label_a} ran {self.ratio:.3g} times as fast as {self.label_b} ({interval})"
        if self.verdict == "noise":
            return f"{said}: within the noise (differences under {self.min_effect:.0%} are not counted)."
        return f"{said}: {self.verdict}."


def compare_times(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    min_effect: float = DEFAULT_MIN_EFFECT,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    labels: tuple[str, str] = ("A", "B"),
) -> Comparison:
    """Compare two samples of times of one run each; see the module docstring for the rules."""
    return compare_runs(
        [a], [b], confidence=confidence, min_effect=min_effect, resamples=resamples, seed=seed, labels=labels
    )


def compare_runs(
    a_runs: Runs,
    b_runs: Runs,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    min_effect: float = DEFAULT_MIN_EFFECT,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    labels: tuple[str, str] = ("A", "B"),
) -> Comparison:
    """Compare several runs of A with several runs of B, pooled by a hierarchical bootstrap."""
    _check_settings(confidence, min_effect, resamples)
    a, b = _as_runs(a_runs, labels[0]), _as_runs(b_runs, labels[1])
    rng = np.random.default_rng(seed)
    ratios = bootstrap_medians(b, resamples=resamples, rng=rng) / bootstrap_medians(
        a, resamples=resamples, rng=rng
    )
    ratio = pooled_median(b) / pooled_median(a)
    low, high = percentile_interval(ratios, confidence)
    return Comparison(
        ratio=ratio,
        low=low,
        high=high,
        confidence=confidence,
        min_effect=min_effect,
        verdict=judge(ratio, low, high, min_effect),
        times_a=sum(r.size for r in a),
        times_b=sum(r.size for r in b),
        runs_a=len(a),
        runs_b=len(b),
        label_a=labels[0],
        label_b=labels[1],
    )


@dataclass(frozen=True)
class Drift:
    """How far apart separate runs of the same code came out on one machine."""

    min_effect: float  # the smallest relative difference that counts there
    keys: int  # how many keys (variant, size, threads) were run more than once
    largest: float | None  # the largest ratio of medians between two runs of one key; None if no key was

    def __str__(self) -> str:
        if self.largest is None:
            return f"no variant was run twice on it, so differences under {self.min_effect:.0%} are taken as noise"
        return (
            f"separate runs of one variant differed by up to {self.largest - 1:.0%} on it"
            f" ({self.keys} variant(s) run more than once), so differences under {self.min_effect:.0%} are noise"
        )


def drift(runs_by_key: Sequence[Runs], *, floor: float = DEFAULT_MIN_EFFECT) -> Drift:
    """The run-to-run drift of one machine, from every key it ran more than once.

    Repeats inside one run share its conditions; separate runs do not (another tenant's load, the
    clock, where the pages landed), and on a shared VM their medians can differ by far more than
    any one run's spread. A difference no larger than the largest seen between two runs of the
    same code on this machine cannot be told from that drift, so it is the smallest effect that
    counts there (never less than ``floor``). The largest, not a percentile: with the few repeated
    runs a catalogue holds, a percentile would be the largest anyway, and erring towards "noise"
    is the honest side. With no key run twice there is no evidence, and ``floor`` is used.
    """
    largest = None
    keys = 0
    for runs in runs_by_key:
        medians = [float(np.median(r)) for r in runs if len(r)]
        if len(medians) < 2:
            continue
        keys += 1
        ratio = max(medians) / min(medians)
        largest = ratio if largest is None else max(largest, ratio)
    effect = floor if largest is None else max(floor, largest - 1)
    return Drift(effect, keys, largest)


def judge(ratio: float, low: float, high: float, min_effect: float = DEFAULT_MIN_EFFECT) -> str:
    """The verdict: "faster" or "slower" only when the whole interval lies beyond the min_effect band
    around 1; "noise" when any of it reaches into the band (or holds 1)."""
    if low > 1 + min_effect:
        return "faster"
    if high < 1 / (1 + min_effect):
        return "slower"
    return "noise"


def bootstrap_medians(
    runs: Runs, *, resamples: int = DEFAULT_RESAMPLES, rng: np.random.Generator
) -> np.ndarray:
    """Medians of ``resamples`` hierarchical resamples: runs drawn with replacement, then times.

    Every resample holds as many runs as there are, each drawn run contributing as many times as
    it holds, so a long run weighs more than a short one, as it does in the pooled median.
    With one run this is the ordinary bootstrap of its times.
    """
    arrays = [np.asarray(r, dtype=float) for r in runs]
    longest = max(r.size for r in arrays)
    picked = rng.integers(0, len(arrays), size=(resamples, len(arrays)))
    values = np.full((resamples, len(arrays) * longest), np.nan)
    for slot in range(len(arrays)):
        for index, run in enumerate(arrays):
            rows = np.flatnonzero(picked[:, slot] == index)
            if rows.size:
                draws = run[rng.integers(0, run.size, size=(rows.size, run.size))]
                values[rows, slot * longest : slot * longest + run.size] = draws
    return np.nanmedian(values, axis=1)


def pooled_median(runs: Runs) -> float:
    """The median of every time of every run: the point estimate the bootstrap varies."""
    return float(np.median(np.concatenate([np.asarray(r, dtype=float) for r in runs])))


def percentile_interval(samples: np.ndarray, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """The central ``confidence`` part of bootstrap samples (the percentile interval)."""
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.asarray(samples, dtype=float), [tail, 1 - tail])
    return float(low), float(high)


def _as_runs(runs: Runs, label: str) -> list[np.ndarray]:
    arrays = [np.asarray(r, dtype=float).ravel() for r in runs]
    arrays = [r for r in arrays if r.size]
    if not arrays:
        raise HaiendError(f"{label} has no times to compare: measure it first.")
    if any(not np.all(np.isfinite(r) & (r > 0)) for r in arrays):
        raise HaiendError(f"{label} holds a time that is not a positive number, so no ratio can be taken.")
    return arrays


def _check_settings(confidence: float, min_effect: float, resamples: int) -> None:
    if not 0 < confidence < 1:
        raise HaiendError(f"confidence must lie between 0 and 1, not {confidence}.")
    if min_effect < 0:
        raise HaiendError(f"min_effect must be 0 or more, not {min_effect}.")
    if resamples < 1:
        raise HaiendError(f"resamples must be at least 1, not {resamples}.")
