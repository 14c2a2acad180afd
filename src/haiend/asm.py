"""Read assembly text: which floating-point arithmetic a loop does, how wide, and where the loops are.

The compilers chapter and the labs make claims about generated code ("the fast loop is packed",
"strict has a scalar square root", "the main loop uses 512-bit registers"). Those claims must be
computed from the listing just produced, on whatever CPU builds the book, so this module turns
the text that Numba's ``inspect_asm()``, ``gcc -S`` or ``objdump -d`` print into instructions
and classifies each floating-point arithmetic instruction:

- ``kind``: ``"packed"`` (one operation on every lane of a vector register) or ``"scalar"``;
- ``width``: bits of the register it works on: x86 ``xmm`` 128, ``ymm`` 256, ``zmm`` 512; AArch64
  NEON by arrangement (``v0.2d`` and ``v0.4s`` are 128, ``v0.2s`` 64); SVE ``z`` registers have a
  length the CPU chooses, reported as :data:`SCALABLE`; a scalar's width is its element's;
- ``dtype``: ``"double"``, ``"single"`` or ``"half"``;
- ``op``: ``add sub mul div sqrt fma rsqrt rcp min max``, so ``fma`` covers ``vfmadd231pd``,
  ``fmla`` and SVE's ``fmad`` alike.

x86 is read in AT&T syntax (``%ymm0``, destination last) and Intel syntax (``ymm0``); AArch64 in
GNU syntax. Loops are found as backward branches to a label (or, in ``objdump`` output, to a
lower address) within one function.

Why hand-written: no maintained Python library does this for text in both ISAs. Capstone and
LIEF disassemble *bytes* (an object file), not the text a compiler prints; Numba gives text.
OSACA (RRZE-HPC) parses x86 AT&T and AArch64 text, but it is a throughput analyser built around
per-CPU machine-model files, a heavy dependency whose parser answers a different question
(ports and latencies, not packed or scalar, width, dtype). What is needed here is small: the
mnemonic, the register names and the branch targets, by rules short enough to read below.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: The width of an SVE register: fixed by the CPU (128 to 2048 bits), not by the code.
SCALABLE = "scalable"

ARITHMETIC_OPS = ("add", "sub", "mul", "div", "sqrt", "fma", "rsqrt", "rcp", "min", "max")
_DTYPES = {"d": "double", "s": "single", "h": "half"}
_BITS = {"double": 64, "single": 32, "half": 16}

# x86: an optional VEX/EVEX "v", the operation, p(acked)/s(calar), the element type.
_X86_ARITH = re.compile(
    r"^v?(?P<op>add|sub|mul|div|sqrt|rsqrt(?:14|28)?|rcp(?:14|28)?|min|max"
    r"|fn?m(?:add|sub)\d{3}|fm(?:addsub|subadd)\d{3})(?P<form>[ps])(?P<t>[dsh])$"
)
_X86_VECTOR_REG = re.compile(r"(?<![\w])%?([xyz])mm\d+\b")
_X86_WIDTH = {"x": 128, "y": 256, "z": 512}
_X86_REGISTER = re.compile(r"(?<![\w])%?([xyz]mm\d+|k[0-7]|r[a-d]x|r[sd]i|r[sb]p|e[a-d]x|r1[0-5]|r[89])\b")

_A64_OPS = {
    "add": ("fadd", "faddp", "fadda", "faddv"),
    "sub": ("fsub", "fsubr"),
    "mul": ("fmul", "fmulx", "fnmul"),
    "div": ("fdiv", "fdivr"),
    "sqrt": ("fsqrt",),
    "fma": (
        "fmla",
        "fmls",
        "fmad",
        "fmsb",
        "fnmla",
        "fnmls",
        "fnmad",
        "fnmsb",
        "fmadd",
        "fmsub",
        "fnmadd",
        "fnmsub",
    ),
    "rsqrt": ("frsqrte", "frsqrts"),
    "rcp": ("frecpe", "frecps"),
    "max": ("fmax", "fmaxnm", "fmaxp", "fmaxnmp", "fmaxv", "fmaxnmv"),
    "min": ("fmin", "fminnm", "fminp", "fminnmp", "fminv", "fminnmv"),
}
_A64_ARITH = {mnemonic: op for op, names in _A64_OPS.items() for mnemonic in names}
_A64_NEON = re.compile(r"^v\d+\.(\d+)([bhsd])$")
_A64_SVE = re.compile(r"^z\d+\.([bhsdq])$")
_A64_SCALAR = re.compile(r"^([hsd])\d+$")
_A64_BRANCH = re.compile(r"^(?:b(?:\.\w+|eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?|cbn?z|tbn?z)$")
_A64_REGISTER = re.compile(r"(?<![\w.])(?:[xw](?:[12]?\d|30)|[vz]\d+\.\w+|p\d+(?:/[zm])?)(?![\w])")

_A64_VECTOR_REG = re.compile(r"(?<![\w.])(?:([vz])\d+\.\w+|(p)\d+(?:/[zm]|\.\w)?)(?![\w])")
# x86 gathers and scatters; SVE's are ld1d/st1d with a vector of offsets, not told apart here.
_GATHER_SCATTER = ("vgather", "vscatter", "vpgather", "vpscatter")

_LABEL = re.compile(r"^\s*([.\w$@]+):(.*)$")
_OBJDUMP_FUNCTION = re.compile(r"^[0-9a-f]+ <([^>]+)>:\s*$")
_OBJDUMP_LINE = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
_OBJDUMP_TARGET = re.compile(r"^([0-9a-f]+)(?:\s+<[^>]*>)?$")
_FUNCTION_END = re.compile(r"^(?:\.Lfunc_end\d+|\.LFE\d+)$")
_LOCAL_LABEL = re.compile(r"^(?:\.L|L[A-Za-z_]*\d|\$)")


@dataclass(frozen=True)
class Instruction:
    """One instruction of a listing, classified if it is floating-point arithmetic."""

    index: int  # its line in the text (0-based)
    text: str  # the line as printed
    mnemonic: str
    operands: tuple[str, ...]
    function: str | None
    address: int | None = None  # objdump listings only
    op: str | None = None  # one of ARITHMETIC_OPS, or None for anything else
    kind: str | None = None  # "packed" or "scalar" for arithmetic
    width: int | str | None = None  # bits, or SCALABLE
    dtype: str | None = None  # "double", "single", "half"

    @property
    def fma(self) -> bool:
        return self.op == "fma"

    @property
    def key(self) -> tuple[str, int | str, str] | None:
        """``(kind, width, dtype)`` of an arithmetic instruction, the unit :func:`summary` counts."""
        return (self.kind, self.width, self.dtype) if self.op else None


@dataclass(frozen=True)
class Loop:
    """Instructions from a label to the branch that jumps back to it."""

    function: str | None
    label: str
    instructions: tuple[Instruction, ...]
    lines: tuple[str, ...]  # the text from the label line to the branch, to print
    start: int = 0  # the label's line in the listing: lines[k] is the listing's line start + k

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def __len__(self) -> int:
        return len(self.instructions)


Listing = str | Sequence[Instruction] | Loop | None  # None: "no loop found"


def isa(text: str) -> str:
    """``"x86"`` or ``"aarch64"``, whichever ISA's register names the text uses more."""
    x86 = len(_X86_REGISTER.findall(text))
    arm = len(_A64_REGISTER.findall(text))
    return "aarch64" if arm > x86 else "x86"


