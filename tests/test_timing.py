"""haiend.timing.benchmark with a scripted clock: exact, fast, and independent of this machine's load."""

import math
import re
import sys
import types

import pytest

from haiend import timing
from haiend.timing import BenchmarkResult, benchmark, format_seconds


class FakeClock:
    """A clock that only moves when the benchmarked function (or sync) says so.

    ``durations`` are the seconds each successive call of ``func`` takes; the last one repeats
    when the script runs out. Every event (timer read, call, sync) is logged in order.
    """

    def __init__(self, durations, sync_duration=0.0):
        self.now = 100.0
        self.durations = list(durations)
        self.sync_duration = sync_duration
        self.calls = 0
        self.events = []

    def timer(self):
        self.events.append("timer")
        return self.now

    def func(self, *args, **kwargs):
        index = min(self.calls, len(self.durations) - 1)
        self.now += self.durations[index]
        self.calls += 1
        self.events.append("call")
        self.last_args = (args, kwargs)

    def sync(self):
        self.now += self.sync_duration
        self.events.append("sync")


def test_cold_call_is_timed_apart_and_exactly():
    clock = FakeClock([5.0, 1.0])
    result = benchmark(clock.func, n_repeat=3, n_warmup=0, min_time=0.0, timer=clock.timer)
    assert result.cold_time == 5.0
    assert result.times == (1.0, 1.0, 1.0)
    assert result.warmup_times == ()
    assert clock.calls == 1 + 3


def test_warmup_calls_are_counted_and_kept():
    clock = FakeClock([5.0, 3.0, 2.0, 1.5, 1.0])
    result = benchmark(clock.func, n_repeat=2, n_warmup=3, min_time=0.0, timer=clock.timer)
    assert result.cold_time == 5.0
    assert result.warmup_times == (3.0, 2.0, 1.5)
    assert result.times == (1.0, 1.0)
    assert clock.calls == 1 + 3 + 2


@pytest.mark.parametrize("n_repeat", [1, 2, 7])
def test_n_repeat_is_respected(n_repeat):
    clock = FakeClock([1.0])
    result = benchmark(clock.func, n_repeat=n_repeat, n_warmup=1, min_time=0.0, timer=clock.timer)
    assert result.n_repeat == n_repeat == len(result.times)
    assert clock.calls == 1 + 1 + n_repeat


def test_args_and_kwargs_are_passed():
    clock = FakeClock([1.0])
    benchmark(clock.func, (1, "two"), {"three": 3}, n_repeat=1, min_time=0.0, timer=clock.timer)
    assert clock.last_args == ((1, "two"), {"three": 3})


def test_max_duration_stops_early():
    clock = FakeClock([1.0])
    result = benchmark(
        clock.func, n_repeat=100, n_warmup=0, max_duration=2.5, min_time=0.0, timer=clock.timer
    )
    assert result.n_repeat == 3  # 1 s, 2 s, then 3 s >= 2.5 s: stop
    assert clock.calls == 1 + 3


@pytest.mark.parametrize("max_duration", [0.0, 1e-9])
def test_max_duration_always_takes_one_repeat(max_duration):
    clock = FakeClock([10.0])
    result = benchmark(
        clock.func, n_repeat=100, n_warmup=1, max_duration=max_duration, min_time=0.0, timer=clock.timer
    )
    assert result.n_repeat == 1
    assert result.times == (10.0,)


def test_short_calls_are_batched():
    per_call = 2.0**-20  # exact in binary, so the batch size is exact
    clock = FakeClock([per_call])
    result = benchmark(clock.func, n_repeat=4, n_warmup=1, min_time=2.0**-14, timer=clock.timer)
    assert result.batch == 64
    assert clock.calls == 1 + 1 + 4 * 64
    assert result.times == pytest.approx([per_call] * 4, rel=1e-9)
    assert "64 calls per sample" in str(result)


def test_batched_sample_is_the_mean_per_call():
    # cold 1 s, warm-up 1 us; then each batch of 10 alternates 1 us and 3 us: mean 2 us per call
    clock = FakeClock([1.0, 1e-6] + [1e-6, 3e-6] * 50)
    result = benchmark(clock.func, n_repeat=2, n_warmup=1, min_time=1e-5 - 1e-12, timer=clock.timer)
    assert result.batch == 10
    assert result.times == pytest.approx([2e-6, 2e-6], rel=1e-6)


