/* The part of a photo the model sees, from the checkpoint's preprocessing configuration. */
#include "viewer_view.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The whole file as a string, or NULL. */
static char *read_text(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && size < (1 << 24) && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1))) {
        if (fread(text, 1, (size_t)size, f) == (size_t)size) {
            text[size] = 0;
        } else {
            free(text);
            text = NULL;
        }
    }
    fclose(f);
    return text;
}

static cJSON *read_json(const char *dir, const char *name)
{
    char *text = read_text(dir, name);
    cJSON *json = text ? cJSON_Parse(text) : NULL;
    free(text);
    return json;
}

static int side(const cJSON *j) { return cJSON_IsNumber(j) && j->valuedouble >= 1 ? (int)j->valuedouble : 0; }

/* An int (square), {"height", "width"} or {"shortest_edge"}; 0 if absent or none of those. */
static viewer_resize get_size(const cJSON *root, const char *key, uint32_t *w, uint32_t *h)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    const cJSON *jh = cJSON_GetObjectItemCaseSensitive(j, "height"), *jw = cJSON_GetObjectItemCaseSensitive(j, "width");
    const cJSON *se = cJSON_GetObjectItemCaseSensitive(j, "shortest_edge");
    if (side(j)) {
        *w = *h = (uint32_t)side(j);
        return VIEW_RESIZE_EXACT;
    }
    if (side(jh) && side(jw)) {
        *w = (uint32_t)side(jw), *h = (uint32_t)side(jh);
        return VIEW_RESIZE_EXACT;
    }
    if (side(se)) {
        *w = *h = (uint32_t)side(se);
        return VIEW_RESIZE_SHORTEST;
    }
    return VIEW_RESIZE_NONE;
}

/* Hugging Face image processors; absent keys as ViTImageProcessor: resize to size x size, no crop. */
static void hf_view(const cJSON *p, viewer_view *v)
{
    viewer_resize mode = get_size(p, "size", &v->resize_w, &v->resize_h);
    if (mode != VIEW_RESIZE_NONE)
        v->resize = mode;
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "do_resize")))
        v->resize = VIEW_RESIZE_NONE;
    v->crop = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "do_center_crop")) &&
              get_size(p, "crop_size", &v->crop_w, &v->crop_h) == VIEW_RESIZE_EXACT;
}

/* timm's eval transform, if config.json is timm's (timm keys and none of Hugging Face's). */
static void timm_view(const cJSON *config, uint32_t size, viewer_view *v)
{
    static const char *const hf_keys[] = {"architectures", "model_type", "hidden_size", "id2label"};
    for (size_t i = 0; i < sizeof hf_keys / sizeof *hf_keys; i++)
        if (cJSON_GetObjectItemCaseSensitive(config, hf_keys[i]))
            return;
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(config, "pretrained_cfg");
    if (!cfg && !cJSON_GetObjectItemCaseSensitive(config, "architecture"))
        return;
    const cJSON *pct = cJSON_GetObjectItemCaseSensitive(cfg, "crop_pct");
    double crop_pct = cJSON_IsNumber(pct) && pct->valuedouble > 0 && pct->valuedouble <= 1 ? pct->valuedouble : 0.875;
    v->resize = VIEW_RESIZE_SHORTEST;
    v->resize_w = v->resize_h = (uint32_t)floor(size / crop_pct + 1e-9);
    v->crop = 1;
}

viewer_view viewer_view_read(const char *model_path, uint32_t size)
{
    viewer_view v = {VIEW_RESIZE_EXACT, size, size, 0, size, size};
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", model_path);
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof dir, ".");
    }
    cJSON *json = read_json(dir, "preprocessor_config.json");
    if (json) {
        hf_view(json, &v);
    } else if ((json = read_json(dir, "config.json"))) {
        timm_view(json, size, &v);
    }
    cJSON_Delete(json);
    return v;
}

/* One axis: the source interval [lo, hi) that becomes the model's input. */
static void axis(uint32_t in, uint32_t resized, int crop, uint32_t crop_len, float *lo, float *hi)
{
    double scale = (double)in / resized;
    double origin = crop ? ((double)resized - crop_len) / 2 : 0, len = crop ? crop_len : resized;
    *lo = (float)(origin * scale);
    *hi = (float)((origin + len) * scale);
}

void viewer_view_rect(const viewer_view *v, uint32_t width, uint32_t height, float rect[4])
{
    uint32_t rw = width, rh = height;
    if (v->resize == VIEW_RESIZE_EXACT) {
        rw = v->resize_w, rh = v->resize_h;
    } else if (v->resize == VIEW_RESIZE_SHORTEST) {
        /* the shorter side to resize_w, the longer int(n * long / short), as Hugging Face and timm */
        if (width <= height)
            rw = v->resize_w, rh = (uint32_t)((double)v->resize_w * height / width);
        else
            rh = v->resize_w, rw = (uint32_t)((double)v->resize_w * width / height);
    }
    axis(width, rw ? rw : 1, v->crop, v->crop_w, &rect[0], &rect[2]);
    axis(height, rh ? rh : 1, v->crop, v->crop_h, &rect[1], &rect[3]);
}
