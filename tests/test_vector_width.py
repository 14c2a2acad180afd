"""prefer_vector_width: the attribute reaches LLVM, bad requests are refused, and on an AVX-512
CPU it widens the matmul tile's vectors from ymm to zmm registers."""

import re

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from haiend import lab, tune
from haiend.kernels.matmul import numba_impl
from haiend.kernels.vector_width import attribute, prefer_vector_width

# what Numba compiles for: the host, unless NUMBA_CPU_FEATURES narrows it (the AVX2 emulation)
HAS_AVX512 = tune.this_machine()["target_bits"] == 512


@pytest.mark.parametrize("bits", [256, 512])
def test_attribute_reaches_the_compiled_ir(bits):
    @njit
    def wide(x):
        prefer_vector_width(bits)
        return x + 1

    assert wide(1) == 2
    ir = wide.inspect_llvm(wide.signatures[0])
    assert attribute(bits) in ir
    assert attribute(128 if bits == 256 else 256) not in ir


def test_only_literal_widths_are_accepted():
    @njit
    def odd(x):
        prefer_vector_width(300)
        return x

    @njit
    def runtime(x, bits):
        prefer_vector_width(bits)
        return x

    for function, args in ((odd, (1,)), (runtime, (1, 512))):
        with pytest.raises(TypingError, match="literal number of bits"):
            function(*args)


def _fma_registers(dispatcher):
    asm = dispatcher.inspect_asm(dispatcher.signatures[0])
    return {register: len(re.findall(rf"vfmadd\w+pd\s+.*%{register}", asm)) for register in ("ymm", "zmm")}


@pytest.mark.skipif(not HAS_AVX512, reason="Numba's target here has no AVX-512, so 512-bit vectors cannot be asked for")
def test_matmul_tile_uses_zmm_only_when_asked():
    rng = np.random.default_rng(0)
    A, B = rng.random((12, 16)), rng.random((16, 12))
    a_buf, b_buf = numba_impl.buffers(A, B, 12, 16, 12)
    ap = numba_impl.pack_rows(A, 0, 12, 0, 16, a_buf)
    bt = numba_impl.pack_columns(B, 0, 16, 0, 12, b_buf)
    counts = {}
    for bits in (256, 512):
        block = lab.recompiled(numba_impl.multiply_block, VECTOR_BITS=bits)
        out = np.zeros((12, 12))
        block(ap, bt, out, 0, 12, 0, 0)
        np.testing.assert_allclose(out, A @ B, rtol=1e-12)
        counts[bits] = _fma_registers(block)
    tile = numba_impl.MR * numba_impl.NR  # one FMA per accumulator, at least
    assert counts[256]["zmm"] == 0 and counts[256]["ymm"] >= tile, counts
    assert counts[512]["zmm"] >= tile, counts
