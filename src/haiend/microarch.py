"""What no CPU flag tells: how many FMA units a core has and how wide they are, by microarchitecture.

The flags say which instructions exist (``avx512f``), not how fast they run. A Zen 4 core accepts
512-bit FMAs but executes each as two 256-bit halves, so its FP64 flops per cycle equal Zen 3's;
a Xeon Silver has one 512-bit FMA unit where a Xeon Platinum has two. ``identify(info)`` finds the
row of ``TABLE`` for a fingerprint (``haiend.machine.describe()``) by vendor, family and model
number (x86) or implementer and part number (Arm), and says how it decided.

A row's ``fma`` maps a vector width in bits to the FMA units that can start one FMA of that width
each cycle. Code using vectors of ``bits`` gets the entry of the widest width not above ``bits``:
a Xeon Platinum running AVX2 code has its two 256-bit units (ports 0 and 1), not the 512-bit unit
on port 5, which only 512-bit instructions reach. FP64 flops per cycle = units x doubles per
unit-width vector x 2 (an FMA is two flops); FP32 is twice that on every row here.

One-FMA Xeons: Skylake-SP and Cascade Lake come with one or two 512-bit FMA units per core by SKU
(Intel's ark lists "# of AVX-512 FMA Units"). The rule here reads the model name: Platinum,
Gold 6xxx, Gold 5122, Xeon W and Core i9 have two; other Gold 5xxx, Silver and Bronze have one. A
name that says neither (a cloud guest's "Intel Xeon Processor (Cascadelake)") gets two, marked
assumed, because the cloud instance types built on these parts use Platinum/Gold 6 SKUs.

An unknown CPU gets a row derived from its flags, marked assumed: two FMA units of the widest
vector its flags allow (AVX-512, AVX/AVX2, SSE2/NEON), or one scalar unit without FMA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

AMD_ZEN2_SOG = "AMD Software Optimization Guide for AMD EPYC 7002 Processors (pub. 56305), section 2.11"
AMD_ZEN1_SOG = "AMD Software Optimization Guide for AMD Family 17h Processors (pub. 55723), section 2.11"
AMD_ZEN3_SOG = "AMD Software Optimization Guide for AMD Family 19h Processors (pub. 56665), section 2.11"
AMD_ZEN4_SOG = "AMD Software Optimization Guide for the AMD Zen4 Microarchitecture (pub. 57647), section 2.11"
AMD_ZEN5_SOG = "AMD Software Optimization Guide for the AMD Zen5 Microarchitecture (pub. 58455), section 2.11"
INTEL_ORM = "Intel 64 and IA-32 Architectures Optimization Reference Manual (248966), chapter 2"
INTEL_ARK_FMA = "Intel ark.intel.com, '# of AVX-512 FMA Units' per Xeon SKU"
ARM_N1_SOG = "Arm Neoverse N1 Software Optimization Guide (PJDOC-466751330-9707), section 3"
ARM_N2_SOG = "Arm Neoverse N2 Software Optimization Guide (PJDOC-466751330-18256), section 3"
ARM_V1_SOG = "Arm Neoverse V1 Software Optimization Guide (PJDOC-466751330-18256-V1), section 3"
ARM_V2_SOG = "Arm Neoverse V2 Software Optimization Guide (PJDOC-466751330-593177), section 3"
APPLE_GUIDE = "Apple Silicon CPU Optimization Guide (developer.apple.com, 2024), 'Execution units'"


@dataclass(frozen=True)
class Microarch:
    """One row of the table: a family of cores that execute FP64 FMAs alike."""

    name: str
    vendor: str  # 'AuthenticAMD', 'GenuineIntel', or the Arm implementer code '0x41', '0x61'
    family: int | None  # x86 family (None on Arm)
    models: tuple[tuple[int, int], ...]  # inclusive ranges of model (x86) or part (Arm) numbers
    fma: dict[int, int]  # vector bits -> FMA units that accept a vector of that width each cycle
    source: str
    simd_bits: int | None = None  # the ISA's widest FP64 vector when the flags cannot say (SVE)
    names: tuple[str, ...] = ()  # model-name patterns that identify the row where numbers cannot

    def matches(self, vendor: str | None, family: int | None, model: int | None) -> bool:
        if vendor != self.vendor or family != self.family or model is None:
            return False
        return any(low <= model <= high for low, high in self.models)


def _x86(name, vendor, family, models, fma, source, **kw) -> Microarch:
    return Microarch(name, vendor, family, tuple(models), fma, source, **kw)


AMD, INTEL = "AuthenticAMD", "GenuineIntel"
TWO_256 = {256: 2}
TWO_512 = {512: 2, 256: 2}
ONE_512 = {512: 1, 256: 2}

TABLE: tuple[Microarch, ...] = (
    _x86("Zen / Zen+", AMD, 0x17, [(0x00, 0x2F)], {128: 2}, AMD_ZEN1_SOG + ": two 128-bit FMA pipes"),
    _x86("Zen 2", AMD, 0x17, [(0x30, 0xFF)], TWO_256, AMD_ZEN2_SOG + ": two 256-bit FMA pipes"),
    _x86("Zen 3", AMD, 0x19, [(0x00, 0x0F), (0x20, 0x5F)], TWO_256, AMD_ZEN3_SOG + ": two 256-bit FMA pipes"),
    _x86(
        "Zen 4",
        AMD,
        0x19,
        [(0x10, 0x1F), (0x60, 0x7F), (0xA0, 0xAF)],
        TWO_256,
        AMD_ZEN4_SOG + ": two 256-bit FMA pipes; a 512-bit op issues as two 256-bit halves",
    ),
    _x86("Zen 5", AMD, 0x1A, [(0x00, 0x1F), (0x40, 0x4F)], TWO_512, AMD_ZEN5_SOG + ": two 512-bit FMA pipes"),
    _x86(
        "Zen 5 (mobile)",
        AMD,
        0x1A,
        [(0x20, 0x2F), (0x60, 0x7F)],
        TWO_256,
        AMD_ZEN5_SOG + ": mobile parts keep a 256-bit datapath (512-bit ops as two halves)",
    ),
    _x86(
        "Haswell / Broadwell",
        INTEL,
        6,
        [(0x3C, 0x3C), (0x3D, 0x3D), (0x3F, 0x3F), (0x45, 0x47), (0x4F, 0x4F), (0x56, 0x56)],
        TWO_256,
        INTEL_ORM + ": FMA on ports 0 and 1",
    ),
    _x86(
        "Skylake (client) to Comet Lake",
        INTEL,
        6,
        [(0x4E, 0x4E), (0x5E, 0x5E), (0x8E, 0x8E), (0x9E, 0x9E), (0xA5, 0xA6)],
        TWO_256,
        INTEL_ORM + ": FMA on ports 0 and 1",
    ),
    _x86(
        "Skylake-SP / Cascade Lake / Cooper Lake",
        INTEL,
        6,
        [(0x55, 0x55)],
        TWO_512,
        INTEL_ORM + "; " + INTEL_ARK_FMA,
        names=(r"platinum", r"gold\s*6\d\d\d", r"gold\s*5122", r"xeon\(r\)\s*w-", r"xeon w-", r"core.*i9"),
    ),
    _x86(
        "Skylake-SP / Cascade Lake, one FMA unit",
        INTEL,
        6,
        [(0x55, 0x55)],
        ONE_512,
        INTEL_ORM + "; " + INTEL_ARK_FMA + " (Silver, Bronze, Gold 5xxx but 5122)",
        names=(r"silver", r"bronze", r"gold\s*5\d\d\d"),
    ),
    _x86(
        "Ice Lake (client) / Tiger Lake / Rocket Lake",
        INTEL,
        6,
        [(0x7D, 0x7E), (0x8C, 0x8D), (0xA7, 0xA7)],
        ONE_512,
        INTEL_ORM + ": client cores fuse ports 0 and 1 for one 512-bit FMA",
    ),
    _x86(
        "Ice Lake server", INTEL, 6, [(0x6A, 0x6A), (0x6C, 0x6C)], TWO_512, INTEL_ORM + "; " + INTEL_ARK_FMA
    ),
    _x86(
        "Sapphire Rapids / Emerald Rapids",
        INTEL,
        6,
        [(0x8F, 0x8F), (0xCF, 0xCF)],
        TWO_512,
        INTEL_ORM + "; " + INTEL_ARK_FMA,
    ),
    _x86("Granite Rapids", INTEL, 6, [(0xAD, 0xAE)], TWO_512, INTEL_ORM + "; " + INTEL_ARK_FMA),
    _x86(
        "Alder Lake / Raptor Lake (P-cores)",
        INTEL,
        6,
        [(0x97, 0x97), (0x9A, 0x9A), (0xB7, 0xB7), (0xBA, 0xBA), (0xBF, 0xBF)],
        TWO_256,
        INTEL_ORM + ": AVX-512 disabled; FMA on ports 0 and 1",
    ),
    Microarch(
        "Neoverse N1", "0x41", None, ((0xD0C, 0xD0C),), {128: 2}, ARM_N1_SOG + ": two 128-bit FP pipes"
    ),
    Microarch(
        "Neoverse N2",
        "0x41",
        None,
        ((0xD49, 0xD49),),
        {128: 2},
        ARM_N2_SOG + ": two 128-bit FP pipes",
        simd_bits=128,
    ),
    Microarch(
        "Neoverse V1",
        "0x41",
        None,
        ((0xD40, 0xD40),),
        {256: 2, 128: 4},
        ARM_V1_SOG + ": two 256-bit SVE pipes, or four 128-bit NEON pipes",
        simd_bits=256,
    ),
    Microarch(
        "Neoverse V2",
        "0x41",
        None,
        ((0xD4F, 0xD4F),),
        {128: 4},
        ARM_V2_SOG + ": four 128-bit FP pipes",
        simd_bits=128,
    ),
    Microarch(
        "Apple M1 to M4 (performance cores)",
        "0x61",
        None,
        ((0x000, 0xFFF),),
        {128: 4},
        APPLE_GUIDE + ": four 128-bit FP/NEON pipes",
        names=(r"apple m\d",),
    ),
)


@dataclass(frozen=True)
class Identified:
    """A row for a fingerprint, how it was found, and what had to be assumed."""

    row: Microarch
    how: str  # one sentence: which fingerprint fields decided
    assumed: str | None = None  # None when the table decided; else why a figure is assumed
    inputs: dict[str, Any] = field(default_factory=dict)

    def fma_at(self, bits: int) -> tuple[int, int]:
        """(units, width in bits) of the FMAs that vectors of ``bits`` bits get on this core."""
        widths = sorted(w for w in self.row.fma if w <= bits) or sorted(self.row.fma)[:1]
        width = widths[-1]
        return self.row.fma[width], width

    def flops_per_cycle(self, bits: int, itemsize: int = 8) -> int:
        """Peak flops per cycle per core for vectors of ``bits`` bits of ``itemsize``-byte numbers."""
        units, width = self.fma_at(bits)
        return units * (min(width, bits) // (8 * itemsize)) * 2


def isa_bits(simd: list[str] | tuple[str, ...] | set[str]) -> int:
    """The widest FP64 vector the flags allow: 512 (AVX-512), 256 (AVX), 128 (SSE2, NEON), or 64."""
    flags = set(simd)
    if "avx512f" in flags:
        return 512
    if flags & {"avx", "avx2"}:
        return 256
    if flags & {"sse2", "asimd"}:
        return 128
    return 64


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value), 0)
    except ValueError:
        return None


def identify(info: dict[str, Any]) -> Identified:
    """The table row for this fingerprint; a row derived from the flags, marked assumed, if none fits."""
    vendor = info.get("cpu_vendor")
    family = _int(info.get("cpu_family"))
    model = _int(info.get("cpu_model_number"))
    part = _int(info.get("cpu_part"))
    name = str(info.get("cpu_model") or "")
    inputs = {
        "cpu_vendor": vendor,
        "cpu_family": family,
        "cpu_model_number": model,
        "cpu_part": info.get("cpu_part"),
        "cpu_model": name,
    }
    number = part if family is None else model
    rows = [row for row in TABLE if row.matches(vendor, family, number)]
    by_name = [row for row in TABLE if any(re.search(p, name, re.I) for p in row.names)]
    if len(rows) > 1:  # one family/model with SKUs that differ: the model name decides
        named = [row for row in rows if row in by_name]
        if named:
            return Identified(
                named[0], f"{_where(vendor, family, number)} and the model name '{name}'", None, inputs
            )
        return Identified(
            rows[0],
            f"{_where(vendor, family, number)}",
            f"the model name '{name}' does not say which SKU this is; {rows[0].name} ({_units(rows[0])}) is assumed",
            inputs,
        )
    if rows:
        return Identified(rows[0], _where(vendor, family, number), None, inputs)
    if by_name:  # macOS has no /proc/cpuinfo: Apple parts are known by name
        return Identified(by_name[0], f"the model name '{name}'", None, inputs)
    return _from_flags(info, inputs)


def _units(row: Microarch) -> str:
    return ", ".join(f"{units} x {bits}-bit FMA" for bits, units in sorted(row.fma.items(), reverse=True))


def _where(vendor, family, number) -> str:
    if family is None:
        return f"implementer {vendor}, part {number:#x}" if number is not None else f"implementer {vendor}"
    return f"vendor {vendor}, family {family:#x}, model {number:#x}"


def _from_flags(info: dict[str, Any], inputs: dict[str, Any]) -> Identified:
    simd = info.get("simd") or []
    bits = isa_bits(simd)
    has_fma = "fma" in simd or "asimd" in simd  # every AArch64 core with NEON has FP64 FMA
    fma = {bits: 2} if has_fma and bits > 64 else {64: 1}
    row = Microarch(
        f"unknown ({' '.join(simd) or 'no SIMD flags'})", "", None, (), fma, "derived from the CPU flags"
    )
    vendor = inputs.get("cpu_vendor") or "an unknown vendor"
    reason = f"this CPU ({vendor}, '{inputs.get('cpu_model')}') is not in haiend.microarch.TABLE: " + (
        f"two {bits}-bit FMA units are assumed from its flags"
        if has_fma
        else "one scalar unit is assumed (no FMA)"
    )
    inputs = {**inputs, "simd": list(simd)}
    return Identified(row, "the CPU flags (no table row matched)", reason, inputs)
