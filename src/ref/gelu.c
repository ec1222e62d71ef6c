#include "ref.h"

#include <math.h>

/* 0.5 x (1 + erf(x/sqrt2)) written with erfc, so the negative tail does not cancel. */
double ref_gelu_erf(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }

double ref_gelu_tanh(double x)
{
    const double k = sqrt(2.0 / 3.14159265358979323846);
    /* 0.5 x (1 + tanh(u)) == x / (1 + exp(-2u)), which does not cancel for negative u */
    return x / (1.0 + exp(-2.0 * k * (x + 0.044715 * x * x * x)));
}

/* x sigmoid(1.702 x) as x / (1 + exp(-1.702 x)): exp overflowing to inf gives -0 in the negative tail */
double ref_quick_gelu(double x) { return x / (1.0 + exp(-1.702 * x)); }

void ref_gelu(const float *x, float *y, uint64_t n, int form)
{
    for (uint64_t i = 0; i < n; i++)
        y[i] = (float)(form == 2 ? ref_quick_gelu(x[i]) : form ? ref_gelu_tanh(x[i]) : ref_gelu_erf(x[i]));
}
