/* Presentation of CPU-composed frames: a swapchain whose images are filled by vkCmdCopyBufferToImage
 * from a host-visible staging buffer, with VIEWER_FRAMES_IN_FLIGHT frames in flight.
 *
 * Per frame in flight: a command buffer, a staging buffer, an "image acquired" semaphore and a
 * fence. Per swapchain image: the swapchain's "presentable" semaphore, which the copy's submission
 * signals and the present waits on (base/app_vulkan.h). A frame waits for its fence before it
 * touches its staging buffer or command buffer again. */
#ifndef VIEWER_PRESENT_H
#define VIEWER_PRESENT_H

#include <stdint.h>

#include "app_vulkan.h"

#define VIEWER_FRAMES_IN_FLIGHT 2

typedef struct viewer_frame_slot {
    VkCommandBuffer cmd;
    VkFence done;
    VkSemaphore acquired;
    app_buffer staging;        /* [height][width][4] bytes in the swapchain's channel order */
} viewer_frame_slot;

typedef struct viewer_presenter {
    app_vulkan *vk;
    app_swapchain sc;
    int bgra;                  /* the swapchain stores B, G, R, A: swap R and B on the way in and out */
    VkCommandPool pool;
    viewer_frame_slot frames[VIEWER_FRAMES_IN_FLIGHT];
    uint32_t frame;            /* which slot the next frame uses */
} viewer_presenter;

/* Creates the swapchain for a window whose framebuffer is width x height. 0 or -1 (printed). */
int viewer_presenter_create(viewer_presenter *p, app_vulkan *vk, uint32_t width, uint32_t height);

/* Rebuilds the swapchain for a new framebuffer size (waits for the device to be idle first). */
int viewer_presenter_resize(viewer_presenter *p, uint32_t width, uint32_t height);

/* Presents `rgba` ([sc.extent.height][sc.extent.width][4], R G B A): 0 presented; 1 the swapchain no
 * longer fits the window (nothing presented: resize and compose again); -1 error (printed).
 * `screenshot`, if not NULL, receives the swapchain image as it was presented (read back from it,
 * R G B A, same size); the call then waits for the frame to finish. */
int viewer_present(viewer_presenter *p, const uint8_t *rgba, uint8_t *screenshot);

void viewer_presenter_destroy(viewer_presenter *p);

#endif
