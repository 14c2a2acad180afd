"""Run under mpiexec by test_contract.py: every MPI realisation at every awkward size.

Every rank calls each variant with the same inputs (the contract); rank 0 holds the gathered
result, checks it and prints one JSON line with a row per (kernel, variant, size).
"""

import json

from haiend import kernels, mpi

report = []
world = mpi.world()
for name in kernels.kernel_names():
    kernel = kernels.get(name)
    for variant in kernel.variants.values():
        if variant.spreads != "ranks" or not variant.available():
            continue
        for size in kernel.check_sizes:
            inputs = kernel.make_inputs(size)
            result = variant(*inputs)
            if world.Get_rank() == 0:
                check = kernel.check(result, kernel.reference(*inputs))
                report.append(
                    {
                        "kernel": name,
                        "variant": variant.name,
                        "size": list(size),
                        "ranks": world.Get_size(),
                        "passed": check.passed,
                        "check": str(check),
                    }
                )
if world.Get_rank() == 0:
    print(json.dumps(report), flush=True)
