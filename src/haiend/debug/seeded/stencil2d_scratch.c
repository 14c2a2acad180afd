/* stencil2d in C, whole: `steps` Jacobi sweeps of u0 (ny x nx, fixed edges) into out, through a
 * scratch grid, as haiend.kernels.stencil2d does: the first sweep reads u0, later ones alternate
 * between out and scratch, ordered so that the last one writes out. */
#include <stdlib.h>

static void sweep(const double *src, double *dst, long ny, long nx)
{
    for (long i = 1; i < ny - 1; i++)
        for (long j = 1; j < nx - 1; j++)
            dst[i * nx + j] = 0.25 * (src[(i - 1) * nx + j] + src[(i + 1) * nx + j]
                                      + src[i * nx + j - 1] + src[i * nx + j + 1]);
}

static void copy_edges(const double *u0, double *grid, long ny, long nx)
{
    for (long j = 0; j < nx; j++) {
        grid[j] = u0[j];
        grid[(ny - 1) * nx + j] = u0[(ny - 1) * nx + j];
    }
    for (long i = 0; i < ny; i++) {
        grid[i * nx] = u0[i * nx];
        grid[i * nx + nx - 1] = u0[i * nx + nx - 1];
    }
}

int stencil2d(const double *u0, long ny, long nx, long steps, double *out)
{
    double *scratch = malloc(ny * nx * sizeof *scratch);
    if (scratch == NULL)
        return -1;
    copy_edges(u0, out, ny, nx);
    const double *src = u0;
    for (long k = 0; k < steps; k++) {
        double *dst = (steps - 1 - k) % 2 == 0 ? out : scratch;
        sweep(src, dst, ny, nx);
        src = dst;
    }
    free(scratch);
    return 0;
}
