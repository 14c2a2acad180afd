/* The STREAM triad repeated over a working set that stays in one level of the cache hierarchy.
 *
 * Each OpenMP thread owns one contiguous block of the vectors (n / nthreads elements, the same
 * block on every repetition, so its data stays in that core's private caches) and runs the triad
 * over it `repeats` times. The empty asm statement with a "memory" clobber between repetitions
 * tells the compiler that memory may have changed, so it cannot fold the repetitions into one.
 * One call lasts long enough (milliseconds) that the call from Python costs nothing measurable,
 * which a single triad over an L1-sized block (tens of nanoseconds) could not. */
#include <stddef.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void cache_triad(const double *restrict b, const double *restrict c, double s, double *restrict out,
                 size_t n, long repeats, int nthreads)
{
    #pragma omp parallel num_threads(nthreads)
    {
        int threads = 1, me = 0;
#ifdef _OPENMP
        threads = omp_get_num_threads();
        me = omp_get_thread_num();
#endif
        size_t lo = n * (size_t)me / (size_t)threads, hi = n * (size_t)(me + 1) / (size_t)threads;
        for (long r = 0; r < repeats; r++) {
            for (size_t i = lo; i < hi; i++)
                out[i] = b[i] + s * c[i];
            __asm__ __volatile__("" ::: "memory");
        }
    }
}
