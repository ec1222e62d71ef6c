/* Typed fields of JSON objects (cJSON), for every JSON file vkvit reads: config.json (Hugging Face,
 * timm), preprocessor_config.json. Each reader looks up `key` in `obj`:
 *   - absent, or JSON null (what Hugging Face writes for "not set"): VKVIT_OK, *dst untouched;
 *   - of the expected type: stored in *dst, and `bit` set in *present (present may be NULL);
 *   - anything else: VKVIT_ERROR_BAD_CONFIG, "<file>: <key> is <what it holds>, not <what it must be>".
 * `file` names the file in messages. */
#ifndef VKVIT_UTIL_JSON_H
#define VKVIT_UTIL_JSON_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define JSON_MAX_UINT 0x7fffffff /* larger integers are rejected as absurd */

/* An integer in 0..JSON_MAX_UINT. */
bool json_is_uint(const cJSON *v);
/* What `v` holds, for messages: its number or quoted string (truncated), or its kind. */
const char *json_describe(const cJSON *v, char *buf, size_t size);
/* An integer in 0..JSON_MAX_UINT; with `square`, also [n, n] (sizes), and [a, b] with a != b is an error. */
vkvit_status json_uint(const char *file, const cJSON *obj, const char *key, bool square, uint32_t *dst,
                       uint32_t *present, uint32_t bit);
vkvit_status json_number(const char *file, const cJSON *obj, const char *key, double *dst, uint32_t *present,
                         uint32_t bit);
vkvit_status json_bool(const char *file, const cJSON *obj, const char *key, bool *dst, uint32_t *present,
                       uint32_t bit);
/* Copied into dst (truncated to `size` bytes with its NUL). */
vkvit_status json_string(const char *file, const cJSON *obj, const char *key, char *dst, size_t size,
                         uint32_t *present, uint32_t bit);
/* A list of 1..max finite numbers of magnitude <= 1e6 (mean, std); *count is its length. */
vkvit_status json_floats(const char *file, const cJSON *obj, const char *key, float *dst, uint32_t max,
                         uint32_t *count, uint32_t *present, uint32_t bit);

#endif
