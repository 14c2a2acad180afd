"""Tuning parameters derived from the machine's fingerprint, each with its rule and its inputs.

A block size that suits one CPU spills registers or misses cache on another, so nothing here is a
constant of the machine it was written on: ``derive(info)`` reads a fingerprint
(``haiend.machine.describe()``, or a file saved with ``haiend machine --json``) and returns a
``Tuning`` whose parameters each carry the value, the rule in one sentence and the fingerprint
values the rule used. ``haiend tune [--machine FILE] [--json]`` prints them; ``this_machine()`` is
the cached result for the running process, which the Numba matmul reads at import.

The target is the ISA Numba compiles for: the host's flags, narrowed by ``NUMBA_CPU_FEATURES`` (and
``NUMBA_CPU_NAME`` when the features are set empty) as the fingerprint's performance environment
records them. ``NUMBA_CPU_NAME=znver3 NUMBA_CPU_FEATURES=`` on an AVX-512 host compiles AVX2 code
with 16 vector registers, and the parameters follow: that is how an AVX2 machine is emulated here
(with ``OPENBLAS_CORETYPE=Haswell`` for the BLAS it is compared with). FMA units and their width
come from ``haiend.microarch``.

The matmul blocks follow Low, Igual, Smith and Quintana-Orti, "Analytical modeling is enough for
high-performance BLIS", ACM TOMS 43(2), 2016 (the section numbers of that paper were not at hand
when this was written; the rules are named by what they derive):

* MR x NR, register blocking: enough independent accumulators to hide the FMA latency on every
  unit, MR * NR >= units x latency, and all of them in registers. Our micro-kernel
  (``kernels.matmul.numba_impl``) computes MR x NR dot products with the vector running along k,
  so each element of the C tile is one vector register (the paper's MR x NR / lanes registers,
  with its vector along n); besides the accumulators the loop holds the NR vectors of B and one of
  A: MR * NR + NR + 1 <= vector registers. The kernel has one hand-unrolled function per shape,
  so MR x NR is the largest of ``TILE_SHAPES`` that satisfies both.
* KC, the L1 rule: the MR x KC micro-panel that stays (here A's, the paper's B micro-panel) and
  the NR x KC micro-panel that streams share the W - 1 ways of L1 left after one way for C, in
  proportion to their heights: C_s = floor((W1 - 1) / (1 + MR / NR)) ways for the streamed one,
  KC = C_s * sets1 * line1 / (NR * 8 bytes), as the paper's C_Ar and kc (its mr, nr swapped:
  our loop nest is the paper's applied to C^T = B^T A^T).
* NC, the L2 rule: the packed NC x KC block of B that every row tile of A sweeps (the paper's MC x
  KC block of A) takes W2 - 2 ways of L2, one way being left to the micro-panel in L1 use and one
  to C: NC = (W2 - 2) * sets2 * line2 / (KC * 8), down to a multiple of NR (LLVM Polly's
  MatmulOptimizer computes its Mc the same way).
* MC, the L3 rule: the packed MC x KC panel of A (the paper's KC x NC panel of B) in W3 - 2 ways
  of the last-level cache, down to a multiple of MR.

Where sysfs gave no ways or sets, 8 ways and 64-byte lines are assumed and the inputs say so.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haiend import microarch
from haiend.errors import HaiendError

#: Register tiles the Numba matmul implements, most accumulators first.
TILE_SHAPES = ((6, 4), (4, 3))
#: FP64 FMA latency in cycles: 4 on every row of haiend.microarch.TABLE (the vendors' guides cited there).
FMA_LATENCY = 4
DOUBLE = 8

#: LLVM CPU names (NUMBA_CPU_NAME) and the FP64 vector width their ISA reaches.
LLVM_CPU_BITS = {
    **dict.fromkeys(
        (
            "skylake-avx512",
            "cascadelake",
            "cooperlake",
            "cannonlake",
            "icelake-client",
            "icelake-server",
            "tigerlake",
            "rocketlake",
            "sapphirerapids",
            "emeraldrapids",
            "graniterapids",
            "znver4",
            "znver5",
            "x86-64-v4",
        ),
        512,
    ),
    **dict.fromkeys(
        (
            "haswell",
            "broadwell",
            "skylake",
            "alderlake",
            "raptorlake",
            "meteorlake",
            "znver1",
            "znver2",
            "znver3",
            "x86-64-v3",
        ),
        256,
    ),
    **dict.fromkeys(("x86-64", "x86-64-v2", "nehalem", "westmere", "sandybridge", "generic"), 128),
}


@dataclass(frozen=True)
class Param:
    """One derived value, the rule that gave it, and the fingerprint values the rule read."""

    value: Any
    rule: str
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tuning:
    """Every derived parameter by name, and the CPU it was derived for."""

    cpu: str
    params: dict[str, Param]

    def __getitem__(self, name: str) -> Any:
        return self.params[name].value

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu": self.cpu,
            "params": {
                k: {"value": p.value, "rule": p.rule, "inputs": p.inputs} for k, p in self.params.items()
            },
        }


def load_fingerprint(path: str | Path) -> dict[str, Any]:
    """A fingerprint saved with ``haiend machine --json``; a bad file is a HaiendError (one sentence)."""
    try:
        info = json.loads(Path(path).read_text())
    except OSError as exc:
        raise HaiendError(f"cannot read the fingerprint {path}: {exc.strerror or exc}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HaiendError(
            f"{path} is not JSON: save a fingerprint with 'haiend machine --json > FILE'."
        ) from None
    if not isinstance(info, dict) or "simd" not in info or "caches" not in info:
        raise HaiendError(
            f"{path} is not a machine fingerprint (no 'simd' or 'caches'): make one with 'haiend machine --json'."
        )
    return info


@functools.cache
def this_machine() -> Tuning:
    """The parameters for the running process: only the cheap probes (CPU, caches, environment; 1 ms)."""
    from haiend import machine

    return derive({**machine.collect_cpu(), **machine.collect_caches(), **machine.collect_environment()})


def derive(info: dict[str, Any]) -> Tuning:
    """All parameters for the machine ``info`` describes."""
    ident = microarch.identify(info)
    p: dict[str, Param] = {}
    target = _target(info, p)
    bits, arm = target["bits"], target["arm"]
    ident_inputs = {**ident.inputs, "table row": ident.row.name, "source": ident.row.source}
    assumed = f" Assumed: {ident.assumed}." if ident.assumed else ""

    hardware = max(bits, ident.row.simd_bits or 0) if arm else bits
    p["hardware_vector_bits"] = Param(
        hardware,
        "The widest FP64 vector the core executes for the target: the SVE width of the table row on Arm"
        " where it has one, else target_bits.",
        {"target_bits": bits, "table row": ident.row.name, "row_simd_bits": ident.row.simd_bits},
    )
    request = 128 if arm else bits
    p["vector_bits"] = Param(
        request,
        "The width to ask LLVM for (prefer_vector_width): on Arm NEON's 128 bits, which LLVM vectorises"
        " with fixed-width vectors; on x86 the widest vector of the target ISA.",
        {"target_bits": bits, "architecture": info.get("architecture")},
    )
    p["doubles_per_vector"] = Param(request // 64, "vector_bits / 64.", {"vector_bits": request})
    units, width = ident.fma_at(bits)
    p["fma_units"] = Param(
        units,
        f"FMA units per core for {bits}-bit vectors, from the {ident.row.name} row ({ident.how}).{assumed}",
        ident_inputs,
    )
    p["fma_bits"] = Param(
        width, "The width of each of those FMA units, from the same row.", {"table row": ident.row.name}
    )
    p["flops_per_cycle_fp64"] = Param(
        ident.flops_per_cycle(bits, 8),
        "fma_units x doubles per FMA x 2 flops per FMA (per core, FP64).",
        {"fma_units": units, "fma_bits": width, "target_bits": bits},
    )
    p["flops_per_cycle_fp32"] = Param(
        ident.flops_per_cycle(bits, 4),
        "fma_units x floats per FMA x 2 flops per FMA (per core, FP32).",
        {"fma_units": units, "fma_bits": width, "target_bits": bits},
    )
    registers = 32 if arm or bits == 512 else 16
    p["vector_registers"] = Param(
        registers,
        "32 with AVX-512 (zmm0-31, also as ymm with AVX-512VL) and on AArch64 (v0-31); 16 with AVX or SSE.",
        {"target_bits": bits, "architecture": info.get("architecture")},
    )
    _register_tile(p, registers, units)
    _cache_blocks(info, p)
    _working_sets(info, p)
    _counts(info, p)
    return Tuning(f"{ident.row.name}" + (" (assumed)" if ident.assumed else ""), p)


def _feature_bits(features: str) -> int:
    enabled = {f[1:] for f in features.split(",") if f.startswith("+")}
    return 512 if "avx512f" in enabled else 256 if enabled & {"avx", "avx2"} else 128


def _target(info: dict[str, Any], p: dict[str, Param]) -> dict[str, Any]:
    """The ISA Numba compiles for. Numba passes LLVM a CPU name and a feature string: the host's
    unless NUMBA_CPU_NAME / NUMBA_CPU_FEATURES say otherwise, and the features decide the ISA (a
    name alone keeps the host's features, so NUMBA_CPU_NAME=znver3 on an AVX-512 host still
    compiles AVX-512; NUMBA_CPU_FEATURES set empty leaves the named CPU's own features)."""
    simd = info.get("simd") or []
    host = microarch.isa_bits(simd)
    arm = str(info.get("architecture") or "").lower() in ("aarch64", "arm64") or "asimd" in simd
    env = info.get("performance_environment") or {}
    name = str(env.get("NUMBA_CPU_NAME") or "host").lower()
    features = env.get("NUMBA_CPU_FEATURES")
    if name == "generic" and features is None:
        features = ""  # what Numba does for the generic CPU
    if arm:
        bits, rule = host, "AArch64: NEON's 128-bit vectors (SVE widths are the table row's, for the peak)."
    elif features:
        bits = min(host, _feature_bits(features))
        rule = "NUMBA_CPU_FEATURES decides the ISA: 512 with +avx512f, 256 with +avx or +avx2, else 128."
    elif features is not None and name != "host":
        bits = min(host, LLVM_CPU_BITS.get(name, host))
        rule = f"NUMBA_CPU_FEATURES is empty, so the ISA is the one LLVM gives the CPU {name} (haiend.tune.LLVM_CPU_BITS)."
        if name not in LLVM_CPU_BITS:
            rule += " That name is not in the table: the host's width is assumed."
    else:
        bits = host
        rule = "The widest FP64 vector of the host's SIMD flags: 512 (avx512f), 256 (avx), 128 (sse2, asimd)."
        if name != "host":
            rule += f" NUMBA_CPU_NAME={name} alone keeps the host's features (set NUMBA_CPU_FEATURES= to drop them)."
    inputs = {"simd": list(simd), "NUMBA_CPU_NAME": env.get("NUMBA_CPU_NAME"), "NUMBA_CPU_FEATURES": features}
    p["target_bits"] = Param(bits, rule, inputs)
    return {"bits": bits, "arm": arm}


def _register_tile(p: dict[str, Param], registers: int, units: int) -> None:
    needed = units * FMA_LATENCY

    def fits(shape):
        mr, nr = shape
        return mr * nr + nr + 1 <= registers

    fitting = [s for s in TILE_SHAPES if fits(s)]
    hiding = [s for s in fitting if s[0] * s[1] >= needed]
    mr, nr = (hiding or fitting or TILE_SHAPES[-1:])[0]
    rule = (
        "The largest implemented tile (TILE_SHAPES) with MR*NR + NR + 1 <= vector registers (accumulators,"
        " B's vectors, one of A) and MR*NR >= FMA units x latency (Low et al.'s register-block rules)."
    )
    if not hiding:
        rule += " No implemented tile hides the whole latency here; the largest that fits is used."
    inputs = {
        "vector_registers": registers,
        "fma_units": units,
        "fma_latency": FMA_LATENCY,
        "registers_used": mr * nr + nr + 1,
    }
    p["matmul_mr"] = Param(mr, rule, inputs)
    p["matmul_nr"] = Param(nr, rule, inputs)


def _geometry(info: dict[str, Any], level: str) -> tuple[int, int, int, bool] | None:
    """(size, ways, line) of a cache level, and whether ways and line were assumed."""
    size = (info.get("caches") or {}).get(level)
    if not size:
        return None
    shape = (info.get("cache_geometry") or {}).get(level) or {}
    assumed = not (shape.get("ways") and shape.get("line"))
    return int(size), int(shape.get("ways") or 8), int(shape.get("line") or 64), assumed


def _last_level(info: dict[str, Any]) -> str | None:
    caches = info.get("caches") or {}
    unified = [k for k in caches if k[1:].isdigit()]
    return max(unified, key=lambda k: int(k[1:]), default=None)


def _cache_blocks(info: dict[str, Any], p: dict[str, Param]) -> None:
    mr, nr = p["matmul_mr"].value, p["matmul_nr"].value
    l1 = _geometry(info, "L1d") or (32 * 2**10, 8, 64, True)
    size1, ways1, line1, assumed1 = l1
    sets1 = size1 // (ways1 * line1)
    streamed_ways = max(1, (ways1 - 1) * nr // (nr + mr))  # floor((W-1) / (1 + MR/NR))
    kc = max(8, streamed_ways * sets1 * line1 // (nr * DOUBLE))
    kc -= kc % 8
    p["matmul_kc"] = Param(
        kc,
        "Low et al.'s L1 rule: floor((W1 - 1) / (1 + MR/NR)) ways of L1 hold the streamed NR x KC micro-panel,"
        " KC = those ways x sets x line / (NR x 8 bytes); the MR x KC panel takes the rest but one way.",
        {
            "L1d_bytes": size1,
            "L1d_ways": ways1,
            "L1d_line": line1,
            "L1d_sets": sets1,
            "streamed_ways": streamed_ways,
        }
        | ({"assumed": "8 ways, 64-byte lines (not in the fingerprint)"} if assumed1 else {}),
    )
    l2 = _geometry(info, "L2")
    if l2 is None:
        nc, inputs = 256, {"assumed": "no L2 in the fingerprint: NC = 256"}
    else:
        size2, ways2, line2, assumed2 = l2
        nc = max(nr, (ways2 - 2) * (size2 // ways2) // (kc * DOUBLE))
        inputs = {"L2_bytes": size2, "L2_ways": ways2, "KC": kc} | (
            {"assumed": "8 ways (not in the fingerprint)"} if assumed2 else {}
        )
    nc -= nc % nr
    p["matmul_nc"] = Param(
        nc,
        "Low et al.'s L2 rule: the NC x KC block of B fills W2 - 2 ways of L2 (one left for the micro-panel"
        " from L1, one for C): NC = (W2 - 2) x way size / (KC x 8 bytes), down to a multiple of NR.",
        inputs | {"block_bytes": nc * kc * DOUBLE},
    )
    llc = _last_level(info)
    g3 = _geometry(info, llc) if llc and llc != "L2" else None
    if g3 is None:
        mc, inputs = 4096, {"assumed": "no cache above L2 in the fingerprint: MC = 4096"}
    else:
        size3, ways3, _, assumed3 = g3
        mc = max(mr, (ways3 - 2) * (size3 // ways3) // (kc * DOUBLE))
        inputs = {f"{llc}_bytes": size3, f"{llc}_ways": ways3, "KC": kc} | (
            {"assumed": "8 ways (not in the fingerprint)"} if assumed3 else {}
        )
    mc -= mc % mr
    p["matmul_mc"] = Param(
        mc,
        "Low et al.'s L3 rule: the MC x KC panel of packed A fills W3 - 2 ways of the last-level cache"
        " (cpu0's share as sysfs reports it), down to a multiple of MR.",
        inputs | {"panel_bytes": mc * kc * DOUBLE},
    )


def _working_sets(info: dict[str, Any], p: dict[str, Param]) -> None:
    caches = info.get("caches") or {}
    llc = _last_level(info)
    for name, level in (("fits_l1_bytes", "L1d"), ("fits_l2_bytes", "L2"), ("fits_llc_bytes", llc)):
        size = caches.get(level) if level else None
        p[name] = Param(
            size // 2 if size else None,
            f"Half of {level or 'the cache'}: room for the code's other data and for conflict misses.",
            {f"{level}_bytes": size},
        )
    size = caches.get(llc) if llc else None
    p["exceeds_llc_bytes"] = Param(
        4 * size if size else None,
        "Four times the last-level cache (STREAM's rule for a working set that comes from memory).",
        {f"{llc}_bytes": size},
    )


def _spanning(n: int) -> list[int]:
    counts = [1]
    while counts[-1] * 2 < n:
        counts.append(counts[-1] * 2)
    return sorted(set(counts) | {n})


def _counts(info: dict[str, Any], p: dict[str, Param]) -> None:
    usable = int(info.get("usable_cores") or info.get("logical_cores") or 1)
    physical = int(info.get("physical_cores") or usable)
    p["thread_counts"] = Param(
        _spanning(usable),
        "Powers of two from 1, and the usable cores themselves (the CPUs this process may run on).",
        {"usable_cores": usable},
    )
    ranks = min(usable, physical)
    p["rank_counts"] = Param(
        _spanning(ranks),
        "Powers of two from 1, and the usable physical cores (one rank per core; hyperthreads add no FMA units).",
        {"usable_cores": usable, "physical_cores": physical},
    )
    p["oversubscribed_threads"] = Param(
        2 * usable,
        "Twice the usable cores: oversubscribed on purpose, to be shown as such where it teaches something.",
        {"usable_cores": usable},
    )
