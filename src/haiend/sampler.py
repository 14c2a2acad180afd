"""A statistical profiler in a few dozen lines: a timer signal, a handler, a walk up the stack.

::

    from haiend.sampler import Sampler

    with Sampler(interval=1e-3) as s:       # every millisecond of CPU time (ITIMER_PROF)
        work()
    s.share(work_helper)                    # fraction of the sampled time spent in it
    s.table(5)                              # the five hottest functions, as rows

Why it lives in the package rather than beside the profilers chapter: three notebooks (the
sampling chapter, the compiled-code chapter and the profiling lab) import it from their own
folders, and the notebooks folder is not a package; here it is importable from any of them,
from a terminal and from its tests (tests/test_sampler.py), which pin its arithmetic.

How it works. ``signal.setitimer`` asks the kernel to send a signal every ``interval`` seconds
of CPU time used by the process (``clock="cpu"``: ITIMER_PROF, SIGPROF) or of wall-clock time
(``clock="wall"``: ITIMER_REAL, SIGALRM). CPython's C-level handler only sets a flag; the
interpreter runs the Python handler in the main thread at its next check between bytecodes,
passing the frame it was executing. The handler walks ``frame.f_back`` up to the root and adds
the time since the previous sample to the innermost function (self time), to the innermost line,
and once to every distinct function on the stack (inclusive time).

Two consequences a reader of its output must know:

* A long call into C (a NumPy ufunc, a Numba-compiled function, a blocking wait) cannot be
  interrupted by a Python handler. The signals that fall due meanwhile collapse into one, run
  when the call returns, and are charged to the Python line that made the call. Counting
  samples would under-count such lines; weighting each sample by the time elapsed since the
  previous one (what this sampler does, and what scalene does) charges them correctly.
* Only the main thread is sampled, and nothing inside compiled code is seen.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

_CLOCKS = {
    "cpu": (signal.ITIMER_PROF, signal.SIGPROF, time.process_time),
    "wall": (signal.ITIMER_REAL, signal.SIGALRM, time.perf_counter),
}


def _label(code: CodeType) -> str:
    name = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+
    return f"{name} ({Path(code.co_filename).name}:{code.co_firstlineno})"


class Sampler:
    """Sample the main thread's stack every ``interval`` seconds of ``clock`` ("cpu" or "wall").

    After the ``with`` block: ``samples`` (handler calls), ``sampled`` (seconds the samples
    account for), ``elapsed`` (seconds of ``clock`` the block lasted), and three Counters of
    seconds keyed by code object or (code, line): ``self_time``, ``inclusive`` and ``lines``.
    """

    def __init__(self, interval: float = 1e-3, clock: str = "cpu") -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if clock not in _CLOCKS:
            raise ValueError(f"clock must be one of {sorted(_CLOCKS)}, not {clock!r}")
        self.interval, self.clock = interval, clock
        self._which, self._signum, self._now = _CLOCKS[clock]
        self.samples, self.sampled, self.elapsed = 0, 0.0, 0.0
        self.self_time: Counter[CodeType] = Counter()
        self.inclusive: Counter[CodeType] = Counter()
        self.lines: Counter[tuple[CodeType, int]] = Counter()
        self._old_handler: Any = None
        self._old_timer: tuple[float, float] = (0.0, 0.0)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        now = self._now()
        weight, self._last = now - self._last, now
        self.samples += 1
        self.sampled += weight
        if frame is None:
            return
        self.self_time[frame.f_code] += weight
        self.lines[frame.f_code, frame.f_lineno] += weight
        seen = set()
        while frame is not None:  # count each function once, however deep its recursion
            if frame.f_code not in seen:
                seen.add(frame.f_code)
                self.inclusive[frame.f_code] += weight
            frame = frame.f_back

    def __enter__(self) -> Sampler:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("signal handlers can only be installed from the main thread")
        self._old_handler = signal.signal(self._signum, self._handler)
        self._start = self._last = self._now()
        self._old_timer = signal.setitimer(self._which, self.interval, self.interval)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(self._which, 0)  # stop the timer before the old handler comes back
        self.elapsed = self._now() - self._start
        signal.signal(self._signum, self._old_handler)
        if self._old_timer[0] > 0:  # someone else's timer was running: give it back
            signal.setitimer(self._which, *self._old_timer)

    def share(self, func: Callable[..., Any] | CodeType, inclusive: bool = True) -> float:
        """Fraction of the sampled time with ``func`` on the stack (or innermost, if not inclusive)."""
        code = func if isinstance(func, CodeType) else getattr(func, "py_func", func).__code__
        counts = self.inclusive if inclusive else self.self_time
        return counts[code] / self.sampled if self.sampled else 0.0

    def table(self, n: int = 10, inclusive: bool = False) -> list[dict[str, str]]:
        """The ``n`` hottest functions by self (or inclusive) time, as rows for a table."""
        counts = self.inclusive if inclusive else self.self_time
        total = self.sampled or 1.0
        return [
            {"function": _label(code), "seconds": f"{t:.4f}", "share": f"{100 * t / total:.1f} %"}
            for code, t in counts.most_common(n)
        ]

    def hot_lines(self, n: int = 10) -> list[dict[str, str]]:
        """The ``n`` hottest lines, as rows for a table."""
        total = self.sampled or 1.0
        return [
            {"line": f"{Path(code.co_filename).name}:{line}", "function": code.co_name,
             "seconds": f"{t:.4f}", "share": f"{100 * t / total:.1f} %"}
            for (code, line), t in self.lines.most_common(n)
        ]  # fmt: skip
