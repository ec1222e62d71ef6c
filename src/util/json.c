/* Typed JSON field readers (json.h). */
#include "util/json.h"

#include <math.h>
#include <stdio.h>

const char *json_describe(const cJSON *v, char *buf, size_t size)
{
    if (cJSON_IsNumber(v))
        snprintf(buf, size, "%.17g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(buf, size, "\"%.40s\"", v->valuestring);
    else
        snprintf(buf, size, "%s", cJSON_IsArray(v) ? "a list" : cJSON_IsObject(v) ? "an object"
                                : cJSON_IsBool(v) ? "a boolean" : "null");
    return buf;
}

/* The value under `key`, or NULL when absent or null. */
static const cJSON *field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static vkvit_status found(uint32_t *present, uint32_t bit)
{
    if (present)
        *present |= bit;
    return VKVIT_OK;
}

static vkvit_status wrong(const char *file, const char *key, const cJSON *v, const char *expected)
{
    char buf[64];
    return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s is %s, not %s", file, key, json_describe(v, buf, sizeof buf),
                expected);
}

bool json_is_uint(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= JSON_MAX_UINT &&
           v->valuedouble == floor(v->valuedouble);
}

vkvit_status json_uint(const char *file, const cJSON *obj, const char *key, bool square, uint32_t *dst,
                       uint32_t *present, uint32_t bit)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return VKVIT_OK;
    if (square && cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && json_is_uint(v->child) && json_is_uint(v->child->next)) {
        if (v->child->valuedouble != v->child->next->valuedouble)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s = [%.0f, %.0f]: only square sizes are supported", file, key,
                        v->child->valuedouble, v->child->next->valuedouble);
        v = v->child;
    }
    if (!json_is_uint(v))
        return wrong(file, key, v, "a non-negative integer below 2^31");
    *dst = (uint32_t)v->valuedouble;
    return found(present, bit);
}

vkvit_status json_number(const char *file, const cJSON *obj, const char *key, double *dst, uint32_t *present,
                         uint32_t bit)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return VKVIT_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return wrong(file, key, v, "a finite number");
    *dst = v->valuedouble;
    return found(present, bit);
}

vkvit_status json_bool(const char *file, const cJSON *obj, const char *key, bool *dst, uint32_t *present,
                       uint32_t bit)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return VKVIT_OK;
    if (!cJSON_IsBool(v))
        return wrong(file, key, v, "true or false");
    *dst = cJSON_IsTrue(v);
    return found(present, bit);
}

vkvit_status json_string(const char *file, const cJSON *obj, const char *key, char *dst, size_t size,
                         uint32_t *present, uint32_t bit)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return VKVIT_OK;
    if (!cJSON_IsString(v))
        return wrong(file, key, v, "a string");
    snprintf(dst, size, "%s", v->valuestring);
    return found(present, bit);
}

vkvit_status json_floats(const char *file, const cJSON *obj, const char *key, float *dst, uint32_t max,
                         uint32_t *count, uint32_t *present, uint32_t bit)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return VKVIT_OK;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n < 1 || (uint32_t)n > max)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s is not a list of 1 to %u numbers", file, key, max);
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || fabs(e->valuedouble) > 1e6)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s[%d] is not a (sane) number", file, key, i);
        dst[i] = (float)e->valuedouble;
    }
    *count = (uint32_t)n;
    return found(present, bit);
}
