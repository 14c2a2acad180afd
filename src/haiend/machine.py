"""The machine's fingerprint: what a result means depends on where and how it was measured.

``describe()`` returns one JSON-serialisable dict, filled by small ``collect_*`` functions, each
responsible for one part (the pattern of pyperf's metadata collectors). Cache sizes come from
sysfs, not py-cpuinfo, which reports a 1 MiB L3 on the AMD EPYC guests this was built on where
sysfs and ``lscpu`` report 32 MiB. ``machine_id()`` is a short, stable name for the hardware,
used as the folder name under which its results and ceilings are kept.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Environment variables whose value changes what a benchmark measures.
PERFORMANCE_ENV_PREFIXES = (
    "OPENBLAS_",
    "OMP_",
    "GOMP_",
    "KMP_",
    "MKL_",
    "BLIS_",
    "NUMBA_",
    "CUDA_",
    "CUPY_",
    "NVIDIA_",
    "MPICH_",
    "OMPI_",
    "I_MPI_",
    "SLURM_CPU",
    "SLURM_NTASKS",
    "SLURM_JOB_NUM_NODES",
    "HAIEND_",
)
PERFORMANCE_ENV_EXACT = ("CC", "CFLAGS", "LD_PRELOAD", "MALLOC_ARENA_MAX", "PYTHONHASHSEED")
#: Variables that match a prefix above but only say where files go. HAIEND_SITE_PROFILE names the
#: site's energy table (carbon, not speed): counted, it made every Slurm job with another profile
#: path measure the cached ceilings again.
NOT_PERFORMANCE_ENV = ("HAIEND_RESULTS_DIR", "HAIEND_CACHE_DIR", "HAIEND_SIZE", "HAIEND_SITE_PROFILE")

#: Packages whose versions change results.
KEY_PACKAGES = (
    "haiend",
    "numpy",
    "numba",
    "llvmlite",
    "numba-cuda",
    "cupy-cuda12x",
    "mpi4py",
    "mpich",
    "threadpoolctl",
    "scipy",
    "matplotlib",
)

SIMD_FLAGS = (
    "sse2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512dq",
    "avx512vl",
    "avx512_bf16",
    "amx_tile",
    "asimd",
    "sve",
)


def describe() -> dict[str, Any]:
    """Everything known about this machine and environment, as plain JSON-able values."""
    info: dict[str, Any] = {}
    for collect in (
        collect_cpu,
        collect_caches,
        collect_memory,
        collect_os,
        collect_python,
        collect_blas,
        collect_numba,
        collect_environment,
        collect_gpu,
        collect_mpi,
    ):
        try:
            info.update(collect())
        except Exception as exc:  # one failing probe must not lose the rest of the fingerprint
            info.setdefault("probe_errors", {})[collect.__name__] = f"{type(exc).__name__}: {exc}"
    info["machine_id"] = machine_id(info)
    return info


def machine_id(info: dict[str, Any] | None = None) -> str:
    """A short stable id: a slug of the CPU model plus a hash of the hardware that sets the limits.

    The hash covers what makes two machines' results differ: the CPU's vendor, family and model
    number (two EPYC generations both call themselves "AMD EPYC" in a VM), its vector extensions,
    cache sizes, core count, memory and GPU. Identical nodes of a cluster share an id, so their
    results sit together; the hostname is left out because containers and JupyterHub pods get a
    new one each start. Fingerprints written before the family, model and caches were part of
    the id (machine schema version 1) get their new id when read (``haiend.records.migrations``).
    """
    info = (
        info
        if info is not None
        else {**collect_cpu(), **collect_caches(), **collect_memory(), **collect_gpu()}
    )
    gpu = info.get("gpu") or {}
    caches = info.get("caches") or {}
    key = "|".join(
        str(v)
        for v in (
            info.get("cpu_model"),
            info.get("cpu_vendor"),
            info.get("cpu_family"),
            info.get("cpu_model_number"),
            info.get("cpu_part"),
            ",".join(sorted(info.get("simd") or [])),
            ",".join(f"{k}={caches[k]}" for k in sorted(caches)),
            info.get("logical_cores"),
            round(float(info.get("memory_total_bytes") or 0) / 2**30),
            gpu.get("name") if isinstance(gpu, dict) else None,
        )
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    model = str(info.get("cpu_model") or platform.machine() or "cpu").lower()
    model = re.sub(r"\(r\)|\(tm\)|processor|cpu|@.*|\d+-core", " ", model)
    slug = "-".join(re.findall(r"[a-z0-9]+", model))[:32].strip("-") or "cpu"
    return f"{slug}-{digest}"


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


@functools.cache
def _cpuinfo_fields() -> dict[str, str]:
    fields: dict[str, str] = {}
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor's block is enough
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def collect_cpu() -> dict[str, Any]:
    fields = _cpuinfo_fields()
    model = fields.get("model name") or fields.get("Model") or _sysctl_brand()
    model = model or platform.processor() or platform.machine()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    logical = os.cpu_count() or 1
    physical = _physical_cores() or logical
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = logical
    mhz = fields.get("cpu MHz")
    return {
        "cpu_model": model,
        **_cpu_identity(fields),
        "architecture": platform.machine(),
        "logical_cores": logical,
        "physical_cores": physical,
        "usable_cores": affinity,
        "cpu_mhz_reported": float(mhz) if mhz else None,
        "simd": [f for f in SIMD_FLAGS if f in flags],
        "hypervisor": "hypervisor" in flags,
    }


def _sysctl_brand() -> str | None:
    if platform.system() != "Darwin":
        return None
    try:
        command = ["sysctl", "-n", "machdep.cpu.brand_string"]
        out = subprocess.run(command, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _cpu_identity(fields: dict[str, str]) -> dict[str, Any]:
    """Vendor, family, model number (x86) or implementer and part (Arm): what haiend.microarch keys on.

    x86 numbers are kept as integers; Arm's as the hex text /proc/cpuinfo prints. macOS has no
    /proc/cpuinfo: there the model name comes from sysctl ("Apple M2"), which the table knows.
    """
    if "vendor_id" in fields:
        return {
            "cpu_vendor": fields["vendor_id"],
            "cpu_family": int(fields["cpu family"]) if fields.get("cpu family", "").isdigit() else None,
            "cpu_model_number": int(fields["model"]) if fields.get("model", "").isdigit() else None,
        }
    if "CPU implementer" in fields:
        return {"cpu_vendor": fields["CPU implementer"], "cpu_part": fields.get("CPU part")}
    return {"cpu_vendor": None}


def _physical_cores() -> int | None:
    cores = set()
    for topo in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology"):
        package = _read(topo / "physical_package_id")
        core = _read(topo / "core_id")
        if package is not None and core is not None:
            cores.add((package, core))
    if cores:
        return len(cores)
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        return None


def _parse_cache_size(text: str) -> int | None:
    match = re.fullmatch(r"(\d+)\s*([KMG]?)", text.strip().upper())
    if not match:
        return None
    return int(match.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match.group(2)]


CACHE_SHAPE_FILES = (
    ("ways", "ways_of_associativity"),
    ("sets", "number_of_sets"),
    ("line", "coherency_line_size"),
)


def collect_caches() -> dict[str, Any]:
    """Cache sizes in bytes per level, from sysfs (cpu0's view), e.g. {'L1d': 49152, 'L3': 33554432},
    and each level's ways, sets and line size, which the cache blocking in haiend.tune needs."""
    caches: dict[str, int] = {}
    geometry: dict[str, dict[str, int]] = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index[0-9]*")):
        level = _read(index / "level")
        kind = _read(index / "type")
        size = _parse_cache_size(_read(index / "size") or "")
        if level is None or kind is None or size is None:
            continue
        name = f"L{level}" + {"Data": "d", "Instruction": "i"}.get(kind, "")
        caches[name] = size
        shape = {
            key: int(text)
            for key, file in CACHE_SHAPE_FILES
            if (text := _read(index / file)) and text.isdigit() and int(text) > 0
        }
        if shape:
            geometry[name] = shape
    return {
        "caches": caches,
        "cache_geometry": geometry,
        "last_level_cache_bytes": max(caches.values()) if caches else None,
    }


def collect_memory() -> dict[str, Any]:
    import psutil

    memory = psutil.virtual_memory()
    nodes = list(Path("/sys/devices/system/node").glob("node[0-9]*"))
    return {
        "memory_total_bytes": memory.total,
        "memory_available_bytes": memory.available,
        "numa_nodes": len(nodes) or 1,
    }


def collect_os() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "os": platform.system(),
        "kernel": platform.release(),
        "distribution": _os_release(),
        "cpu_governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
    }


