"""Is one realisation faster than another, or is the difference noise?

Two samples of warm per-call times are compared by the ratio of their medians, with a
percentile bootstrap interval around it. Medians, because timings are skewed: other work on a
shared machine only ever slows a call down, so a mean chases the disturbed calls. A bootstrap,
because it assumes no distribution (pyperf's ``compare_to`` uses Student's t test on means,
which assumes roughly normal samples; timings rarely are).

Direction: ``ratio = median(b) / median(a)``, the speed-up of ``a`` over ``b``. Above 1, ``a``
ran faster; below 1, slower. The verdict is ``"noise"`` when the interval contains 1, or when it
lies entirely inside ``[1 / (1 + min_effect), 1 + min_effect]``: a difference that small is
within what separate runs of the same code on a shared machine drift by. Repeats inside one run
share that run's conditions (the same frequency, the same neighbours, the same page placement),
so an interval from them alone is narrower than the spread between runs; ``min_effect`` is the
allowance for that. Otherwise the verdict is ``"faster"`` or ``"slower"`` (for ``a``).

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


def judge(ratio: float, low: float, high: float, min_effect: float = DEFAULT_MIN_EFFECT) -> str:
    """The verdict: "noise" if [low, high] holds 1 or lies inside the min_effect band, else faster/slower."""
    band = (1 / (1 + min_effect), 1 + min_effect)
    if low <= 1 <= high or (band[0] <= low and high <= band[1]):
        return "noise"
    return "faster" if ratio > 1 else "slower"


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
