/* The STREAM triad, a[i] = b[i] + scalar * c[i], as a standalone program for the debuggers
 * chapter: built with -g -O0, so that every source line has its own instructions and every
 * local variable lives in the stack frame, where DWARF says it is.
 *
 * Usage: triad_steps [n]    (default 5). Each iteration prints i, a[i] and the running sum,
 * which the chapter compares with what a debugger reads at a breakpoint on the triad line.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    double scalar = 3.0;
    double sum = 0.0;
    double *a = malloc(n * sizeof *a);
    double *b = malloc(n * sizeof *b);
    double *c = malloc(n * sizeof *c);
    if (n < 0 || !a || !b || !c) {
        fprintf(stderr, "triad_steps: cannot allocate %d elements\n", n);
        return 2;
    }
    for (int i = 0; i < n; i++) { /* INIT */
        b[i] = 1.0 + i;
        c[i] = 0.5 * i;
    }
    for (int i = 0; i < n; i++) {
        a[i] = b[i] + scalar * c[i]; /* TRIAD */
        sum += a[i];
        printf("i=%d a[i]=%.17g sum=%.17g\n", i, a[i], sum);
    }
    free(a);
    free(b);
    free(c);
    return 0;
}
