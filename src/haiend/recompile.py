"""A Numba function built again as if some of its module's globals said something else.

Numba reads module-level names (constants, other jitted functions) once, when it compiles, and
freezes them into the machine code. A lab that wants to show what one constant changes (the
vector width LLVM is asked for, a block size) needs the same function compiled a second time
with that name replaced, beside the original, in the same process: Numba has no option for
that, hence these few lines.
"""

from __future__ import annotations

import types
from typing import Any


def recompiled(dispatcher: Any, **names: Any) -> Any:
    """A new ``@njit`` dispatcher of ``dispatcher``'s Python function, nothing compiled yet.

    ``names`` replaces some module-level names in the copy, so ``recompiled(f, VECTOR_BITS=256)``
    is ``f`` built as if its module said so. The original dispatcher is untouched.
    """
    from numba import njit

    function = dispatcher.py_func
    rebound = types.FunctionType(
        function.__code__, {**function.__globals__, **names}, function.__name__, function.__defaults__
    )
    options = {
        key: value for key, value in dispatcher.targetoptions.items() if key != "nopython"
    }  # njit's own
    return njit(**options)(rebound)
