/* Measure the core clock the way a CPU designer would: a chain of dependent integer adds runs at
 * exactly one add per cycle, so cycles = adds and GHz = adds / seconds. The loop counter runs on
 * other ports in parallel and costs nothing. Returns the sum so the chain cannot be removed.
 * The added value sits in a register: recent Intel cores fold chains of add-immediate at
 * register renaming and run them faster than one per cycle (seen here as an "8 GHz" clock). */
#include <stdint.h>

uint64_t dependent_adds(uint64_t iterations)
{
    uint64_t x = 0, one = 1;
    for (uint64_t i = 0; i < iterations; i++) {
#if defined(__x86_64__)
        __asm__ volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
                         "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0"
                         : "+r"(x) : "r"(one));
#elif defined(__aarch64__)
        __asm__ volatile("add %0, %0, %1\n\tadd %0, %0, %1\n\tadd %0, %0, %1\n\tadd %0, %0, %1\n\t"
                         "add %0, %0, %1\n\tadd %0, %0, %1\n\tadd %0, %0, %1\n\tadd %0, %0, %1"
                         : "+r"(x) : "r"(one));
#else
        return 0; /* no way to count cycles portably: the caller reports no theoretical peak */
#endif
    }
    return x;
}
