"""Ask LLVM for wider (or narrower) vectors in one Numba function: ``prefer_vector_width(512)``.

LLVM's loop and SLP vectorisers pick the width of the vectors they build from the target's
*preferred* vector width, not from the widest registers the CPU has. For Intel server cores from
Skylake-SP on (Ice Lake, Sapphire and Emerald Rapids included) the tuning carries the flag
``prefer-256-bit``, because 512-bit instructions lowered the clock of the early ones: code for
those CPUs gets 256-bit ``ymm`` vectors although 512-bit ``zmm`` ones exist. A function can
override the preference with the LLVM function attribute ``"prefer-vector-width"="512"``; the
backend reads it per function when it builds that function's subtarget, so the rest of the
program keeps the CPU's default.

Numba has no option for function attributes, and ``NUMBA_CPU_FEATURES`` changes the target of
every function a process compiles. This module uses Numba's documented extension point instead:
an ``@intrinsic`` generates LLVM IR while the function *calling* it is being lowered, and the
IR builder it receives belongs to that function, so the intrinsic can add the attribute to its
caller. It emits no instruction. Call it first thing in the function that holds the hot loop::

    @njit(fastmath=True)
    def kernel(...):
        prefer_vector_width(512)
        ...

It changes only what the vectorisers prefer: on a CPU without AVX-512 the widest legal vector is
still 256 bits, so asking for 512 changes nothing there. Whether wider is faster is a property of
the CPU (some cores clock down under 512-bit work, some execute 512-bit operations at half rate):
measure it; ``labs/matmul.ipynb`` does.

Why a line of hand-written code rather than a library: llvmlite's IR builder knows only LLVM's
enumerated function attributes (``noinline``, ``alwaysinline``, ...) and rejects the
``"key"="value"`` string attributes this one is, so the attribute is added as the exact text
LLVM's IR parser reads, bypassing that check (``set.add``). ``tests/test_vector_width.py``
checks that the text reaches the compiled IR and, on an AVX-512 CPU, that the vectors widen.
"""

from __future__ import annotations

from numba import types
from numba.core.errors import TypingError
from numba.extending import intrinsic

ALLOWED_BITS = (128, 256, 512)


def attribute(bits: int) -> str:
    """The LLVM function attribute, as IR text, that prefers vectors of ``bits`` bits."""
    return f'"prefer-vector-width"="{bits}"'


@intrinsic
def prefer_vector_width(typingctx, bits):
    """Make the calling function prefer ``bits``-wide vectors; ``bits`` must be a literal."""
    if not isinstance(bits, types.IntegerLiteral) or bits.literal_value not in ALLOWED_BITS:
        raise TypingError(
            f"prefer_vector_width takes a literal number of bits, one of {ALLOWED_BITS}, not {bits}"
        )
    text = attribute(bits.literal_value)

    def codegen(context, builder, signature, args):
        # builder.function is the caller's LLVM function; AttributeSet is a set of IR strings.
        set.add(builder.function.attributes, text)
        return context.get_dummy_value()

    return types.none(bits), codegen
