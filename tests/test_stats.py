"""haiend.stats: ratios of medians with a bootstrap interval, and when a difference is noise."""

from pathlib import Path

import numpy as np
import pytest

from haiend import records, stats
from haiend.errors import HaiendError


def sample(median, n=30, spread=0.02, seed=1):
    """Times around ``median``, skewed upwards as timings on a busy machine are."""
    rng = np.random.default_rng(seed)
    return median * (1 + np.abs(rng.normal(0, spread, n)))


def test_identical_distributions_are_noise():
    result = stats.compare_times(sample(1e-3, seed=1), sample(1e-3, seed=2))
    assert result.verdict == "noise"
    assert result.low <= 1 <= result.high or result.high <= 1 + stats.DEFAULT_MIN_EFFECT


def test_twice_as_slow_is_slower_and_twice_as_fast_is_faster():
    fast, slow = sample(1e-3, seed=1), sample(2e-3, seed=2)
    a_faster = stats.compare_times(fast, slow)
    assert a_faster.verdict == "faster"
    assert a_faster.ratio == pytest.approx(2, rel=0.05)
    assert 1 < a_faster.low <= a_faster.ratio <= a_faster.high
    a_slower = stats.compare_times(slow, fast)
    assert a_slower.verdict == "slower"
    assert a_slower.ratio == pytest.approx(1 / a_faster.ratio)


def test_direction_is_median_b_over_median_a():
    result = stats.compare_times([1.0, 1.0, 1.0], [3.0, 3.0, 3.0])
    assert result.ratio == 3.0
    assert "A ran 3 times as fast as B" in str(result)


def test_same_seed_same_interval_and_other_seed_differs():
    a, b = sample(1e-3, seed=1), sample(1.1e-3, seed=2, spread=0.1)
    first, again = stats.compare_times(a, b, seed=7), stats.compare_times(a, b, seed=7)
    assert (first.low, first.high) == (again.low, again.high)
    other = stats.compare_times(a, b, seed=8)
    assert (other.low, other.high) != (first.low, first.high)


def test_one_time_each_gives_an_interval_of_width_zero_and_min_effect_decides():
    tiny = stats.compare_times([1.0], [1.03])
    assert tiny.low == tiny.high == pytest.approx(1.03)
    assert tiny.verdict == "noise"  # inside the 5 % band
    large = stats.compare_times([1.0], [1.2])
    assert large.low == large.high == pytest.approx(1.2)
    assert large.verdict == "faster"
    assert stats.compare_times([1.0], [1.03], min_effect=0.01).verdict == "faster"


def test_an_interval_inside_the_band_is_noise_even_without_1():
    a, b = sample(1.00, n=200, spread=0.001, seed=1), sample(1.02, n=200, spread=0.001, seed=2)
    result = stats.compare_times(a, b)
    assert result.low > 1  # clearly different...
    assert result.verdict == "noise"  # ...but by less than min_effect
    assert stats.compare_times(a, b, min_effect=0.0).verdict == "faster"


def test_judge_rules():
    assert stats.judge(1.5, 0.9, 2.0) == "noise"  # holds 1
    assert stats.judge(1.03, 1.01, 1.04) == "noise"  # inside the band
    assert stats.judge(1.06, 1.01, 1.1) == "noise"  # reaches into the band
    assert stats.judge(1.2, 1.1, 1.3) == "faster"  # wholly beyond the band
    assert stats.judge(0.5, 0.4, 0.6) == "slower"


def test_str_is_one_sentence():
    text = str(stats.compare_times(sample(1e-3), sample(2e-3), labels=("numba", "numpy")))
    assert text.startswith("numba ran ") and text.endswith("faster.")
    assert text.count(".") <= 4 and "\n" not in text


def test_pooled_runs_that_disagree_widen_the_interval():
    run1, run2 = sample(1.0, n=20, spread=0.005, seed=1), sample(1.2, n=20, spread=0.005, seed=2)
    other = sample(1.1, n=20, spread=0.005, seed=3)
    one_run = stats.compare_runs([run1], [other])
    pooled = stats.compare_runs([run1, run2], [other])
    assert pooled.runs_a == 2 and pooled.times_a == 40
    assert pooled.high - pooled.low > 3 * (one_run.high - one_run.low)
    assert pooled.verdict == "noise"  # the two runs of A disagree more than A differs from B


def test_two_runs_of_one_variant_are_noise_and_a_clear_gap_is_not():
    variant = [sample(1e-3, seed=s) for s in (1, 2, 3)]
    assert stats.compare_runs(variant[:2], variant[2:]).verdict == "noise"
    slower = [sample(1.8e-3, seed=s) for s in (4, 5)]
    assert stats.compare_runs(variant, slower).verdict == "faster"


def test_bad_input_is_one_sentence():
    with pytest.raises(HaiendError, match="no times"):
        stats.compare_times([], [1.0])
    with pytest.raises(HaiendError, match="positive"):
        stats.compare_times([0.0, 1.0], [1.0])
    with pytest.raises(HaiendError, match="confidence"):
        stats.compare_times([1.0], [1.0], confidence=95)


# -- on real records --------------------------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


def triads(folder):
    loaded = records.load(FIXTURES / folder)
    assert loaded.problems == []
    by_variant = {}
    for r in loaded.records:
        if r.kernel == "stream.triad" and r.threads == 1:
            by_variant.setdefault(r.variant, []).append(r.times)
    return by_variant


def test_two_runs_of_one_variant_on_one_machine_are_noise():
    runs = triads("results-zen4-quick")
    for variant in ("numba", "numpy"):
        first, second = runs[variant]
        assert stats.compare_times(first, second).verdict == "noise", variant


def test_numba_against_numpy_triad_is_not_noise():
    for folder in ("results-zen3", "results-zen4-quick"):
        runs = triads(folder)
        assert stats.compare_runs(runs["numba"], runs["numpy"]).verdict == "faster", folder
