/* Four seeded bugs for the chapter on memory errors, each in a piece of our stencil.
 *
 * Built as is, every function has its bug; built with -DHAIEND_FIXED the same lines are correct
 * (the line numbers do not move, so a tool's report can be matched to the line marked "seeded:").
 *
 *   smooth       a three-point stencil whose loop runs one point too far: it reads u[n], one
 *                past the end of the heap block (ASan and valgrind both report it);
 *   count_hot    a row with two halo cells that nobody sets, then tested (valgrind reports the
 *                uninitialised value; ASan does not look at values, only at addresses);
 *   weighted     a stencil point whose weights array on the stack is read one past its end
 *                (ASan reports it; to valgrind the stack is all addressable memory);
 *   flat_index   a row offset computed in int, which overflows for a big grid (UBSan reports it).
 *
 * Run as a program: memory_bugs overread|uninit|stack|overflow N, or memory_bugs time N REPS
 * (the best time of REPS calls of smooth, for measuring what each tool costs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAIEND_FIXED
#define SEEDED 0
#else
#define SEEDED 1
#endif

void smooth(const double *u, double *out, long n)
{
    for (long i = 1; i < n - 1 + SEEDED; i++)
        out[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0; /* seeded: heap over-read */
}

long count_hot(long n)
{
    double *row = malloc((n + 2) * sizeof *row);
    for (long i = 1; i <= n; i++)
        row[i] = (double)(i % 3);
    row[0] = SEEDED ? row[0] : 0.0; /* the halo cells: set only when fixed */
    row[n + 1] = SEEDED ? row[n + 1] : 0.0;
    long hot = 0;
    for (long i = 0; i < n + 2; i++)
        if (row[i] > 1.5) /* seeded: uninitialised read */
            hot++;
    free(row);
    return hot;
}

double weighted(const double *u, long i)
{
    double w[3] = {0.25, 0.5, 0.25};
    double sum = 0.0;
    for (int k = 0; k < 3 + SEEDED; k++)
        sum += w[k] * u[i + k - 1]; /* seeded: stack over-read */
    return sum;
}

long flat_index(int row, int col, int nx)
{
    return (SEEDED ? row * nx : (long)row * nx) + col; /* seeded: signed overflow */
}

static double *filled(long n)
{
    double *u = malloc(n * sizeof *u);
    for (long i = 0; i < n; i++)
        u[i] = (double)(i % 7);
    return u;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s overread|uninit|stack|overflow N | time N REPS\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    if (n < 4) {
        fprintf(stderr, "N must be at least 4\n");
        return 2;
    }
    if (strcmp(argv[1], "overread") == 0) {
        double *u = filled(n), *out = calloc(n, sizeof *out);
        smooth(u, out, n);
        printf("out[n-2] = %g\n", out[n - 2]);
        free(u);
        free(out);
    } else if (strcmp(argv[1], "uninit") == 0) {
        printf("hot cells: %ld\n", count_hot(n));
    } else if (strcmp(argv[1], "stack") == 0) {
        double *u = filled(n);
        printf("weighted u[1] = %g\n", weighted(u, 1));
        free(u);
    } else if (strcmp(argv[1], "overflow") == 0) {
        printf("offset of row %ld: %ld\n", n, flat_index((int)n, 0, (int)n));
    } else if (strcmp(argv[1], "time") == 0 && argc == 4) {
        long reps = atol(argv[3]);
        double *u = filled(n), *out = calloc(n, sizeof *out), best = 1e30;
        for (long r = 0; r < reps; r++) {
            double t0 = seconds();
            smooth(u, out, n);
            double t = seconds() - t0;
            best = t < best ? t : best;
        }
        printf("best %.9e s checksum %g\n", best, out[n / 2]);
        free(u);
        free(out);
    } else {
        fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
    }
    return 0;
}
