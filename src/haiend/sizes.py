"""The one switch between quick and full problem sizes: ``HAIEND_SIZE``.

* ``HAIEND_SIZE=quick`` (the default): small sizes, so that every notebook runs in seconds on a
  laptop and in the tests. Memory-bound kernels may then run from cache, which notebooks say.
* ``HAIEND_SIZE=full``: sizes chosen from this machine's caches and free memory (each kernel's
  ``default_size``), for measurements to quote. Papermill users can pass ``size_mode="full"``.
"""

from __future__ import annotations

import os

from haiend.errors import HaiendError

ENV = "HAIEND_SIZE"
MODES = ("quick", "full")


def mode() -> str:
    value = os.environ.get(ENV, "quick").strip().lower() or "quick"
    if value not in MODES:
        raise HaiendError(f"{ENV}={value!r} is not understood: use 'quick' or 'full'.")
    return value


def quick() -> bool:
    """True unless HAIEND_SIZE=full."""
    return mode() == "quick"


def for_kernel(kernel, info=None) -> tuple[int, ...]:
    """The size a lab runs ``kernel`` at: its quick size, or with ``HAIEND_SIZE=full`` its
    default size for this machine (``info``: the fingerprint, described when not given)."""
    if quick():
        return kernel.quick_size
    if info is None:
        from haiend import machine

        info = machine.describe()
    return kernel.default_size(info)