def _split_operands(rest: str) -> tuple[str, ...]:
    """Operands split at the top-level commas (not inside (), [] or {})."""
    out, depth, current = [], 0, []
    for ch in rest:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        out.append("".join(current).strip())
    return tuple(out)


def _classify_x86(mnemonic: str, operands: tuple[str, ...]) -> dict:
    found = _X86_ARITH.match(mnemonic)
    if not found:
        return {}
    op = found["op"]
    op = "fma" if op.startswith(("fm", "fnm")) else re.sub(r"\d+$", "", op)
    dtype = _DTYPES[found["t"]]
    if found["form"] == "s":
        return {"op": op, "kind": "scalar", "width": _BITS[dtype], "dtype": dtype}
    widths = [_X86_WIDTH[r] for r in _X86_VECTOR_REG.findall(" ".join(operands))]
    return {"op": op, "kind": "packed", "width": max(widths, default=128), "dtype": dtype}


def _classify_aarch64(mnemonic: str, operands: tuple[str, ...]) -> dict:
    op = _A64_ARITH.get(mnemonic)
    if op is None or not operands:
        return {}
    first = operands[0].split("[")[0].strip()
    neon, sve, scalar = _A64_NEON.match(first), _A64_SVE.match(first), _A64_SCALAR.match(first)
    if sve:
        return {"op": op, "kind": "packed", "width": SCALABLE, "dtype": _DTYPES.get(sve[1])}
    if neon:
        dtype = _DTYPES.get(neon[2])
        return {"op": op, "kind": "packed", "width": int(neon[1]) * _BITS.get(dtype, 8), "dtype": dtype}
    if scalar:
        dtype = _DTYPES[scalar[1]]
        return {"op": op, "kind": "scalar", "width": _BITS[dtype], "dtype": dtype}
    return {}


