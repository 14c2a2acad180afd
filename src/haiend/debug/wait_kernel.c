/* The triad of the stream kernel, then a wait inside the same C function: a stand-in for a
 * kernel that hangs (a lost message, a spin on a flag), so that the debuggers chapter can stop
 * a Python program while its innermost frame is C and read the whole stack from outside.
 * Called through ctypes, from a Numba function (haiend.debug.mixed_stack).
 */
#include <stdio.h>
#include <time.h>

double triad_then_wait(double *a, const double *b, const double *c, double scalar, long n, double seconds)
{
    double sum = 0.0;
    for (long i = 0; i < n; i++) {
        a[i] = b[i] + scalar * c[i]; /* a NULL a stops here with SIGSEGV */
        sum += a[i];
    }
    printf("ready %.17g\n", sum); /* the caller reads this line: the program is now waiting */
    fflush(stdout);
    struct timespec wait = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&wait, NULL); /* WAIT */
    return sum;
}
