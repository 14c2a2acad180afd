/* Softened gravity in C: a_i = sum_j m_j (r_j - r_i) / (|r_j - r_i|^2 + eps^2)^(3/2).
 *
 * The positions come as three arrays x, y, z (the caller copies them out of the (n, 3) array
 * once per call, as the Numba variants do), so consecutive j are consecutive in memory and the
 * inner loop vectorises with plain loads. OpenMP shares the bodies i among the threads.
 * 1/sqrt becomes vector code only when the compiler may ignore errno (-fno-math-errno, part of
 * -ffast-math): otherwise each sqrt of a negative number would have to set errno, one at a time.
 * nthreads comes from Python (haiend.threads.current()), so one thread really is one thread. */
#include <math.h>
#include <stddef.h>

void nbody_float64(const double *restrict x, const double *restrict y, const double *restrict z,
                   const double *restrict m, double eps, double *restrict acc, size_t n,
                   int nthreads)
{
    const double eps2 = eps * eps;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        double ax = 0.0, ay = 0.0, az = 0.0;
        for (size_t j = 0; j < n; j++) {
            const double dx = x[j] - x[i], dy = y[j] - y[i], dz = z[j] - z[i];
            const double inv = 1.0 / sqrt(dx * dx + dy * dy + dz * dz + eps2);
            const double s = m[j] * inv * inv * inv;
            ax += dx * s;
            ay += dy * s;
            az += dz * s;
        }
        acc[3 * i] = ax;
        acc[3 * i + 1] = ay;
        acc[3 * i + 2] = az;
    }
}

void nbody_float32(const float *restrict x, const float *restrict y, const float *restrict z,
                   const float *restrict m, float eps, float *restrict acc, size_t n,
                   int nthreads)
{
    const float eps2 = eps * eps;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float ax = 0.0f, ay = 0.0f, az = 0.0f;
        for (size_t j = 0; j < n; j++) {
            const float dx = x[j] - x[i], dy = y[j] - y[i], dz = z[j] - z[i];
            const float inv = 1.0f / sqrtf(dx * dx + dy * dy + dz * dz + eps2);
            const float s = m[j] * inv * inv * inv;
            ax += dx * s;
            ay += dy * s;
            az += dz * s;
        }
        acc[3 * i] = ax;
        acc[3 * i + 1] = ay;
        acc[3 * i + 2] = az;
    }
}