def parse(text: str, isa_: str | None = None) -> list[Instruction]:
    """Every instruction of a listing (directives, labels and comments left out), in order."""
    arch = isa_ or isa(text)
    classify = _classify_aarch64 if arch == "aarch64" else _classify_x86
    out, function, seen = [], None, Counter()

    def opening(name: str) -> str:
        # A name met again (NRT_incref in each of several concatenated modules) is another function.
        seen[name] += 1
        return name if seen[name] == 1 else f"{name}#{seen[name]}"

    for index, raw in enumerate(text.splitlines()):
        line, address = raw, None
        if "file format" in line or line.startswith("Disassembly of"):  # objdump's headers
            continue
        objdump_function = _OBJDUMP_FUNCTION.match(line)
        if objdump_function:
            function = opening(objdump_function[1])
            continue
        objdump = _OBJDUMP_LINE.match(line)
        if objdump and "\t" in raw:
            address, line = int(objdump[1], 16), objdump[2]
        else:
            label = _LABEL.match(line)
            if label:
                if _FUNCTION_END.match(label[1]):
                    function = None
                elif not _LOCAL_LABEL.match(label[1]):
                    function = opening(label[1])
                line = label[2]
        comment = "//" if arch == "aarch64" else "#"
        line = line.split(comment, 1)[0].strip()
        if re.match(r"^\.(size|cfi_endproc)\b", line):
            function = None
        if not line or line.startswith("."):
            continue
        mnemonic, _, rest = line.partition(" ")
        if "\t" in mnemonic:
            mnemonic, _, more = mnemonic.partition("\t")
            rest = more + " " + rest
        mnemonic = mnemonic.lower()
        if mnemonic.startswith(("rep", "lock", "notrack", "bnd")) and rest.strip():
            mnemonic, _, rest = rest.strip().partition(" ")
        operands = _split_operands(rest.strip())
        out.append(
            Instruction(index, raw, mnemonic, operands, function, address, **classify(mnemonic, operands))
        )
    return out


def _instructions(listing: Listing) -> list[Instruction]:
    # None is what hot_loop returns when there is no loop: it counts as no instructions.
    if listing is None:
        return []
    if isinstance(listing, Loop):
        return list(listing.instructions)
    if isinstance(listing, str):
        return parse(listing)
    return list(listing)


def functions(text: str) -> dict[str, str]:
    """``{name: text}``: each function of a listing (Numba's ``cpython`` wrappers included)."""
    lines = text.splitlines()
    spans: dict[str, list[int]] = {}
    for ins in parse(text):
        if ins.function is not None:
            spans.setdefault(ins.function, []).append(ins.index)
    out = {}
    for name, indices in spans.items():
        first = next(
            (
                k
                for k in range(indices[0], -1, -1)
                if re.match(rf"^(?:[0-9a-f]+ <)?{re.escape(name.split('#')[0])}>?:", lines[k])
            ),
            indices[0],
        )
        out[name] = "\n".join(lines[first : indices[-1] + 1])
    return out


def kernel_function(text: str, avoid: Iterable[str] = ("cpython", "cfunc")) -> str:
    """The one function of a Numba listing that is the compiled kernel, not a wrapper."""
    candidates = {k: v for k, v in functions(text).items() if not any(word in k for word in avoid)}
    if not candidates:
        raise ValueError("no function besides the wrappers in this listing")
    return max(candidates.values(), key=len)


def _branch_target(ins: Instruction, arch: str) -> str | None:
    if arch == "aarch64":
        return ins.operands[-1] if _A64_BRANCH.match(ins.mnemonic) and ins.operands else None
    if ins.mnemonic.startswith("j") and len(ins.operands) == 1 and not ins.operands[0].startswith("*"):
        return ins.operands[0]
    return None


def loops(listing: str, innermost: bool = True) -> list[Loop]:
    """The loops: a label and a later branch back to it in the same function (innermost only by default)."""
    arch = isa(listing)
    instructions = parse(listing, arch)
    lines = listing.splitlines()
    labels: dict[tuple[str | None, str], int] = {}  # (function, label) -> line index
    positions = [i.index for i in instructions]
    for k, raw in enumerate(lines):
        label = _LABEL.match(raw)
        if label and not _OBJDUMP_LINE.match(raw):
            after = bisect.bisect_right(positions, k)  # a label belongs to the instruction after it
            owner = instructions[after].function if after < len(instructions) else None
            labels.setdefault((owner, label[1]), k)
    by_address = {i.address: i.index for i in instructions if i.address is not None}
    spans = []
    for ins in instructions:
        target = _branch_target(ins, arch)
        if target is None:
            continue
        start = labels.get((ins.function, target))
        hexadecimal = _OBJDUMP_TARGET.match(target)
        if start is None and ins.address is not None and hexadecimal:
            start = by_address.get(int(hexadecimal[1], 16))
        if start is not None and start <= ins.index:
            spans.append((start, ins.index, target, ins.function))
    if innermost:
        spans = [s for s in spans if not any(o != s and s[0] <= o[0] and o[1] <= s[1] for o in spans)]
    return [
        Loop(
            function, target, tuple(i for i in instructions if a <= i.index <= z), tuple(lines[a : z + 1]), a
        )
        for a, z, target, function in spans
    ]


