/* vkvit_record's per-plan state (src/record.c): the buffers and image views of the current recording. */
#ifndef VKVIT_RECORD_H
#define VKVIT_RECORD_H

#include "plan.h"

/* Frees p->rec (accepts a plan that never recorded); before plan_destroy. */
void record_free(struct vkvit_plan *p);
/* Images in the plan's current vkvit_record recording; 0 = none. */
uint32_t record_recorded(const struct vkvit_plan *p);

#endif
