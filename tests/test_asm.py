"""haiend.asm on listings captured from real compilers (tests/fixtures/asm, made by its regenerate.py).

The fixtures are the same three C loops (kernels.c: a triad, 1/sqrt in float32 and float64) as
GCC 12 prints them for AVX-512, AVX2 (AT&T and Intel syntax, and objdump of the object file),
SSE at -O1, AArch64 NEON and SVE (Debian's aarch64-linux-gnu-gcc), and Numba's inspect_asm of the
STREAM triad and a 1/sqrt loop, strict and fast, for this machine's CPU and for Haswell.
"""

from pathlib import Path

import pytest

from haiend import asm

FIXTURES = Path(__file__).parent / "fixtures" / "asm"


def listing(name):
    return (FIXTURES / name).read_text()


def function(name, fn):
    return asm.functions(listing(name))[fn]


# ---- single instructions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, expected",
    [
        ("\tvfmadd231pd\t(%rax,%rcx,8), %zmm1, %zmm0", ("fma", "packed", 512, "double")),
        ("\tvfmadd213pd\tymm0, ymm1, YMMWORD PTR [rsi+rax]", ("fma", "packed", 256, "double")),
        ("\tvsqrtps\t%xmm1, %xmm0", ("sqrt", "packed", 128, "single")),
        ("\tsqrtsd\t%xmm1, %xmm0", ("sqrt", "scalar", 64, "double")),
        ("\tvdivss\t%xmm2, %xmm1, %xmm0", ("div", "scalar", 32, "single")),
        ("\tvrsqrt14ps\t%zmm0, %zmm1", ("rsqrt", "packed", 512, "single")),
        ("\tvmulpd\t%ymm1, %ymm2, %ymm3 {%k1}", ("mul", "packed", 256, "double")),
        ("\taddpd\t%xmm1, %xmm0", ("add", "packed", 128, "double")),
    ],
)
def test_x86_instructions_are_classified(line, expected):
    (ins,) = asm.parse(line, "x86")
    assert (ins.op, ins.kind, ins.width, ins.dtype) == expected


@pytest.mark.parametrize(
    "line",
    [
        "\taddq\t$32, %rax",
        "\tvpaddd\t%ymm0, %ymm1, %ymm2",
        "\tvmovupd\t(%rax), %ymm0",
        "\tvucomisd\t%xmm0, %xmm1",
    ],
)
def test_x86_non_arithmetic_is_not_counted(line):
    (ins,) = asm.parse(line, "x86")
    assert ins.op is None and ins.key is None


@pytest.mark.parametrize(
    "line, expected",
    [
        ("\tfmla\tv1.2d, v2.2d, v0.2d", ("fma", "packed", 128, "double")),
        ("\tfmla\tv1.2s, v2.2s, v0.2s", ("fma", "packed", 64, "single")),
        ("\tfdiv\tv0.4s, v1.4s, v0.4s", ("div", "packed", 128, "single")),
        ("\tfmadd\td0, d3, d1, d0", ("fma", "scalar", 64, "double")),
        ("\tfsqrt\ts0, s0", ("sqrt", "scalar", 32, "single")),
        ("\tfmad\tz1.d, p1/m, z0.d, z2.d", ("fma", "packed", asm.SCALABLE, "double")),
        ("\tfdivr\tz0.s, p1/m, z0.s, z1.s", ("div", "packed", asm.SCALABLE, "single")),
        ("\tfrsqrte\tv0.4s, v1.4s  // estimate", ("rsqrt", "packed", 128, "single")),
        ("\tfmul\tv0.2d, v1.2d, v2.d[1]", ("mul", "packed", 128, "double")),
    ],
)
def test_aarch64_instructions_are_classified(line, expected):
    (ins,) = asm.parse(line, "aarch64")
    assert (ins.op, ins.kind, ins.width, ins.dtype) == expected