def arithmetic(listing: Listing) -> list[Instruction]:
    """The floating-point arithmetic instructions of a listing, loop or list of instructions."""
    return [i for i in _instructions(listing) if i.op]


def summary(listing: Listing) -> Counter:
    """How many arithmetic instructions of each ``(kind, width, dtype)``: ``("packed", 256, "double")``."""
    return Counter(i.key for i in arithmetic(listing))


def _rank(width: int | str | None) -> int:
    return 4096 if width == SCALABLE else int(width or 0)


def vector_widths(listing: Listing) -> list[int | str]:
    """The register widths the packed arithmetic uses, narrowest first (SVE's SCALABLE last)."""
    return sorted({i.width for i in arithmetic(listing) if i.kind == "packed"}, key=_rank)


def widest(listing: Listing) -> int | str:
    """The widest packed arithmetic's register width; 0 when the arithmetic is all scalar."""
    widths = vector_widths(listing)
    return widths[-1] if widths else 0


def _matches(i: Instruction, op: str | None, dtype: str | None) -> bool:
    return (op is None or i.op == op) and (dtype is None or i.dtype == dtype)


def has_packed(listing: Listing, op: str | None = None, dtype: str | None = None) -> bool:
    """Whether any packed arithmetic (of this ``op`` and ``dtype``, if given) is in the listing."""
    return any(i.kind == "packed" and _matches(i, op, dtype) for i in arithmetic(listing))


def has_scalar(listing: Listing, op: str | None = None, dtype: str | None = None) -> bool:
    """Whether any scalar arithmetic (of this ``op`` and ``dtype``, if given) is in the listing."""
    return any(i.kind == "scalar" and _matches(i, op, dtype) for i in arithmetic(listing))


def vectorised(listing: Listing) -> bool:
    """Whether most of the arithmetic is packed: the loop itself was vectorised.

    A scalar loop can still hold a packed instruction or two where the compiler packed a few
    neighbouring operations together (GCC's and LLVM's SLP, "basic block vectorized"), so
    :func:`has_packed` alone does not say that the loop runs several iterations at once.
    """
    c = counts(listing)
    return c["packed"] > c["scalar"]


def mnemonics(listing: Listing) -> Counter:
    """How often each mnemonic occurs."""
    return Counter(i.mnemonic for i in _instructions(listing))


def register_classes(listing: Listing) -> Counter:
    """Vector register use by class: ``xmm ymm zmm`` (x86), ``v`` (NEON), ``z`` and ``p`` (SVE)."""
    found: Counter = Counter()
    for ins in _instructions(listing):
        operands = " ".join(ins.operands)
        found.update(f"{r}mm" for r in _X86_VECTOR_REG.findall(operands))
        found.update(a or b for a, b in _A64_VECTOR_REG.findall(operands))
    return found


def counts(listing: Listing) -> dict[str, int | str]:
    """One table row: packed and scalar arithmetic, FMAs, the widest width, gathers and scatters."""
    ar = arithmetic(listing)
    names = [i.mnemonic for i in _instructions(listing)]
    return {
        "packed": sum(i.kind == "packed" for i in ar),
        "scalar": sum(i.kind == "scalar" for i in ar),
        "FMA": sum(i.fma for i in ar),
        "widest": widest(ar),
        "gather/scatter": sum(n.startswith(_GATHER_SCATTER) for n in names),
    }


def hot_loop(listing: str, needs: Iterable[str] = ()) -> Loop | None:
    """The innermost loop to read: the widest, busiest packed one, else the one with most scalar work.

    ``needs`` keeps only loops holding one of these ops (``("sqrt", "rsqrt")`` for n-body's).
    """
    needs = tuple(needs)
    candidates = [lp for lp in loops(listing) if not needs or any(i.op in needs for i in lp.instructions)]
    if not candidates:
        return None

    def work(loop: Loop) -> tuple:
        c = counts(loop)
        return (c["packed"] > 0, _rank(c["widest"]), c["packed"], c["scalar"], -len(loop))

    return max(candidates, key=work)


def describe_width(width: int | str) -> str:
    """Words for a width: ``"256-bit"``, ``"scalable (SVE)"``, ``"scalar"`` for 0."""
    if width == SCALABLE:
        return "scalable (SVE)"
    return f"{width}-bit" if width else "scalar"
