/* The driver-quirk table's matching (src/vk/quirks.c) on fake devices: vendor, driver and device
 * substrings, the half-open version range and its open end, the union over rows, the end of a
 * table; and that every row of the built-in table is well formed. No GPU. */
#include "common.h"
#include "vk/quirks.h"

#include <stdio.h>
#include <string.h>

static vkvit_device_info device(uint32_t vendor, const char *driver, const char *name, uint32_t version)
{
    vkvit_device_info d = {.vendor_id = vendor, .driver_version = version};
    snprintf(d.driver_name, sizeof d.driver_name, "%s", driver);
    snprintf(d.name, sizeof d.name, "%s", name);
    return d;
}

#define NV(major, minor) VK_QUIRK_NVIDIA_VERSION(major, minor)

static void check_rows(void)
{
    const vk_quirk coopmat_535_550 = {0x10DE, "nvidia", NULL, NV(535, 0), NV(550, 40), VK_PATH_COOPMAT, "test"};
    const vk_quirk any_radv = {0, "radv", NULL, 0, 0, VK_PATH_FP16, "test"};
    const vk_quirk device_only = {0x8086, NULL, "Arc(TM) B", VK_QUIRK_MESA_VERSION(24, 1, 0), 0,
                                  VK_PATH_SUBGROUP, "test"};
    struct {
        const char *what;
        const vk_quirk *q;
        vkvit_device_info d;
        bool want;
    } cases[] = {
        {"NVIDIA in range", &coopmat_535_550, device(0x10DE, "NVIDIA", "NVIDIA H100", NV(545, 29)), true},
        {"NVIDIA at the lower bound (inclusive)", &coopmat_535_550, device(0x10DE, "NVIDIA", "H100", NV(535, 0)), true},
        {"NVIDIA one below the lower bound", &coopmat_535_550, device(0x10DE, "NVIDIA", "H100", NV(535, 0) - 1), false},
        {"NVIDIA at the fixed version (exclusive)", &coopmat_535_550, device(0x10DE, "NVIDIA", "H100", NV(550, 40)), false},
        {"NVIDIA just before the fix", &coopmat_535_550, device(0x10DE, "NVIDIA", "H100", NV(550, 39)), true},
        {"other vendor, same driver name", &coopmat_535_550, device(0x1002, "NVIDIA", "H100", NV(545, 0)), false},
        {"driver name differs", &coopmat_535_550, device(0x10DE, "NVK", "H100", NV(545, 0)), false},
        {"no driver name (no VK_KHR_driver_properties)", &coopmat_535_550, device(0x10DE, "", "H100", NV(545, 0)), false},
        {"any vendor, substring in the middle, any case", &any_radv, device(0x1002, "Mesa RADV NAVI31", "RX 7900", 1), true},
        {"any vendor, open upper bound", &any_radv, device(0x1002, "radv", "RX 7900", 0xFFFFFFFFu), true},
        {"any vendor, other driver", &any_radv, device(0x1002, "AMD proprietary driver", "RX 7900", 1), false},
        {"device substring", &device_only, device(0x8086, "Intel open-source Mesa driver", "Intel(R) Arc(TM) B580 Graphics",
                                                  VK_QUIRK_MESA_VERSION(25, 0, 2)), true},
        {"device substring absent", &device_only, device(0x8086, "Intel open-source Mesa driver", "Intel(R) Arc(TM) A770 Graphics",
                                                         VK_QUIRK_MESA_VERSION(25, 0, 2)), false},
        {"Mesa version below", &device_only, device(0x8086, "Intel open-source Mesa driver", "Intel(R) Arc(TM) B580 Graphics",
                                                    VK_QUIRK_MESA_VERSION(24, 0, 9)), false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bool got = vk_quirk_matches(cases[i].q, &cases[i].d);
        test_expect(got == cases[i].want, "quirk row: %s: %s (want %s)", cases[i].what, got ? "matches" : "no match",
                    cases[i].want ? "match" : "no match");
    }
}

static void check_tables(void)
{
    const vk_quirk table[] = {
        {0x10DE, NULL, NULL, 0, NV(500, 0), VK_PATH_COOPMAT, "old NVIDIA"},
        {0x10DE, NULL, "GeForce", 0, 0, VK_PATH_FP16, "GeForce"},
        {0x1002, NULL, NULL, 0, 0, VK_PATH_SUBGROUP, "AMD"},
        {.paths_off = VK_PATH_ALL, .evidence = NULL},   /* the end: evidence NULL, whatever else it says */
        {0, NULL, NULL, 0, 0, VK_PATH_ALL, "past the end: never read"},
    };
    vkvit_device_info old_geforce = device(0x10DE, "NVIDIA", "NVIDIA GeForce RTX 2080", NV(470, 1));
    vkvit_device_info new_h100 = device(0x10DE, "NVIDIA", "NVIDIA H100 80GB HBM3", NV(550, 54));
    vkvit_device_info llvmpipe = device(0x10005, "llvmpipe", "llvmpipe (LLVM 15.0.6, 256 bits)",
                                        VK_QUIRK_MESA_VERSION(0, 0, 1));
    uint32_t a = vk_quirk_paths(table, &old_geforce), b = vk_quirk_paths(table, &new_h100),
             c = vk_quirk_paths(table, &llvmpipe);
    test_expect(a == (VK_PATH_COOPMAT | VK_PATH_FP16), "union over two matching rows: 0x%x", a);
    test_expect(b == 0, "no row matches a new H100: 0x%x", b);
    test_expect(c == 0, "the row past the end of the table is never read: 0x%x", c);

    char buf[64];
    test_expect(strcmp(vk_path_names(VK_PATH_COOPMAT_KHR | VK_PATH_SUBGROUP, buf, sizeof buf),
                       "subgroup kernels, coopmat (KHR)") == 0, "path names: \"%s\"", buf);
    test_expect(strcmp(vk_path_names(VK_PATH_COOPMAT, buf, sizeof buf), "coopmat (NV), coopmat (KHR)") == 0,
                "both coopmat paths: \"%s\"", buf);
    test_expect(strcmp(vk_path_names(VK_PATH_ALL, buf, 10), "coopmat (") == 0, "path names truncated safely: \"%s\"", buf);
}

/* Every built-in row says where its evidence is, turns off known paths only, has a sane range and
 * is not so broad that it matches every device; and lavapipe (CI's device) matches none. */
static void check_builtin(void)
{
    size_t n = 0;
    for (const vk_quirk *q = vk_quirk_table; q->evidence; q++, n++) {
        test_expect(strstr(q->evidence, "https://") != NULL, "built-in row %zu cites a public source: %s", n,
                    q->evidence);
        test_expect(q->paths_off && !(q->paths_off & ~(uint32_t)VK_PATH_ALL), "built-in row %zu: paths 0x%x", n,
                    q->paths_off);
        test_expect(q->version_max == 0 || q->version_min < q->version_max, "built-in row %zu: version range", n);
        test_expect(q->vendor_id || q->driver || q->device, "built-in row %zu names a vendor, driver or device", n);
    }
    vkvit_device_info llvmpipe = device(0x10005, "llvmpipe", "llvmpipe (LLVM 15.0.6, 256 bits)",
                                        VK_QUIRK_MESA_VERSION(22, 3, 6));
    test_expect(vk_quirk_paths(vk_quirk_table, &llvmpipe) == 0, "no built-in row matches lavapipe");
    printf("built-in quirk table: %zu row(s)\n", n);
}

int main(void)
{
    check_rows();
    check_tables();
    check_builtin();
    return test_finish(NULL);
}