def test_aarch64_branches_and_calls():
    text = "\n".join(
        [
            "f:",
            ".L1:",
            "\tfadd\td0, d0, d1",
            "\tbl\tsqrt",  # a call, not a loop
            "\tbls\t.L1",
            ".L2:",
            "\tfadd\tv0.2d, v0.2d, v1.2d",
            "\tcbnz\tx3, .L2",
            ".L3:",
            "\tfmul\tz0.d, z0.d, z1.d",
            "\ttbz\tx3, #0, .L3",
            "\tret",
        ]
    )
    assert asm.isa(text) == "aarch64"
    assert [lp.label for lp in asm.loops(text)] == [".L1", ".L2", ".L3"]
    assert asm.widest(asm.hot_loop(text)) == asm.SCALABLE


def test_innermost_loops_and_forward_jumps():
    text = "\n".join(
        [
            "f:",
            ".L2:",  # outer loop
            "\tmovq\t%rax, %rcx",
            ".L3:",  # inner loop
            "\tvaddpd\t%ymm0, %ymm1, %ymm1",
            "\tjne\t.L3",
            "\tje\t.L9",  # forward: not a loop
            "\tjmp\t.L2",
            ".L9:",
            "\tret",
        ]
    )
    assert [lp.label for lp in asm.loops(text)] == [".L3"]
    assert [lp.label for lp in asm.loops(text, innermost=False)] == [".L3", ".L2"]
    assert str(asm.loops(text)[0]).splitlines()[0] == ".L3:"


def test_empty_and_loopless_listings():
    assert asm.loops("") == [] and asm.hot_loop("") is None
    assert asm.summary("f:\n\tret\n") == {} and asm.widest("f:\n\tret\n") == 0
    assert asm.describe_width(0) == "scalar" and asm.describe_width(256) == "256-bit"


# ---- captured listings ---------------------------------------------------------------------------

GCC_X86 = {
    "x86_gcc_avx512.s": 512,
    "x86_gcc_avx2.s": 256,
    "x86_gcc_avx2_intel.s": 256,
    "x86_objdump_avx2.txt": 256,
}


@pytest.mark.parametrize("name, bits", GCC_X86.items())
def test_gcc_x86_vector_loops(name, bits):
    text = listing(name)
    assert asm.isa(text) == "x86"
    assert {"triad", "rsqrt_f32", "rsqrt_f64"} <= set(asm.functions(text))
    triad = asm.hot_loop(asm.functions(text)["triad"])
    assert asm.counts(triad) == {"packed": 1, "scalar": 0, "FMA": 1, "widest": bits, "gather/scatter": 0}
    for fn, dtype in (("rsqrt_f32", "single"), ("rsqrt_f64", "double")):
        loop = asm.hot_loop(asm.functions(text)[fn], needs=("sqrt",))
        assert asm.summary(loop) == {("packed", bits, dtype): 2}
        assert asm.has_packed(loop, op="sqrt", dtype=dtype) and asm.has_packed(loop, op="div")
        assert not asm.has_scalar(loop)
    # the remainder loops are there too: each function holds a vector loop and a scalar one
    assert len(asm.loops(asm.functions(text)["rsqrt_f64"])) == 2


def test_intel_and_att_syntax_agree():
    att, intel = listing("x86_gcc_avx2.s"), listing("x86_gcc_avx2_intel.s")
    assert asm.summary(att) == asm.summary(intel)
    assert [len(lp) for lp in asm.loops(att)] == [len(lp) for lp in asm.loops(intel)]


def test_objdump_agrees_with_gcc_s():
    dumped, source = listing("x86_objdump_avx2.txt"), listing("x86_gcc_avx2.s")
    assert asm.summary(dumped) == asm.summary(source)
    assert len(asm.loops(dumped)) == len(asm.loops(source)) == 6


def test_gcc_O1_is_scalar_sse():
    text = listing("x86_gcc_O1_sse.s")
    assert asm.vector_widths(text) == [] and asm.widest(text) == 0
    assert asm.register_classes(text).keys() == {"xmm"}
    loop = asm.hot_loop(asm.functions(text)["triad"])
    assert asm.summary(loop) == {("scalar", 64, "double"): 2}  # mulsd + addsd: no FMA at -O1
    assert asm.has_scalar(asm.functions(text)["rsqrt_f32"], op="sqrt", dtype="single")


