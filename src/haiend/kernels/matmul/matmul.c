/* Matrix multiplication in C: C = A @ B, row-major, blocked for the caches, OpenMP over rows.
 *
 * For each block of MB rows of C, the k and n dimensions are walked in blocks of KB x NB, so
 * the KB x NB block of B (1 MiB in double) stays in L2 while MB rows use it, and the NB
 * elements of a row of C stay in L1 while KB rank-1 updates add into them. The innermost
 * loop runs along a row of B and of C (unit stride), which the compiler vectorises. This is
 * "reasonably blocked", not BLAS: there is no packing and no register tile, so every
 * multiply-add also loads and stores C. nthreads comes from Python (haiend.threads.current()).
 * One macro defines the double and the float version, so both are the same loop. */
#include <stddef.h>

/* The blocks can be set at compile time (-DNB=256, as haiend.sweep does); these are the defaults. */
#ifndef MB
#define MB 32
#endif
#ifndef KB
#define KB 256
#endif
#ifndef NB
#define NB 512
#endif
#define MIN(a, b) ((a) < (b) ? (a) : (b))

#define DEFINE_MATMUL(NAME, T)                                                               \
void NAME(const T *restrict A, const T *restrict B, T *restrict C, size_t m, size_t k,       \
          size_t n, int nthreads)                                                            \
{                                                                                            \
    _Pragma("omp parallel for num_threads(nthreads) schedule(static)")                       \
    for (size_t i0 = 0; i0 < m; i0 += MB) {                                                  \
        size_t i1 = MIN(i0 + MB, m);                                                         \
        for (size_t i = i0; i < i1; i++)                                                     \
            for (size_t j = 0; j < n; j++)                                                   \
                C[i * n + j] = 0;                                                            \
        for (size_t p0 = 0; p0 < k; p0 += KB)                                                \
            for (size_t j0 = 0; j0 < n; j0 += NB) {                                          \
                size_t p1 = MIN(p0 + KB, k), j1 = MIN(j0 + NB, n);                           \
                for (size_t i = i0; i < i1; i++)                                             \
                    for (size_t p = p0; p < p1; p++) {                                       \
                        T a = A[i * k + p];                                                  \
                        for (size_t j = j0; j < j1; j++)                                     \
                            C[i * n + j] += a * B[p * n + j];                                \
                    }                                                                        \
            }                                                                                \
    }                                                                                        \
}

DEFINE_MATMUL(matmul_double, double)
DEFINE_MATMUL(matmul_float, float)
