/* Softened gravity in C: a_i = sum_j m_j (r_j - r_i) / (|r_j - r_i|^2 + eps^2)^(3/2).
 *
 * One OpenMP thread per block of bodies i; the inner loop over j is what the compiler must
 * vectorise. Positions are read as they are stored, x y z of each body side by side.
 * 1/sqrt becomes vector code only when the compiler may ignore errno (-fno-math-errno, part
 * of -ffast-math); without it, every sqrt must be able to set errno and stays scalar.
 * nthreads comes from Python (haiend.threads.current()), so one thread really is one thread. */
#include <math.h>
#include <stddef.h>

void nbody_float64(const double *restrict pos, const double *restrict mass, double eps,
                   double *restrict acc, size_t n, int nthreads)
{
    const double eps2 = eps * eps;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        const double xi = pos[3 * i], yi = pos[3 * i + 1], zi = pos[3 * i + 2];
        double ax = 0.0, ay = 0.0, az = 0.0;
        for (size_t j = 0; j < n; j++) {
            const double dx = pos[3 * j] - xi, dy = pos[3 * j + 1] - yi, dz = pos[3 * j + 2] - zi;
            const double inv = 1.0 / sqrt(dx * dx + dy * dy + dz * dz + eps2);
            const double s = mass[j] * inv * inv * inv;
            ax += dx * s;
            ay += dy * s;
            az += dz * s;
        }
        acc[3 * i] = ax;
        acc[3 * i + 1] = ay;
        acc[3 * i + 2] = az;
    }
}

void nbody_float32(const float *restrict pos, const float *restrict mass, float eps,
                   float *restrict acc, size_t n, int nthreads)
{
    const float eps2 = eps * eps;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float xi = pos[3 * i], yi = pos[3 * i + 1], zi = pos[3 * i + 2];
        float ax = 0.0f, ay = 0.0f, az = 0.0f;
        for (size_t j = 0; j < n; j++) {
            const float dx = pos[3 * j] - xi, dy = pos[3 * j + 1] - yi, dz = pos[3 * j + 2] - zi;
            const float inv = 1.0f / sqrtf(dx * dx + dy * dy + dz * dz + eps2);
            const float s = mass[j] * inv * inv * inv;
            ax += dx * s;
            ay += dy * s;
            az += dz * s;
        }
        acc[3 * i] = ax;
        acc[3 * i + 1] = ay;
        acc[3 * i + 2] = az;
    }
}