def test_calls_longer_than_min_time_are_not_batched():
    clock = FakeClock([1e-3])
    result = benchmark(clock.func, n_repeat=3, n_warmup=1, min_time=1e-4, timer=clock.timer)
    assert result.batch == 1
    assert clock.calls == 1 + 1 + 3


def test_given_cold_time_means_no_extra_cold_call():
    clock = FakeClock([1.0])
    result = benchmark(clock.func, n_repeat=3, n_warmup=2, cold_time=42.0, min_time=0.0, timer=clock.timer)
    assert result.cold_time == 42.0
    assert clock.calls == 2 + 3
    assert result.warmup_times == (1.0, 1.0)


def test_sync_is_called_inside_the_timed_region():
    clock = FakeClock([1.0], sync_duration=0.5)
    result = benchmark(clock.func, n_repeat=2, n_warmup=1, sync=clock.sync, min_time=0.0, timer=clock.timer)
    # the time sync takes is part of every measurement
    assert result.cold_time == 1.5
    assert result.warmup_times == (1.5,)
    assert result.times == (1.5, 1.5)
    # every timed region is: timer, call, sync, timer. Other timer reads (the repeat loop checking
    # max_duration) may come between regions, but no call or sync lies outside one.
    events = "".join({"timer": "t", "call": "c", "sync": "s"}[e] for e in clock.events)
    assert re.fullmatch(r"(tcst|t)*", events), events
    assert events.count("tcst") == 4  # cold, warm-up, two repeats


def test_statistics_on_known_values():
    result = BenchmarkResult("known", times=(1.0, 2.0, 3.0, 4.0, 10.0), warmup_times=(), cold_time=20.0)
    assert result.median == 3.0
    assert result.min == 1.0
    assert result.q1 == 2.0
    assert result.q3 == 4.0
    assert result.iqr == 2.0
    assert result.spread == pytest.approx(2.0 / 3.0)
    data = result.to_dict()
    assert data["median"] == 3.0 and data["iqr"] == 2.0 and data["times"] == [1.0, 2.0, 3.0, 4.0, 10.0]


def test_statistics_from_a_scripted_benchmark():
    clock = FakeClock([9.0, 9.0, 4.0, 1.0, 3.0, 2.0])
    result = benchmark(clock.func, n_repeat=4, n_warmup=1, min_time=0.0, timer=clock.timer)
    assert result.times == (4.0, 1.0, 3.0, 2.0)
    assert result.median == 2.5
    assert result.min == 1.0
    assert result.iqr == pytest.approx(3.25 - 1.75)
    assert result.spread == pytest.approx(1.5 / 2.5)


def test_text_and_html_show_the_figures():
    result = BenchmarkResult(
        "triad", times=(1e-3, 2e-3, 3e-3, 4e-3, 10e-3), warmup_times=(5e-3,), cold_time=0.25, batch=8
    )
    text = str(result)
    for figure in ("triad", "median 3 ms", "min 1 ms", "IQR 2 ms", "spread 66.7 %", "5 repeats",
                   "8 calls per sample", "cold call 250 ms", "1 warm-up"):
        assert figure in text
    page = result._repr_html_()
    assert page.startswith("<table>") and "<caption>triad</caption>" in page
    for figure in ("3 ms", "1 ms", "2 ms", "66.7 %", "5 x 8 calls", "250 ms", "perf_counter"):
        assert f"<td>{figure}</td>" in page


def test_html_escapes_the_name():
    result = BenchmarkResult("<b>&", times=(1.0,), warmup_times=(), cold_time=1.0)
    assert "<caption>&lt;b&gt;&amp;</caption>" in result._repr_html_()


def test_name_defaults_to_the_function_name():
    clock = FakeClock([1.0])
    assert benchmark(clock.func, n_repeat=1, min_time=0.0, timer=clock.timer).name == "func"
    assert benchmark(clock.func, n_repeat=1, name="mine", min_time=0.0, timer=clock.timer).name == "mine"


