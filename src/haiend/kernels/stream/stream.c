/* STREAM in C: the loops of McCalpin's STREAM benchmark, one OpenMP-parallel pass each.
 * nthreads comes from Python (haiend.threads.current()), so one thread really is one thread. */
#include <stddef.h>

void stream_copy(const double *restrict b, double *restrict out, size_t n, int nthreads)
{
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = b[i];
}

void stream_scale(const double *restrict b, double s, double *restrict out, size_t n, int nthreads)
{
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = s * b[i];
}

void stream_add(const double *restrict b, const double *restrict c, double *restrict out, size_t n,
                int nthreads)
{
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = b[i] + c[i];
}

void stream_triad(const double *restrict b, const double *restrict c, double s,
                  double *restrict out, size_t n, int nthreads)
{
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++)
        out[i] = b[i] + s * c[i];
}
