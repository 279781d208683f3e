/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal fake of the PMM daemon around one device backend, for the
 * backend fuzz targets (fuzz_console, fuzz_blk, and the ones that follow
 * their pattern, docs/SECURITY.md).  It provides what a backend calls
 * outside its own files: hvl_pmm_watch/rewatch/unwatch/now_ms (normally in
 * src/pmm/main.c, which also holds main()), hvl_pmm_dev_opt(),
 * hvl_pmm_parse_size() and hvl_pmm_parse_u64() (src/pmm/config.c, which
 * would pull in the loader and libinih), over a real epoll fd, plus one
 * "main loop turn" that runs ready fds' callbacks on the calling thread,
 * as the daemon's main thread would.
 */
#ifndef HVL_FUZZ_FAKE_PMM_H
#define HVL_FUZZ_FAKE_PMM_H

#include "pmm.h"

/* A struct hvl_pmm with an epoll fd and a logger that formats every message. */
void fake_pmm_init(struct hvl_pmm *p);
void fake_pmm_fini(struct hvl_pmm *p);

/* epoll_wait(0) and the callbacks of the ready fds. */
void fake_pmm_loop_turn(struct hvl_pmm *p);

/*
 * A region around the device, for backends that look at its configuration
 * (doorbell kind, name): @rg and @rcfg are the caller's storage.
 */
void fake_pmm_region(struct hvl_pmm *p, struct hvl_pmm_region *rg,
		     struct hvl_pmm_region_config *rcfg, uint32_t doorbell);

/* A device config named @name with NULL-terminated key, value, ... options. */
void fake_pmm_dev_config(struct hvl_pmm_dev_config *cfg, const char *name, ...);

/* A notifier whose ring and wait do nothing (the remote is the harness). */
struct hvl_notifier fake_pmm_notifier(void);

/* A private temp directory, removed at exit; fake_pmm_path() names files in it. */
const char *fake_pmm_path(const char *file);

#endif /* HVL_FUZZ_FAKE_PMM_H */