def test_aarch64_neon():
    text = listing("aarch64_gcc_neon.s")
    assert asm.isa(text) == "aarch64"
    fns = asm.functions(text)
    assert asm.counts(asm.hot_loop(fns["triad"]))["FMA"] == 1
    assert asm.summary(asm.hot_loop(fns["triad"])) == {("packed", 128, "double"): 1}  # fmla v.2d
    assert asm.summary(asm.hot_loop(fns["rsqrt_f32"])) == {("packed", 128, "single"): 2}  # .4s
    assert asm.has_scalar(fns["rsqrt_f32"], op="sqrt")  # the remainder
    assert asm.register_classes(text).keys() == {"v"}


def test_aarch64_sve():
    text = listing("aarch64_gcc_sve.s")
    fns = asm.functions(text)
    assert asm.vector_widths(text) == [asm.SCALABLE]
    assert not asm.has_scalar(text)  # predication: no scalar remainder loop
    assert [len(asm.loops(fns[f])) for f in ("triad", "rsqrt_f32", "rsqrt_f64")] == [1, 1, 1]
    assert asm.summary(asm.hot_loop(fns["rsqrt_f64"])) == {("packed", asm.SCALABLE, "double"): 2}
    assert {"z", "p"} <= asm.register_classes(text).keys()
    assert asm.describe_width(asm.widest(text)) == "scalable (SVE)"


@pytest.mark.parametrize("name", ["x86_numba_host.s", "x86_numba_haswell.s"])
def test_numba_listings(name):
    text = listing(name)
    fns = asm.functions(text)
    triad = next(v for k, v in fns.items() if "5triad" in k and "cpython" not in k and "cfunc" not in k)
    strict, fast = (v for k, v in fns.items() if k.startswith("_ZN8__main__5rsqrt"))
    widest = asm.widest(asm.hot_loop(triad))
    assert widest in (256, 512)
    if name == "x86_numba_haswell.s":  # Haswell has no AVX-512
        assert widest == 256 and "zmm" not in asm.register_classes(text)
    assert asm.counts(asm.hot_loop(triad))["FMA"] == 0  # no contraction without fastmath
    assert not asm.has_packed(strict) and asm.has_scalar(strict, op="sqrt", dtype="double")
    assert asm.has_packed(fast, op="sqrt", dtype="double") and asm.has_packed(fast, op="div")
    assert asm.kernel_function(text.split("# ---- rsqrt strict")[0]) == triad


def test_kernel_function_refuses_a_wrapper_only_listing():
    with pytest.raises(ValueError):
        asm.kernel_function("cpython.f:\n\tret\n")


def test_no_loop_counts_as_no_instructions():
    missing = asm.hot_loop("f:\n\tret\n")
    assert missing is None
    assert asm.counts(missing) == {"packed": 0, "scalar": 0, "FMA": 0, "widest": 0, "gather/scatter": 0}
    assert not asm.has_packed(missing) and asm.summary(missing) == {}


def test_a_few_packed_operations_do_not_make_a_vector_loop():
    slp = "f:\n.L2:\n\tvsubpd\t%xmm1, %xmm2, %xmm0\n\tvmulsd\t%xmm0, %xmm0, %xmm3\n\tvaddsd\t%xmm3, %xmm4, %xmm4\n\tjne\t.L2\n"
    assert asm.has_packed(slp) and not asm.vectorised(slp)
    assert asm.vectorised(asm.hot_loop(function("x86_gcc_avx2.s", "triad")))
    assert not asm.vectorised(asm.hot_loop(function("x86_gcc_O1_sse.s", "triad")))


def test_loop_lines_start_at_the_label():
    text = listing("x86_gcc_avx2.s")
    for loop in asm.loops(text):
        assert text.splitlines()[loop.start] == loop.lines[0] == f"{loop.label}:"
        assert all(loop.lines[i.index - loop.start] == i.text for i in loop.instructions)
