/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the rpmsg backend (rpmsg.c: queues and messages; rpmsg_sock.c:
 * channels and their UNIX sockets).  See rpmsg.c for the design.
 *
 * Threads: everything here belongs to the region's device thread.  The
 * main loop's fd callbacks only OR the epoll events into slot->hint and
 * kick the device thread (all fds are watched EPOLLONESHOT, so a callback
 * fires once per arming), which makes every socket call, every slot and
 * every channel single-threaded and lock-free.  A hint is only a hint: a
 * slot reused for another fd may see a stale one, so each is checked with
 * a non-blocking call.  destroy() runs after the device thread stopped.
 */
#ifndef HVL_PMM_DEVICES_RPMSG_PRIV_H
#define HVL_PMM_DEVICES_RPMSG_PRIV_H

#include <stdint.h>
#include <sys/uio.h>

#include "../pmm.h"
#include "hvl/wire/rpmsg.h"

#define RP_DEFAULT_MAX_CHANNELS 128u
#define RP_MAX_CHANNELS_LIMIT   1024u
#define RP_IOV_MIN              1024u   /* chain capacity, like the console */
#define RP_BUDGET               256u    /* messages per call, then yield */
#define RP_LISTEN_BACKLOG       16
#define RP_ADDR_STRIDE          4096u   /* address = 1024 + slot + STRIDE * generation */
#define RP_RL_BURST             10u
#define RP_RL_MS                5000u
#define RP_SPIN_NS              2000    /* poll doorbell: re-check an empty transmitq */
#define RP_CONTROL_NAME         ".control"
#define RP_BUILTIN_ECHO         "hvl-echo"
#define RP_BUILTIN_SINK         "hvl-sink"

enum rp_slot_kind {
	RS_FREE = 0,
	RS_LISTEN,       /* listening socket of a remote-announced channel */
	RS_CLIENT,       /* a Linux program connected to a remote-announced channel */
	RS_CTRL_LISTEN,  /* dir/.control */
	RS_CTRL_PENDING, /* connected to .control, its first packet (the name) not read yet */
	RS_HOST,         /* the connection of a channel a Linux program created */
};

struct rp;

/* One fd the backend owns. */
struct rp_slot {
	struct rp *rp;
	int fd;                 /* -1 when free */
	uint8_t kind;           /* enum rp_slot_kind */
	uint8_t armed;          /* an EPOLLONESHOT arming is outstanding */
	uint8_t watched;
	uint8_t rd_ready;       /* may have packets: read until EAGAIN */
	uint8_t want_out;       /* a send hit EAGAIN: waiting for EPOLLOUT */
	uint32_t armed_ev;
	uint32_t hint;          /* epoll events from the main loop (atomic) */
	uint32_t local;         /* our rpmsg address (RS_CLIENT, RS_HOST), else 0 */
	uint16_t gen;           /* bumps on every reuse: old addresses stop matching */
	int chan;               /* channel index (RS_LISTEN, RS_CLIENT, RS_HOST), else -1 */
};

enum rp_chan_kind {
	RC_FREE = 0,
	RC_REMOTE,   /* announced by the remote: a listening socket in dir */
	RC_HOST,     /* created by a Linux program through .control, announced to the remote */
	RC_ECHO,     /* built-in (option builtin): echoes each message to its sender */
	RC_SINK,     /* built-in: counts and discards */
};

struct rp_chan {
	uint8_t kind;               /* enum rp_chan_kind */
	uint8_t announced;          /* RC_HOST/ECHO/SINK: create sent to the remote */
	char name[HVL_RPMSG_NAME_SIZE];
	uint32_t remote;            /* remote endpoint address, ANY until known */
	uint32_t local;             /* RC_HOST/ECHO/SINK: our address */
	int slot;                   /* RC_REMOTE: listening slot; RC_HOST: connection */
	uint32_t clients;           /* RC_REMOTE: connected programs */
};

/* A name-service message waiting for a receive buffer. */
struct rp_ns_out {
	char name[HVL_RPMSG_NAME_SIZE];
	uint32_t addr;
	uint32_t flags;
};

