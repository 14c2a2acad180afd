/* Scaled dot-product attention in C: O = softmax(Q K^T / sqrt(d)) V for every (batch, head).
 *
 * Q, K, V and O are (batch * heads) blocks of seq x d values, row-major. OpenMP shares the
 * heads among the threads; each thread has one row of seq scores (malloc'd once per thread), so
 * the extra memory is O(seq) per thread. For each query row: the scores and their maximum, then
 * exp(s - max) and their sum, then the output row as the weighted sum of the rows of V, divided
 * by the sum. The loops over c run along rows of K, V and O (unit stride) and vectorise: the
 * dot product only because its reduction is declared (omp simd reduction), which allows the
 * compiler to split the sum over the lanes of a vector; without it the sum must be added in
 * order, one term at a time, as C's rules for floating point require.
 * nthreads comes from Python (haiend.threads.current()). One macro defines both dtypes. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#define DEFINE_ATTENTION(NAME, T, EXP, SQRT)                                                  \
void NAME(const T *restrict Q, const T *restrict K, const T *restrict V, T *restrict O,       \
          size_t heads, size_t seq, size_t d, int nthreads)                                   \
{                                                                                             \
    const T scale = (T)1 / SQRT((T)d);                                                        \
    _Pragma("omp parallel num_threads(nthreads)")                                             \
    {                                                                                         \
        T *s = malloc(seq * sizeof(T));                                                       \
        _Pragma("omp for schedule(static)")                                                   \
        for (size_t bh = 0; bh < heads; bh++) {                                               \
            const T *q = Q + bh * seq * d, *k = K + bh * seq * d, *v = V + bh * seq * d;      \
            T *o = O + bh * seq * d;                                                          \
            for (size_t i = 0; i < seq; i++) {                                                \
                T top = -INFINITY, total = 0;                                                 \
                for (size_t j = 0; j < seq; j++) {                                            \
                    T acc = 0;                                                                \
                    _Pragma("omp simd reduction(+ : acc)")                                    \
                    for (size_t c = 0; c < d; c++)                                            \
                        acc += q[i * d + c] * k[j * d + c];                                   \
                    s[j] = acc * scale;                                                       \
                    top = s[j] > top ? s[j] : top;                                            \
                }                                                                             \
                for (size_t c = 0; c < d; c++)                                                \
                    o[i * d + c] = 0;                                                         \
                for (size_t j = 0; j < seq; j++) {                                            \
                    T p = EXP(s[j] - top);                                                    \
                    total += p;                                                               \
                    for (size_t c = 0; c < d; c++)                                            \
                        o[i * d + c] += p * v[j * d + c];                                     \
                }                                                                             \
                for (size_t c = 0; c < d; c++)                                                \
                    o[i * d + c] /= total;                                                    \
            }                                                                                 \
        }                                                                                     \
        free(s);                                                                              \
    }                                                                                         \
}

DEFINE_ATTENTION(attention_float64, double, exp, sqrt)
DEFINE_ATTENTION(attention_float32, float, expf, sqrtf)
