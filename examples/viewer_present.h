/* Presentation of CPU-composed frames: a swapchain whose images are filled by vkCmdCopyBufferToImage
 * from a host-visible staging buffer, with VIEWER_FRAMES_IN_FLIGHT frames in flight.
 *
 * Per frame in flight: a command buffer, a staging buffer, an "image acquired" semaphore and a
 * fence. Per swapchain image: a "copy done" semaphore that the present waits on (one per image,
 * not per frame: an image's semaphore is only reused once that image has been acquired again, which
 * implies its previous present has consumed it). A frame waits for its fence before it touches its
 * staging buffer or command buffer again. */
#ifndef VIEWER_PRESENT_H
#define VIEWER_PRESENT_H

#include <stdint.h>

#include "viewer_gpu.h"

#define VIEWER_FRAMES_IN_FLIGHT 2
#define VIEWER_MAX_IMAGES 8

typedef struct viewer_frame_slot {
    VkCommandBuffer cmd;
    VkFence done;
    VkSemaphore acquired;
    VkBuffer staging;          /* [height][width][4] bytes in the swapchain's channel order */
    VkDeviceMemory staging_mem;
    VkDeviceSize staging_size;
    void *staging_map;
} viewer_frame_slot;

typedef struct viewer_presenter {
    const viewer_gpu *gpu;
    VkSwapchainKHR swapchain;
    VkFormat format;
    int bgra;                  /* the swapchain stores B, G, R, A: swap R and B on the way in and out */
    int readable;              /* the images allow TRANSFER_SRC: screenshots read them back          */
    VkExtent2D extent;
    uint32_t image_count;
    VkImage images[VIEWER_MAX_IMAGES];
    VkSemaphore copied[VIEWER_MAX_IMAGES];
    VkCommandPool pool;
    viewer_frame_slot frames[VIEWER_FRAMES_IN_FLIGHT];
    uint32_t frame;            /* which slot the next frame uses */
    int stale;                 /* the last present said the swapchain no longer fits the window */
} viewer_presenter;

/* Creates the swapchain for a window whose framebuffer is width x height. 0 or -1 (printed). */
int viewer_presenter_create(viewer_presenter *p, const viewer_gpu *gpu, uint32_t width, uint32_t height);

/* Rebuilds the swapchain for a new framebuffer size (waits for the device to be idle first). */
int viewer_presenter_resize(viewer_presenter *p, uint32_t width, uint32_t height);

/* Presents `rgba` ([extent.height][extent.width][4], R G B A): 0 presented; 1 the swapchain no
 * longer fits the window (nothing presented: resize and compose again); -1 error (printed).
 * `screenshot`, if not NULL, receives the swapchain image as it was presented (read back from it,
 * R G B A, same size); the call then waits for the frame to finish. */
int viewer_present(viewer_presenter *p, const uint8_t *rgba, uint8_t *screenshot);

void viewer_presenter_destroy(viewer_presenter *p);

#endif
