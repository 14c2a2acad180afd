"""Tile sizes of the fused attention variants, from the L2 working set of ``haiend.tune``.

A tile of keys is as many rows of K and V as fit, both together, in half of the L2 working set
("fits_l2_bytes"), so that they stay in cache while every query row passes over them; a block of
query rows (NumPy's fused variant) is as many rows as make its block of scores fill the working
set. Both are read from this machine's fingerprint once, when the module is imported.
"""

from haiend import tune

FITS_L2 = tune.this_machine()["fits_l2_bytes"] or 2**19  # read once: Numba freezes globals


def tile_for(seq: int, d: int, itemsize: int) -> int:
    """Keys per tile: a tile of K and one of V in half of the L2 working set, at most seq."""
    return max(1, min(seq, FITS_L2 // (2 * 2 * max(d, 1) * itemsize)))


def rows_for(seq: int, cols: int, itemsize: int) -> int:
    """Query rows per block: a rows x cols block of scores in the L2 working set, at most seq."""
    return max(1, min(seq, FITS_L2 // (cols * itemsize)))
