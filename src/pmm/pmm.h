/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-pmm internals: the daemon context, regions, and the API device
 * backends use (fd watching on the main event loop, logging).
 *
 * Threads: one main thread runs the epoll loop (signals, backend fds); one
 * device thread per region serves that region's devices (register
 * transactions, queues) and sleeps on the region's doorbell.  Backend fd
 * callbacks run on the main thread; struct hvl_dev_ops run on the device
 * thread.  A backend that moves data between the two protects it with its
 * own lock and uses hvl_dev_kick() to wake the device thread.
 */
#ifndef HVL_PMM_PMM_H
#define HVL_PMM_PMM_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "hvl/layout.h"
#include "hvl/linux/doorbell.h"
#include "hvl/log.h"
#include "hvl/pmm/dev.h"

struct hvl_pmm;
struct hvl_pmm_region;

/* Called on the main thread when a watched fd is ready (EPOLLIN/OUT/HUP/ERR bits). */
typedef void (*hvl_pmm_fd_cb)(void *arg, uint32_t events);

/*
 * A device backend type: creates the backend state for one device.
 * @st arrives with the queues and data area filled from the layout; create
 * sets st->features and st->config/config_size, and returns its ops and
 * private state.  Returns 0 or a negative errno (with a logged reason).
 */
struct hvl_pmm_backend {
	const char *type;          /* configuration type name, e.g. "console" */
	int (*create)(struct hvl_pmm *pmm, struct hvl_pmm_region *rg,
		      const struct hvl_pmm_dev_config *cfg, struct hvl_dev *dev,
		      struct hvl_dev_static *st, const struct hvl_dev_ops **ops, void **priv);
	/* Called on the main thread after the device thread stopped. */
	void (*destroy)(void *priv);
	/* Optional: one line of statistics for the shutdown log. */
	void (*stats)(void *priv, char *buf, size_t len);
};

/* Backend lookup by type name; NULL if the type has no backend yet. */
const struct hvl_pmm_backend *hvl_pmm_backend_find(const char *type);

struct hvl_pmm_device {
	struct hvl_dev dev;                     /* transport state */
	const struct hvl_pmm_backend *be;
	void *priv;
	const struct hvl_pmm_dev_config *cfg;
};

struct hvl_pmm_region {
	struct hvl_pmm *pmm;
	const struct hvl_pmm_region_config *cfg;
	struct hvl_layout layout;
	uint8_t *mem;                           /* our mapping of the region */
	uint64_t size;
	int mem_fd;
	struct hvl_region_hdr *hdr;
	struct hvl_doorbell db;                 /* tx = to_remote, rx = to_pmm */
	struct hvl_notifier notifier;
	int efd_to_pmm, efd_to_remote;          /* eventfd doorbell only */
	int db_listen_fd;                       /* eventfd doorbell: fd-passing socket */
	unsigned ndev;
	struct hvl_pmm_device *dev;             /* ndev entries */
	pthread_t thread;
	int thread_started;
	uint32_t stop;                          /* atomic: ask the device thread to exit */
	uint32_t heartbeat;
	uint64_t loops, wakeups, timeouts;
	uint64_t fault_rng, rings_dropped;      /* fault_drop_doorbell_pct (tests) */
};

struct hvl_pmm {
	struct hvl_pmm_config cfg;
	struct hvl_logger log;
	int epfd;
	int sigfd;
	uint32_t stop;                          /* atomic */
	unsigned nregions;
	struct hvl_pmm_region *region;
	pthread_mutex_t watch_lock;             /* guards watch[] */
	struct hvl_pmm_watch **watch;           /* fd -> watch, HVL_PMM_MAX_FD entries */
	struct hvl_pmm_watch *graveyard;        /* unwatched, freed between epoll batches */
};

#define HVL_PMM_MAX_FD 65536 /* watchable descriptors (a 9p fid may hold three) */

/* Monotonic milliseconds. */
uint64_t hvl_pmm_now_ms(void);

/*
 * Watch @fd on the main loop for @events (EPOLLIN/EPOLLOUT...); @cb(@arg,
 * events) runs on the main thread.  Thread-safe (epoll_ctl).  The caller
 * owns @fd and must unwatch before closing it.  Returns 0 or -errno.
 */
int hvl_pmm_watch(struct hvl_pmm *p, int fd, uint32_t events, hvl_pmm_fd_cb cb, void *arg);
/* Change the events of a watched fd.  Thread-safe. */
int hvl_pmm_rewatch(struct hvl_pmm *p, int fd, uint32_t events);
/* Stop watching @fd.  Thread-safe. */
void hvl_pmm_unwatch(struct hvl_pmm *p, int fd);

/* Set up (map, lay out, publish) a region and create its devices. */
int hvl_pmm_region_open(struct hvl_pmm *p, struct hvl_pmm_region *rg,
			const struct hvl_pmm_region_config *cfg);
/* Start the device thread; the header goes READY. */
int hvl_pmm_region_start(struct hvl_pmm_region *rg);
/* Stop serving: header DOWN, device thread joined, devices reset, backends destroyed. */
void hvl_pmm_region_close(struct hvl_pmm_region *rg);

#endif /* HVL_PMM_PMM_H */