def _os_release() -> str | None:
    text = _read("/etc/os-release") or ""
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
    return match.group(1) if match else None


def collect_python() -> dict[str, Any]:
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "packages": versions,
        "c_compiler": _compiler_version(),
    }


@functools.cache
def _compiler_version() -> str | None:
    from haiend.requirements import c_compiler

    cc = c_compiler()
    if cc is None:
        return None
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.splitlines()[0] if out.stdout else cc


def collect_blas() -> dict[str, Any]:
    """The BLAS and OpenMP libraries loaded by NumPy, with the kernel OpenBLAS chose (threadpoolctl)."""
    import numpy  # noqa: F401  (loads NumPy's BLAS so that threadpoolctl can see it)
    from threadpoolctl import threadpool_info

    libraries = [
        {
            k: lib.get(k)
            for k in (
                "user_api",
                "internal_api",
                "version",
                "architecture",
                "num_threads",
                "threading_layer",
                "filepath",
            )
        }
        for lib in threadpool_info()
    ]
    blas = next((lib for lib in libraries if lib["user_api"] == "blas"), None)
    return {
        "blas": blas,
        "threadpools": libraries,
    }


def collect_numba() -> dict[str, Any]:
    try:
        import numba
    except ImportError:
        return {"numba": None}
    try:
        active = numba.threading_layer()
    except ValueError:  # no parallel function has run yet in this process
        active = None
    return {
        "numba": {
            "version": numba.__version__,
            "threading_layer_configured": numba.config.THREADING_LAYER,
            "threading_layer_active": active,
            "num_threads": numba.config.NUMBA_NUM_THREADS,
            "fastmath_default": False,
        }
    }


