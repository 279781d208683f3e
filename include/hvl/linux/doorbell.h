/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux doorbell backends over a pair of struct hvl_doorbell_wire (one we
 * ring, one we wait on).  Used by the PMM and by the simulated remote.
 *
 * Protocol (docs/PROTOCOL.md "Notifications"): the ringer increments seq
 * (single writer), issues a full fence, and makes a system call only if the
 * sleeper's 'sleeping' word is set.  The sleeper sets 'sleeping', fences,
 * re-checks seq, and only then blocks.  Each side thus pays a syscall only
 * when the other really sleeps.
 */
#ifndef HVL_LINUX_DOORBELL_H
#define HVL_LINUX_DOORBELL_H

#include <stdint.h>
#include "hvl/notify.h"
#include "hvl/wire/region.h"

struct hvl_doorbell {
	unsigned kind;                  /* HVL_DOORBELL_POLL/FUTEX/EVENTFD */
	struct hvl_doorbell_wire *tx;   /* we ring this one (we own tx->seq) */
	struct hvl_doorbell_wire *rx;   /* we wait on this one (we own rx->sleeping) */
	uint32_t tx_seq;                /* private copy of what we last stored */
	uint32_t rx_seen;               /* rx->seq when the last wait returned */
	uint32_t kick_word;             /* local kicks (futex_waitv / poll) */
	uint32_t kick_seen;
	int tx_fd;                      /* eventfd backend: peer's fd, -1 otherwise */
	int rx_fd;                      /* eventfd backend: our fd */
	int kick_fd;                    /* eventfd backend: local kicks */
	uint64_t rings, syscalls, waits;/* statistics */
};

/*
 * Set up a doorbell.  For HVL_DOORBELL_EVENTFD, @tx_fd/@rx_fd are the two
 * eventfds (see hvl_doorbell_fds_serve()/_fetch()); ignored otherwise.
 * Returns 0 or a negative errno.
 */
int hvl_doorbell_open(struct hvl_doorbell *db, unsigned kind,
		      struct hvl_doorbell_wire *tx, struct hvl_doorbell_wire *rx,
		      int tx_fd, int rx_fd);
void hvl_doorbell_close(struct hvl_doorbell *db);

/* struct hvl_notify_ops over a struct hvl_doorbell (ctx). */
extern const struct hvl_notify_ops hvl_doorbell_ops;

static inline struct hvl_notifier hvl_doorbell_notifier(struct hvl_doorbell *db)
{
	struct hvl_notifier n = { &hvl_doorbell_ops, db };
	return n;
}

/* Name of a doorbell kind ("poll", "futex", "eventfd"), or NULL. */
const char *hvl_doorbell_kind_name(unsigned kind);
/* Parse a kind name; returns 0 and sets *kind, or -EINVAL. */
int hvl_doorbell_kind_parse(const char *name, unsigned *kind);

#endif /* HVL_LINUX_DOORBELL_H */