struct rp {
	struct hvl_pmm *pmm;
	const struct hvl_logger *log;
	struct hvl_dev *dev;
	char name[HVL_PMM_DEV_NAME_MAX];
	char dir[HVL_PMM_OPT_VAL_MAX];
	int dir_made;                   /* we created dir: remove it at the end */
	uint32_t buf_size;              /* header + payload, per buffer */
	uint32_t max_channels;
	struct hvl_rpmsg_config config; /* published config space */

	unsigned nslots;
	struct rp_slot *slot;
	unsigned nchan;                 /* == max_channels + 2 built-ins */
	struct rp_chan *chan;
	uint32_t nchan_used;            /* channels counted against max_channels */
	uint32_t hint_any;              /* some slot has a hint (atomic) */
	unsigned rr;                    /* round-robin cursor for reads */
	unsigned nready;                /* slots with rd_ready set: 0 skips the scan */
	uint32_t echo_addr, sink_addr;  /* built-in channels' addresses (0: none) */
	int64_t spin_ns;                /* poll doorbell: look at the transmitq this long before leaving */

	struct rp_ns_out *nsq;          /* announcements to send, FIFO */
	unsigned nsq_cap, nsq_head, nsq_len;

	/* Chains held across calls. */
	struct hvl_chain txc;           /* a transmit chain whose output must wait */
	int tx_held;
	int tx_wait_slot;               /* the slot whose EPOLLOUT we wait for, or -1 */
	int tx_wait_rx;                 /* an echo waits for a receive buffer */
	struct hvl_chain rxc;           /* a receive buffer popped but not filled yet */
	int rx_held;
	int rx_pushed;                  /* receive buffers pushed since the last interrupt decision */
	struct iovec *iov;              /* scratch for sendmsg/recvmsg, cap entries */
	unsigned iov_cap;
	uint8_t *scratch;               /* buf_size bytes: echo copies, discards */

	struct hvl_ratelimit rl;
	/* Statistics (device thread only; read by stats() after it stopped). */
	uint64_t msgs_out, bytes_out, msgs_in, bytes_in;
	uint64_t drop_len, drop_oversize, drop_dst, drop_send, drop_ns, ns_refused;
	uint64_t linux_oversize, clients, refused_clients, ns_created, ns_destroyed;
	uint64_t sink_msgs;
};

/* Log "<device>: message", rate limited for peer faults when @limited. */
void rp_log(struct rp *rp, enum hvl_log_level lvl, int limited, const char *fmt, ...)
	HVL_PRINTF(4, 5);

/* rpmsg_sock.c */
int rp_sock_setup(struct rp *rp, int builtin);
void rp_sock_destroy(struct rp *rp);
/* Take the hints of the main loop: accept, mark slots readable/writable. */
void rp_sock_hints(struct rp *rp);
/* Set or clear @s->rd_ready, keeping rp->nready in step. */
void rp_set_ready(struct rp *rp, struct rp_slot *s, int ready);
/* (Re)arm @s for the events it still needs. */
void rp_slot_arm(struct rp *rp, struct rp_slot *s);
/* Close a data slot (client or host channel) and tidy its channel. */
void rp_slot_close(struct rp *rp, struct rp_slot *s, const char *why);
/* Slot with rpmsg address @addr (RS_CLIENT or RS_HOST), or NULL. */
struct rp_slot *rp_slot_by_addr(struct rp *rp, uint32_t addr);
/* Name-service message from the remote (already validated: NUL-terminated name). */
void rp_ns_from_remote(struct rp *rp, const struct rp_ns_out *ns);
/* The driver reset: drop remote channels, re-announce ours after DRIVER_OK. */
void rp_sock_reset(struct rp *rp);
/* Queue an announcement for the remote; returns 0 or -ENOSPC. */
int rp_nsq_push(struct rp *rp, const char *name, uint32_t addr, uint32_t flags);
/* First packet of a .control connection: NULL when it became channel @name, else why not. */
const char *rp_ctrl_name(struct rp *rp, struct rp_slot *s, const char *name);
/* After DRIVER_OK: announce the Linux-created and built-in channels. */
void rp_sock_announce_all(struct rp *rp);
/* Is @name a channel name we accept (a plain file name)? */
int rp_name_ok(const char *name);

#endif /* HVL_PMM_DEVICES_RPMSG_PRIV_H */