def collect_environment() -> dict[str, Any]:
    """Every set environment variable that changes what a benchmark measures."""
    chosen = {
        key: value
        for key, value in os.environ.items()
        if (key in PERFORMANCE_ENV_EXACT or key.startswith(PERFORMANCE_ENV_PREFIXES))
        and key not in NOT_PERFORMANCE_ENV
    }
    return {"performance_environment": dict(sorted(chosen.items()))}


def collect_gpu() -> dict[str, Any]:
    """The first GPU's name, memory, driver and clocks, from nvidia-smi (no CUDA context needed)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return {"gpu": None}
    query = "name,memory.total,driver_version,clocks.max.sm,clocks.max.memory,compute_cap"
    try:
        out = subprocess.run(
            [smi, f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {"gpu": None}
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not lines:
        return {"gpu": None}
    name, memory, driver, sm_clock, mem_clock, capability = (p.strip() for p in lines[0].split(","))
    return {
        "gpu": {
            "name": name,
            "count": len(lines),
            "memory_bytes": int(float(memory)) * 2**20,
            "driver": driver,
            "max_sm_clock_mhz": _number(sm_clock),
            "max_memory_clock_mhz": _number(mem_clock),
            "compute_capability": capability,
        }
    }


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def collect_mpi() -> dict[str, Any]:
    """The MPI library mpi4py was built against, without initialising MPI in this process."""
    try:
        import mpi4py
    except ImportError:
        return {"mpi": None}
    info: dict[str, Any] = {"mpi4py": mpi4py.__version__}
    if "mpi4py.MPI" in sys.modules:  # already initialised by the caller: ask the library itself
        from mpi4py import MPI

        info["library"] = MPI.Get_library_version().splitlines()[0].strip()
        info["ranks"] = MPI.COMM_WORLD.Get_size()
    else:
        mpiexec = mpiexec_path()
        info["mpiexec"] = mpiexec
        if mpiexec:
            try:
                out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=20)
                info["library"] = _mpi_library_name(out.stdout)
            except (OSError, subprocess.TimeoutExpired):
                info["library"] = None
    return {"mpi": info}


def mpiexec_path() -> str | None:
    """The mpiexec of the MPI that mpi4py uses: the one beside this Python first, then the PATH."""
    beside = Path(sys.executable).with_name("mpiexec")
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


def summary(info: dict[str, Any]) -> list[tuple[str, str]]:
    """A few lines that fit on one screen: the facts a reader needs to interpret a figure."""
    caches = info.get("caches") or {}
    blas = info.get("blas") or {}
    gpu = info.get("gpu")
    mpi = info.get("mpi") or {}
    numba_info = info.get("numba") or {}
    env = info.get("performance_environment") or {}
    rows = [
        ("machine id", info.get("machine_id", "?")),
        ("CPU", f"{info.get('cpu_model')} ({info.get('architecture')})"),
        (
            "cores",
            f"{info.get('physical_cores')} physical, {info.get('logical_cores')} logical, {info.get('usable_cores')} usable",
        ),
        ("SIMD", " ".join(info.get("simd") or []) or "none found"),
        ("caches", ", ".join(f"{k} {bytes_in_words(v)}" for k, v in caches.items()) or "unknown"),
        (
            "memory",
            f"{bytes_in_words(info.get('memory_total_bytes'))} total, {bytes_in_words(info.get('memory_available_bytes'))} available, {info.get('numa_nodes')} NUMA node(s)",
        ),
        ("OS", f"{info.get('distribution') or info.get('os')}, kernel {info.get('kernel')}"),
        (
            "Python",
            f"{info.get('python')}; "
            + ", ".join(
                f"{k} {v}"
                for k, v in (info.get("packages") or {}).items()
                if k in ("numpy", "numba", "mpi4py", "cupy-cuda12x")
            ),
        ),
        (
            "BLAS",
            f"{blas.get('internal_api')} {blas.get('version')}, kernel {blas.get('architecture')}, {blas.get('num_threads')} threads"
            if blas
            else "none found",
        ),
        (
            "Numba threading",
            f"{numba_info.get('threading_layer_configured')} (active: {numba_info.get('threading_layer_active') or 'not started yet'}), {numba_info.get('num_threads')} threads"
            if numba_info
            else "Numba not installed",
        ),
        ("C compiler", info.get("c_compiler") or "none found"),
        (
            "GPU",
            f"{gpu['name']} x{gpu['count']}, {bytes_in_words(gpu['memory_bytes'])}, driver {gpu['driver']}"
            if gpu
            else "none",
        ),
        (
            "MPI",
            f"{mpi.get('library') or 'unknown library'} (mpi4py {mpi.get('mpi4py')})"
            if mpi
            else "mpi4py not installed",
        ),
        ("environment", ", ".join(f"{k}={v}" for k, v in env.items()) or "no performance variables set"),
    ]
    return rows


def bytes_in_words(value: Any) -> str:
    """A byte count in words: \"512 KiB\", \"1.0 MiB\"; \"?\" when not known."""
    if value is None:
        return "?"
    value = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit in ("B", "KiB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value} B"


def _mpi_library_name(text: str) -> str | None:
    """'HYDRA build details: Version: 5.0.2 ...' -> 'MPICH (Hydra) 5.0.2'; else the first line."""
    version = re.search(r"^\s*Version:\s*(\S+)", text, re.M)
    if "HYDRA" in text and version:
        return f"MPICH (Hydra) {version.group(1)}"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first or None