@pytest.mark.parametrize("n_repeat", [0, -1])
def test_n_repeat_below_one_is_an_error(n_repeat):
    clock = FakeClock([1.0])
    with pytest.raises(ValueError, match="n_repeat"):
        benchmark(clock.func, n_repeat=n_repeat, timer=clock.timer)
    assert clock.calls == 0


def test_negative_warmup_is_an_error():
    with pytest.raises(ValueError, match="n_warmup"):
        benchmark(lambda: None, n_warmup=-1)


def test_unknown_sync_string_is_an_error():
    clock = FakeClock([1.0])
    with pytest.raises(ValueError, match="'gpu'"):
        benchmark(clock.func, sync="gpu", timer=clock.timer)
    assert clock.calls == 0


def test_a_result_needs_a_repeat():
    with pytest.raises(ValueError):
        BenchmarkResult("empty", times=(), warmup_times=(), cold_time=1.0)


@pytest.mark.parametrize(
    "seconds, text",
    [
        (1.23e-5, "12.3 us"),
        (1.5, "1.5 s"),
        (123.456, "123 s"),
        (1.23e-3, "1.23 ms"),
        (2e-9, "2 ns"),
        (4.5e-10, "0.45 ns"),
        (0.0, "0 ns"),
        (math.inf, "inf"),
        (math.nan, "nan"),
    ],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_clock_floor_with_a_fake_clock():
    ticks = iter(range(10_000))
    floor = timing.clock_floor(lambda: next(ticks) * 1e-6, samples=10)
    assert floor == pytest.approx(1e-6)


# -- sync="cuda": the repeats go to cupyx.profiler.benchmark ------------------------------------


@pytest.fixture
def fake_cupy(monkeypatch):
    """Fake cupy and cupyx.profiler modules; records what cupyx.profiler.benchmark was given."""
    seen = {"synchronize": 0}

    class Device:
        id = 3

        def synchronize(self):
            seen["synchronize"] += 1

    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(Device=Device)

    def cupy_benchmark(func, args=(), kwargs=None, n_repeat=10000, *, n_warmup=10, max_duration=math.inf):
        seen["benchmark"] = dict(func=func, args=args, kwargs=kwargs, n_repeat=n_repeat,
                                 n_warmup=n_warmup, max_duration=max_duration)
        return types.SimpleNamespace(gpu_times=[[1e-3, 2e-3, 4e-3]], cpu_times=[5e-4, 6e-4, 7e-4])

    cupyx = types.ModuleType("cupyx")
    profiler = types.ModuleType("cupyx.profiler")
    profiler.benchmark = cupy_benchmark
    cupyx.profiler = profiler
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    monkeypatch.setitem(sys.modules, "cupyx.profiler", profiler)
    return seen


def test_cuda_sync_hands_the_repeats_to_cupyx(fake_cupy):
    clock = FakeClock([0.75])
    result = benchmark(
        clock.func, (1, 2), {"k": 3}, n_repeat=3, n_warmup=2, max_duration=9.0, sync="cuda",
        name="gpu", timer=clock.timer,
    )
    call = fake_cupy["benchmark"]
    assert call["func"] == clock.func
    assert call["args"] == (1, 2) and call["kwargs"] == {"k": 3}
    assert (call["n_repeat"], call["n_warmup"], call["max_duration"]) == (3, 2, 9.0)
    assert result.times == (1e-3, 2e-3, 4e-3)
    assert result.median == 2e-3
    assert result.cold_time == 0.75  # one cold call, timed by our clock, then the device synchronised
    assert clock.calls == 1 and fake_cupy["synchronize"] == 1
    assert "CUDA events" in result.clock
    assert result.extra == {"cpu_times": [5e-4, 6e-4, 7e-4], "gpu": 3}
    assert result.to_dict()["extra"]["gpu"] == 3


def test_cuda_sync_with_cold_time_makes_no_cold_call(fake_cupy):
    clock = FakeClock([0.75])
    result = benchmark(clock.func, n_repeat=3, sync="cuda", cold_time=2.0, timer=clock.timer)
    assert clock.calls == 0
    assert result.cold_time == 2.0
    assert fake_cupy["benchmark"]["n_repeat"] == 3
