"""Small-file I/O: reading N small samples from five layouts, cold and warm, and what a parallel
file system's metadata adds.

Why a package of its own and not a kernel under :mod:`haiend.kernels`: a kernel is a computation
on arrays in memory, ``function(*inputs, out)``, timed by :mod:`haiend.bench` with warm-up calls and
batches and judged against a roofline of bytes and flops. Reading from storage fits none of that: a
layout needs a folder and a write before it can be read, a cold read needs its files evicted before
*every* timed call (a batch of reads would be warm after the first), the cost that matters is counted
in opens and system calls rather than flops, and there is no roof. What it shares with the kernels
is what makes a measurement trustworthy here, and that it keeps: every read is checked byte for byte
before and while it is timed, raw times are kept, and the results are records written by
:mod:`haiend.records` like every other measurement (kernel ``io.read``, one variant per layout).

* :mod:`haiend.io.layouts`: the five layouts (files, tar shard, HDF5, Parquet, memmap);
* :mod:`haiend.io.cache`: making a read cold (``posix_fadvise``, or ``drop_caches`` as root when asked);
* :mod:`haiend.io.syscalls`: system calls per sample with ``strace -c -f``;
* :mod:`haiend.io.metadata`: predicted time = local time + opens x metadata latency (site profile);
* :mod:`haiend.io.reading`: all of it together, measured and kept as records.

``haiend io`` runs it from the command line; ``labs/io.ipynb`` is the lab.
"""

# Names are loaded on first use (PEP 562), so that a process that needs only the layouts (the child
# that strace traces) does not import the records machinery and jsonschema.
_EXPORTS = {
    "LAYOUTS": "haiend.io.layouts",
    "make_samples": "haiend.io.layouts",
    "KERNEL": "haiend.io.reading",
    "Reading": "haiend.io.reading",
    "counts_of": "haiend.io.reading",
    "default_size": "haiend.io.reading",
    "find": "haiend.io.reading",
    "mb_per_s": "haiend.io.reading",
    "measure": "haiend.io.reading",
    "rows": "haiend.io.reading",
    "samples_per_s": "haiend.io.reading",
    "MetadataModel": "haiend.io.metadata",
    "from_profile": "haiend.io.metadata",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'haiend.io' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
