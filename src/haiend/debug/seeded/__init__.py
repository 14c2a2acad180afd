"""Realisations of the curriculum's kernels with one seeded bug each, for the debugging lab.

Each bug passes the plain correctness check on the lab's default input, and each is found by one
tool, driven from Python with a time limit:

* :mod:`.overrun`: a Numba stencil sweep that reads one column past the grid's edge; Numba's
  bounds checking (``NUMBA_BOUNDSCHECK=1``, in a child process) finds it.
* :mod:`.race`: the OpenMP residual of a Jacobi sweep with a shared accumulator; ThreadSanitizer
  finds it.
* :mod:`.uninit`: a C stencil whose scratch grid's edges are never written; valgrind memcheck
  finds the uninitialised read.
* :mod:`.deadlock` (with the MPI program :mod:`.ring`): a periodic halo exchange with blocking
  sends that deadlocks above MPI's eager limit; a time limit finds it and ``py-spy`` shows where
  every rank waits.

Each module's ``judge`` runs the tool and the correctness check on a candidate fix and returns a
:class:`~haiend.debug.seeded.judgement.Judgement`; the lab's check cells turn it into a verdict.
"""
