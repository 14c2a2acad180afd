/* Three OpenMP sums for the races chapter (haiend.debug.races builds and runs this program).
 *
 *   races MODE N REPEATS     MODE: racy | reduced | phases
 *
 * racy     the seeded race: every thread adds into one shared total (no reduction clause)
 * reduced  the fix: reduction(+:total) gives each thread a private total, combined at the end
 * phases   correct, and a false positive for ThreadSanitizer under gcc's libgomp: three loops
 *          in one parallel region, separated by the implicit barriers of `omp for`
 *
 * Prints "sum=S seconds=T": the sum of N ones (of 0..N-1 for phases) and the best time of the
 * kernel over REPEATS calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double sum_racy(const double *x, long n)
{
    double total = 0.0;
#pragma omp parallel for
    for (long i = 0; i < n; i++) {
        total += x[i]; /* seeded race: a read-modify-write of a shared variable */
    }
    return total;
}

double sum_reduced(const double *x, long n)
{
    double total = 0.0;
#pragma omp parallel for reduction(+ : total)
    for (long i = 0; i < n; i++) {
        total += x[i];
    }
    return total;
}

double sum_phases(double *a, double *b, long n)
{
    double total = 0.0;
#pragma omp parallel
    {
#pragma omp for
        for (long i = 0; i < n; i++) {
            a[i] = (double)i;
        }
#pragma omp for
        for (long i = 0; i < n; i++) {
            b[i] = a[n - 1 - i]; /* reads what another thread wrote before the barrier */
        }
#pragma omp for reduction(+ : total)
        for (long i = 0; i < n; i++) {
            total += b[i];
        }
    }
    return total;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s racy|reduced|phases N REPEATS\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    long n = atol(argv[2]);
    int repeats = atoi(argv[3]);
    if (n < 1 || repeats < 1 || (strcmp(mode, "racy") && strcmp(mode, "reduced") && strcmp(mode, "phases"))) {
        fprintf(stderr, "usage: %s racy|reduced|phases N REPEATS (N and REPEATS at least 1)\n", argv[0]);
        return 2;
    }
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    if (x == NULL || y == NULL) {
        fprintf(stderr, "cannot allocate two arrays of %ld doubles\n", n);
        return 2;
    }
    for (long i = 0; i < n; i++) {
        x[i] = 1.0;
    }
    double sum = 0.0, best = 1e300;
    for (int r = 0; r < repeats; r++) {
        double start = now();
        if (!strcmp(mode, "racy")) {
            sum = sum_racy(x, n);
        } else if (!strcmp(mode, "reduced")) {
            sum = sum_reduced(x, n);
        } else {
            sum = sum_phases(x, y, n);
        }
        double took = now() - start;
        best = took < best ? took : best;
    }
    printf("sum=%.17g seconds=%.9f\n", sum, best);
    free(x);
    free(y);
    return 0;
}
