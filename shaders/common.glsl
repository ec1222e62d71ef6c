// Shared helpers for vkvit compute shaders. Included with #include "common.glsl"
// (GL_GOOGLE_include_directive). Variants come from -D macros set in shaders/meson.build.

#ifndef VKVIT_COMMON_GLSL
#define VKVIT_COMMON_GLSL

// 0.5 * erfc(a / sqrt 2) for a >= 0, relative error ~1e-7 over the whole range: a Chebyshev-fitted
// rational form of erfc in t = 1/(1 + z/2), z = a/sqrt2 (Numerical Recipes 6.2, fractional error
// < 1.2e-7). Relative accuracy in the tail is what keeps gelu(x) accurate for negative x, where
// 1 + erf(x/sqrt2) cancels. The Gaussian factor exp(-a^2/2) is evaluated from a split a = ah + al
// (ah keeps 12 mantissa bits, so ah^2 is exact): rounding a/sqrt2 or a^2 in fp32 would cost up to
// 1e-5 relative for a ~ 10.
float half_erfc_scaled(float a)
{
    float z = a * 0.70710678118654752;
    float t = 1.0 / (1.0 + 0.5 * z);
    float p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277))))))));
    float ah = uintBitsToFloat(floatBitsToUint(a) & 0xFFFFF000u);
    return 0.5 * t * exp(-0.5 * ah * ah + p) * exp(-0.5 * (a - ah) * (a + ah));
}

// Exact GELU: 0.5 x (1 + erf(x / sqrt 2)) = x * (x >= 0 ? 1 - c : c), c = erfc(|x|/sqrt2) / 2.
float gelu_erf(float x)
{
    float c = half_erfc_scaled(abs(x));
    return x * (x >= 0.0 ? 1.0 - c : c);
}

// Tanh approximation: 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
// Written with exp so large |x| saturates instead of producing inf/inf.
float gelu_tanh(float x)
{
    float u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    return x / (1.0 + exp(-2.0 * u));
}

// OpenAI CLIP's quick GELU: x * sigmoid(1.702 x), with exp so large negative x gives x / inf = -0, not NaN.
float quick_gelu(float x)
{
    return x / (1.0 + exp(-1.702 * x));
}

// tanh(x) to a few fp32 ulps, never NaN. The built-in tanh's precision is the driver's (Vulkan only asks
// for that of sinh/cosh, which a driver may evaluate as a quotient of exps: inf/inf past |x| ~ 89).
// Near 0, where 1 - 2/(1 + e^2|x|) cancels, its odd Taylor series (next term < 1e-8 relative at
// |x| = 1/4); elsewhere that form, which saturates to +-1 as exp overflows.
float tanh_stable(float x)
{
    float a = abs(x);
    if (a < 0.25) {
        float s = x * x;
        return x * (1.0 + s * (-1.0 / 3.0 + s * (2.0 / 15.0 + s * (-17.0 / 315.0 + s * (62.0 / 2835.0)))));
    }
    return sign(x) * (1.0 - 2.0 / (1.0 + exp(2.0 * a)));
}

// The index of this workgroup in a 1-D grid that the host folds into x and y, since x alone may
// hold only 65535 workgroups (groups_1d, src/ops/ops.h).
uint flat_workgroup_index()
{
    return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}

// The index of this invocation in that grid, for 1-D workgroups. A macro, not a function: glslang
// takes the value of gl_WorkGroupSize where the function is parsed, and this file is included
// before the shader's local_size layout (a function here would multiply by 1).
#define FLAT_INVOCATION_INDEX() (flat_workgroup_index() * gl_WorkGroupSize.x + gl_LocalInvocationID.x)

#endif
