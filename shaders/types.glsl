// Storage type of vkvit's tensors, for every shader that reads or writes them. Include it
// (GL_GOOGLE_include_directive) before any buffer declaration.
//
//   default    tensors are fp32 in memory
//   -DFP16=1   tensors are fp16 in memory (16-bit storage, shaderFloat16). Loads widen to fp32 at
//              once and all arithmetic stays fp32, so the only rounding to fp16 is the store.
//
// STORE_T is one element, STORE_VEC4 four of them (one 16- or 8-byte access); widen() turns a
// loaded value into fp32, narrow() an fp32 result into the storage type.

#ifndef VKVIT_TYPES_GLSL
#define VKVIT_TYPES_GLSL

#if defined(FP16) && FP16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define STORE_T float16_t
#define STORE_VEC4 f16vec4
#else
#define STORE_T float
#define STORE_VEC4 vec4
#endif

float widen(STORE_T v) { return float(v); }
vec4 widen(STORE_VEC4 v) { return vec4(v); }
STORE_T narrow(float v) { return STORE_T(v); }
STORE_VEC4 narrow(vec4 v) { return STORE_VEC4(v); }

#endif
