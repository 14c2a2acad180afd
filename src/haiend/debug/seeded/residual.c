/* The residual of a Jacobi sweep: the sum of the squared changes between the grid before the
 * sweep (u) and after it (v), both n values long. A solver stops when it is small enough.
 * The points are independent, so OpenMP splits them between threads. */

double residual(const double *u, const double *v, long n)
{
    double sum = 0.0;
#pragma omp parallel for
    for (long k = 0; k < n; k++) {
        double d = v[k] - u[k];
        sum += d * d;
    }
    return sum;
}
