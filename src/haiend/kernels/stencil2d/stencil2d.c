/* One Jacobi sweep of the 5-point Laplace stencil: dst's interior from src's, edges untouched.
 * The rows of one sweep are independent, so OpenMP splits them statically between threads;
 * nthreads comes from Python (haiend.threads.current()), so one thread really is one thread. */
#include <stddef.h>

void stencil2d_sweep(const double *restrict src, double *restrict dst, size_t ny, size_t nx,
                     int nthreads)
{
    if (ny < 3 || nx < 3)
        return;  /* no interior: nothing to do (and ny - 1 must not wrap round below) */
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 1; i < ny - 1; i++)
        for (size_t j = 1; j < nx - 1; j++)
            dst[i * nx + j] = 0.25 * (src[(i - 1) * nx + j] + src[(i + 1) * nx + j]
                                      + src[i * nx + j - 1] + src[i * nx + j + 1]);
}
