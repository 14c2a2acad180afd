/* Driver of residual.c: residual N prints the residual of two grids of N values.
 * The values are multiples of 1/2 below 8, so every partial sum is exact in float64 and
 * any order of summation gives the same answer: a different one is a lost update. */
#include <stdio.h>
#include <stdlib.h>

double residual(const double *u, const double *v, long n);

int main(int argc, char **argv)
{
    if (argc != 2 || atol(argv[1]) <= 0) {
        fprintf(stderr, "usage: %s N (a positive number of values)\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]);
    double *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
    if (u == NULL || v == NULL) {
        fprintf(stderr, "%s: cannot allocate two grids of %ld values\n", argv[0], n);
        return 1;
    }
    for (long k = 0; k < n; k++) {
        u[k] = (double)(k % 7);
        v[k] = 0.5 * (double)(k % 5);
    }
    printf("%.17g\n", residual(u, v, n));
    free(u);
    free(v);
    return 0;
}
