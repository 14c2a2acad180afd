"""Double buffering, shared by the realisations: which grid each sweep reads and which it writes.

A Jacobi sweep must not overwrite values its neighbours still need, so it writes into a second
grid. The input ``u0`` is only read, and the result must end in ``out``: the first sweep reads
``u0``, later ones alternate between ``out`` and one *scratch* grid, and the order is chosen from
the parity of ``steps`` so that the last sweep writes ``out``.

The scratch grid is kept between calls in a small module-level cache (by array type, shape and
dtype; two grids at most). Allocating it in every call would put its first-touch page faults
(a 1 GB grid is some 250 000 pages of 4 KiB) inside the timed region; ``out`` alone is not
enough, as a sweep cannot read and write the same grid.
"""

from haiend.kernels.xp import array_namespace

_SCRATCH = {}
_KEEP = 2


def scratch_like(out):
    """A grid shaped like ``out`` whose pages were touched when first made, then reused."""
    key = (type(out), out.shape, str(out.dtype))
    grid = _SCRATCH.get(key)
    if grid is None:
        while len(_SCRATCH) >= _KEEP:
            _SCRATCH.pop(next(iter(_SCRATCH)))  # forget the oldest: a cache, not a leak
        grid = array_namespace(out).empty_like(out)
        grid.fill(0.0)
        _SCRATCH[key] = grid
    return grid


def copy_edges(u0, grid):
    """Give ``grid`` the fixed edge rows and columns of ``u0`` (with ny or nx < 3: all of it)."""
    grid[0] = u0[0]
    grid[-1] = u0[-1]
    grid[:, 0] = u0[:, 0]
    grid[:, -1] = u0[:, -1]


def sweep_pairs(u0, steps, out):
    """The (source, destination) grid of every sweep: the first reads u0, the last writes out."""
    if steps <= 0:
        out[...] = u0
        return []
    scratch = scratch_like(out) if steps > 1 else None
    for grid in (out, scratch):
        if grid is not None:
            copy_edges(u0, grid)
    pairs, source = [], u0
    for k in range(steps):
        destination = out if (steps - 1 - k) % 2 == 0 else scratch
        pairs.append((source, destination))
        source = destination
    return pairs
