/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Human and machine output of a computed region layout: the table behind
 * hvl-pmm --print-layout and the C header behind --emit-header, which a
 * remote's build includes so both sides agree on every address by
 * construction.  All addresses printed are bus addresses, i.e. the
 * remote's view (remote_base + region offset).
 */
#ifndef HVL_PMM_LAYOUT_OUT_H
#define HVL_PMM_LAYOUT_OUT_H

#include <stdio.h>

#include "hvl/layout.h"

/* Print @l as a table: region, then per device its page, window, queues and data area. */
void hvl_layout_print(FILE *f, const char *region_name, const struct hvl_layout *l);

/*
 * Write a C header describing @l (macros HVL_<REGION>_..., see
 * docs/CONFIG.md "Generated header").  Returns 0, -EINVAL if two names map
 * to the same macro, or -EIO if writing failed.
 */
int hvl_layout_emit_header(FILE *f, const char *region_name, const struct hvl_layout *l);

#endif /* HVL_PMM_LAYOUT_OUT_H */
