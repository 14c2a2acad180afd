"""The hand-made sampler: finds a known hot function, costs little, and leaves the signals as it found them."""

import signal
import threading
import time

import pytest

from haiend.sampler import Sampler


def hot(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def cool(n):
    total = 0
    for i in range(n):
        total += i
    return total


def work(seconds=0.3):
    """About four parts hot to one part cool, whatever the machine's speed."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        hot(40_000)
        cool(10_000)


@pytest.mark.parametrize("clock", ["cpu", "wall"])
def test_finds_the_hot_function(clock):
    with Sampler(interval=1e-3, clock=clock) as s:
        work()
    assert s.samples >= 10
    assert s.share(hot) > s.share(cool) > 0
    assert s.share(hot) > 0.5
    assert s.share(work) > 0.9  # inclusive: work is on every stack
    assert s.table(1)[0]["function"].startswith("hot ")
    assert s.sampled == pytest.approx(s.elapsed, rel=0.2)


def test_overhead_is_bounded_loosely():
    def burn():
        for _ in range(50):
            hot(40_000)

    def timed(profile):
        t0 = time.process_time()
        if profile:
            with Sampler(interval=1e-3):
                burn()
        else:
            burn()
        return time.process_time() - t0

    plain = min(timed(False) for _ in range(3))
    sampled = min(timed(True) for _ in range(3))
    assert sampled < 1.5 * plain + 0.05  # loose: a shared machine is noisy


def test_restores_the_previous_handler_and_timer():
    seen = []

    def previous(signum, frame):
        seen.append(signum)

    old = signal.signal(signal.SIGALRM, previous)
    try:
        with Sampler(interval=1e-3, clock="wall") as s:
            assert signal.getsignal(signal.SIGALRM) == s._handler
            work(0.05)
        assert signal.getsignal(signal.SIGALRM) is previous
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert seen == []  # the sampler's signals never reached the previous handler
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert signal.getsignal(signal.SIGPROF) == signal.SIG_DFL
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_restores_a_running_timer():
    signal.signal(signal.SIGPROF, lambda *a: None)
    try:
        signal.setitimer(signal.ITIMER_PROF, 5.0, 5.0)
        with Sampler(interval=1e-3):
            work(0.02)
        delay, interval = signal.getitimer(signal.ITIMER_PROF)
        assert interval == pytest.approx(5.0) and delay > 0
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)


def test_stops_cleanly_on_an_exception():
    with pytest.raises(ZeroDivisionError):
        with Sampler(interval=1e-3):
            work(0.02)
            raise ZeroDivisionError("raised inside the sampled block")
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) == signal.SIG_DFL


def test_refuses_other_threads_and_bad_arguments():
    errors = []

    def run():
        try:
            with Sampler():
                pass
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert errors
    with pytest.raises(ValueError):
        Sampler(interval=0)
    with pytest.raises(ValueError):
        Sampler(clock="gpu")
