"""A Python program whose stack is Python, Numba and C at once, to be read from outside while it waits.

``python -m haiend.debug.mixed_stack [--also-debug] [--null] SECONDS N`` runs
``run_step`` (Python), which calls ``numba_triad`` (compiled by Numba), which calls
``triad_then_wait`` from ``wait_kernel.c`` through a ctypes function pointer: the C function
computes the triad of the stream kernel, prints ``ready SUM`` and sleeps ``SECONDS``. While it
sleeps, gdb, py-spy and faulthandler can be asked what it is doing. ``--also-debug`` runs the same
in a second thread, named ``numba-debug``, with the Numba function compiled with ``debug=True``
(both are ``nogil``, so both threads wait in C at once); ``--null`` passes a NULL output array,
so the C loop stops with SIGSEGV on its first store.

:func:`start` runs it in a session of its own and returns once every thread waits in C
(:func:`launch` and :func:`wait_ready` are its two halves); :func:`stop` kills the whole session.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from haiend import cbuild
from haiend.debug import bounded

SOURCE = Path(__file__).resolve().parent / "wait_kernel.c"
FLAGS = ("-g", "-O0")  # every frame and local visible to gdb


def c_kernel():
    """``triad_then_wait`` from wait_kernel.c, built with -g -O0 and loaded with ctypes."""
    function = cbuild.build(SOURCE, FLAGS).library.triad_then_wait
    function.restype = ctypes.c_double
    function.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_double, ctypes.c_long, ctypes.c_double]
    return function


def numba_caller(debug: bool):
    """A Numba function that calls the C kernel (Numba calls a ctypes function pointer natively)."""
    from numba import njit

    kernel = c_kernel()

    @njit(debug=debug, nogil=True)
    def numba_triad(a_address, a, b, c, scalar, seconds):
        return kernel(a_address, b.ctypes.data, c.ctypes.data, scalar, a.size, seconds)

    return numba_triad


def run_step(numba_triad, n: int, seconds: float, null: bool) -> float:
    b = np.arange(n, dtype=np.float64)
    c = np.full(n, 0.5)
    a = np.empty(n)
    return numba_triad(0 if null else a.ctypes.data, a, b, c, 3.0, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m haiend.debug.mixed_stack")
    parser.add_argument("seconds", type=float)
    parser.add_argument("n", type=int)
    parser.add_argument("--also-debug", action="store_true")
    parser.add_argument("--null", action="store_true")
    options = parser.parse_args(argv)
    if options.also_debug:
        debug_triad = numba_caller(True)
        threading.Thread(
            target=run_step, args=(debug_triad, options.n, options.seconds, options.null), name="numba-debug", daemon=True
        ).start()
    total = run_step(numba_caller(False), options.n, options.seconds, options.null)
    print(f"done {total!r}", flush=True)
    return 0


def launch(seconds: float = 60, n: int = 8, *, also_debug: bool = False) -> subprocess.Popen:
    """Start the program in a session of its own; :func:`wait_ready` then waits until it waits."""
    here = str(Path(__file__).resolve().parents[2])  # the folder holding this haiend package
    path = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    options = ["--also-debug"] if also_debug else []
    return subprocess.Popen(
        [sys.executable, "-m", "haiend.debug.mixed_stack", str(seconds), str(n), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": path},
    )


def wait_ready(child: subprocess.Popen, threads: int = 1, timeout_s: float = 120) -> subprocess.Popen:
    """Return ``child`` once ``threads`` threads have printed ``ready`` (they are in the C kernel); kill it on failure."""
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        for _ in range(threads):
            if not selector.select(max(0.0, deadline - time.monotonic())):
                stop(child)
                raise TimeoutError(f"the mixed-stack program did not reach its C kernel within {timeout_s:g} s.")
            line = child.stdout.readline()
            if not line.startswith("ready"):
                error = child.stderr.read() if child.poll() is not None else ""
                stop(child)
                raise RuntimeError(f"the mixed-stack program did not start: {line.strip()} {error.strip()[-500:]}")
    return child


def start(seconds: float = 60, n: int = 8, *, also_debug: bool = False, timeout_s: float = 120) -> subprocess.Popen:
    """Start the program in its own session and return when every thread waits inside the C kernel."""
    return wait_ready(launch(seconds, n, also_debug=also_debug), 2 if also_debug else 1, timeout_s)


def stop(child: subprocess.Popen) -> None:
    """Kill the program's whole session and collect it."""
    bounded.kill_group(child.pid)
    child.wait(timeout=30)
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()


if __name__ == "__main__":
    sys.exit(main())
