"""haiend.tune and haiend.microarch on fingerprints of five server CPUs and of this machine.

The fixtures in tests/fixtures/machines/ are ``haiend machine --json`` output with the CPU, cache
and core fields of real parts (each file's ``fixture_note`` says which part and where its cache
figures come from). The expected FMA units and flops per cycle are those of the vendors'
optimization guides, cited in haiend.microarch.TABLE.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from haiend import machine, microarch, tune

FIXTURES = Path(__file__).parent / "fixtures" / "machines"

# name: (hardware vector bits, bits requested from LLVM, FMA units, FP64 flops/cycle, vector registers)
EXPECTED = {
    "zen3": (256, 256, 2, 16, 16),
    "zen4": (512, 512, 2, 16, 32),  # 512-bit ops as two 256-bit halves: Zen 3's flops
    "icelake_server": (512, 512, 2, 32, 32),
    "sapphire_rapids": (512, 512, 2, 32, 32),
    "neoverse_v1": (256, 128, 4, 16, 32),  # SVE 256 as 2 pipes, or NEON 128 as 4
}


def fixture(name):
    return tune.load_fingerprint(FIXTURES / f"{name}.json")


def assert_blocks_fit(result, info):
    """The register tile fits the registers, the micro-panels L1, the block of B L2, the panel of A the LLC."""
    mr, nr, kc, nc, mc = (result[f"matmul_{x}"] for x in ("mr", "nr", "kc", "nc", "mc"))
    assert mr * nr + nr + 1 <= result["vector_registers"]
    assert mr * nr >= result["fma_units"] * tune.FMA_LATENCY  # enough accumulators to hide the latency
    caches = info["caches"]
    assert (mr + nr) * kc * 8 <= caches["L1d"]
    assert nc * kc * 8 <= caches["L2"] and nc % nr == 0 and kc % 8 == 0
    assert nc * kc * 8 >= caches["L2"] // 4, "the block should use a good part of L2"
    assert mc * kc * 8 <= info["last_level_cache_bytes"] and mc % mr == 0
    assert result["fits_l2_bytes"] <= caches["L2"]
    assert (mr, nr) in tune.TILE_SHAPES


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parameters(name):
    info = fixture(name)
    result = tune.derive(info)
    hardware, requested, units, flops, registers = EXPECTED[name]
    assert result["hardware_vector_bits"] == hardware
    assert result["vector_bits"] == requested and result["doubles_per_vector"] == requested // 64
    assert result["fma_units"] == units
    assert result["flops_per_cycle_fp64"] == flops and result["flops_per_cycle_fp32"] == 2 * flops
    assert result["vector_registers"] == registers
    assert "assumed" not in result.cpu, result.params["fma_units"].rule
    assert_blocks_fit(result, info)
    assert result["thread_counts"][0] == 1 and result["thread_counts"][-1] == info["usable_cores"]
    assert result["oversubscribed_threads"] > info["usable_cores"]
    for param in result.params.values():  # every parameter says how it was obtained
        assert param.rule.endswith(".") and isinstance(param.inputs, dict)


def test_this_machine():
    info = machine.describe()
    result = tune.derive(info)
    assert result["target_bits"] <= microarch.isa_bits(info["simd"])  # NUMBA_CPU_FEATURES may narrow it
    assert result["vector_bits"] in (result["target_bits"], 128)
    assert result["flops_per_cycle_fp64"] >= 2
    assert_blocks_fit(result, info)
    assert tune.this_machine()["matmul_kc"] == result["matmul_kc"]


def test_the_matmul_reads_the_derived_parameters():
    from haiend.kernels.matmul import numba_impl

    here = tune.this_machine()
    assert (numba_impl.MR, numba_impl.NR, numba_impl.KC, numba_impl.NC, numba_impl.MC) == tuple(
        here[f"matmul_{x}"] for x in ("mr", "nr", "kc", "nc", "mc")
    )
    assert numba_impl.VECTOR_BITS == here["vector_bits"]
    assert numba_impl._tile is numba_impl.TILES[numba_impl.MR, numba_impl.NR]


def test_avx2_emulation_follows_numba_target():
    info = fixture("zen4")
    info["performance_environment"] = {"NUMBA_CPU_NAME": "znver3", "NUMBA_CPU_FEATURES": ""}
    result = tune.derive(info)
    assert (result["vector_bits"], result["vector_registers"]) == (256, 16)
    assert (result["matmul_mr"], result["matmul_nr"]) == (4, 3)
    assert result["flops_per_cycle_fp64"] == 16
    # a CPU name alone keeps the host's features, as Numba does
    info["performance_environment"] = {"NUMBA_CPU_NAME": "znver3"}
    result = tune.derive(info)
    assert result["vector_bits"] == 512 and "NUMBA_CPU_FEATURES" in result.params["target_bits"].rule
    info["performance_environment"] = {"NUMBA_CPU_FEATURES": "+avx,+avx2,+fma,-avx512f"}
    assert tune.derive(info)["vector_bits"] == 256


@pytest.mark.parametrize(
    "name, units, flops, assumed",
    [
        ("Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz", 1, 16, False),
        ("Intel(R) Xeon(R) Gold 5218 CPU @ 2.30GHz", 1, 16, False),
        ("Intel(R) Xeon(R) Gold 5122 CPU @ 3.60GHz", 2, 32, False),
        ("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", 2, 32, False),
        ("Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz", 2, 32, False),
        ("Intel Xeon Processor (Cascadelake)", 2, 32, True),
    ],
)
def test_one_fma_xeons_are_told_by_their_model_name(name, units, flops, assumed):
    info = {**fixture("icelake_server"), "cpu_model": name, "cpu_model_number": 0x55}
    result = tune.derive(info)
    assert result["fma_units"] == units and result["flops_per_cycle_fp64"] == flops
    assert ("Assumed" in result.params["fma_units"].rule) == assumed
    # with AVX2 code the same core has two 256-bit units whatever the SKU
    assert microarch.identify(info).flops_per_cycle(256) == 16


def test_unknown_cpu_falls_back_to_its_flags_and_says_so():
    info = {**fixture("zen3"), "cpu_vendor": "HygonGenuine", "cpu_family": 24, "cpu_model": "Hygon C86 7285"}
    ident = microarch.identify(info)
    assert ident.assumed and "not in haiend.microarch.TABLE" in ident.assumed
    result = tune.derive(info)
    assert result["fma_units"] == 2 and result["flops_per_cycle_fp64"] == 16 and "assumed" in result.cpu
    no_fma = {**info, "simd": ["sse2"]}
    assert tune.derive(no_fma)["flops_per_cycle_fp64"] == 2


def test_missing_cache_geometry_is_assumed_and_said():
    info = fixture("neoverse_v1")
    assert "L3" not in info["cache_geometry"]
    assert "assumed" in tune.derive(info).params["matmul_mc"].inputs


def test_every_table_row_has_a_source_and_sane_units():
    for row in microarch.TABLE:
        assert (
            row.source
            and row.fma
            and all(bits in (128, 256, 512) and units in (1, 2, 4) for bits, units in row.fma.items())
        )


def haiend(*args):
    return subprocess.run(
        [sys.executable, "-m", "haiend", "tune", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )


def test_cli_json_for_a_saved_fingerprint():
    done = haiend("--machine", str(FIXTURES / "sapphire_rapids.json"), "--json")
    assert done.returncode == 0, done.stderr
    params = json.loads(done.stdout)["params"]
    assert params["flops_per_cycle_fp64"]["value"] == 32 and params["fma_units"]["value"] == 2
    assert params["fma_units"]["inputs"]["table row"] == "Sapphire Rapids / Emerald Rapids"
    assert params["matmul_nc"]["rule"] and "L2_bytes" in params["matmul_nc"]["inputs"]


def test_cli_text_for_this_machine():
    done = haiend()
    assert done.returncode == 0, done.stderr
    assert "matmul_kc" in done.stdout and "Rules" in done.stdout and "from:" in done.stdout


@pytest.mark.parametrize("content", [None, "{", '{"cpu_model": "x"}'])
def test_cli_bad_file_is_one_sentence_and_exit_2(tmp_path, content):
    path = tmp_path / "fingerprint.json"
    if content is not None:
        path.write_text(content)
    done = haiend("--machine", str(path))
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("haiend: error:")
