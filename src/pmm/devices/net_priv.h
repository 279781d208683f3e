/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the virtio-net backend (net.c: data path and device ops,
 * net_io.c: the TAP and stream backends on the main loop).  See net.c for
 * the design.
 */
#ifndef HVL_PMM_DEVICES_NET_PRIV_H
#define HVL_PMM_DEVICES_NET_PRIV_H

#include <net/if.h>
#include <pthread.h>
#include <stdint.h>

#include "../pmm.h"
#include "hvl/wire/net.h"

#define NET_RX_SLOTS    64u            /* frames held for the remote (bounded memory) */
#define NET_RBUF_SIZE   (64u * 1024u)  /* stream read buffer */
#define NET_TBUF_SIZE   (128u * 1024u) /* stream: framed frames batched into one send */
#define NET_IOV_MIN     1024u          /* chain capacity; a bigger chain is refused by the ring */
#define NET_BUDGET      256u           /* chains per call, then yield (other devices) */
#define NET_READ_BUDGET 64u            /* frames (or reads) per main-loop callback */
#define NET_STREAM_MAX  65535u         /* largest length a stream header may carry */
#define NET_CONNECT_MS  500u           /* connect mode: retry period */
#define NET_RL_BURST    10u
#define NET_RL_MS       5000u

enum net_kind { NET_TAP, NET_STREAM };

/* Drop and event counters; all under net->lock. */
struct net_stats {
	uint64_t rx_frames, rx_bytes;      /* backend -> remote, delivered */
	uint64_t tx_frames, tx_bytes;      /* remote -> backend, written */
	uint64_t rx_zero, rx_runt, rx_oversize, rx_badlen, rx_smallbuf, rx_paused;
	uint64_t tx_zero, tx_runt, tx_oversize, tx_badhdr, tx_nolink, tx_err;
	uint64_t connects, disconnects, refused;
};

struct net {
	struct hvl_pmm *pmm;
	const struct hvl_logger *log;
	struct hvl_dev *dev;
	char name[HVL_PMM_DEV_NAME_MAX];
	enum net_kind kind;
	int listen_mode;                   /* stream: listen (1) or connect (0) */
	char path[HVL_PMM_OPT_VAL_MAX];    /* stream socket path */
	int own_path;                      /* we bound it: unlink at destroy */
	char ifname[IFNAMSIZ];
	uint16_t mtu;
	uint32_t max_frame;                /* MTU + 14 + 4 */
	uint32_t slot_size;                /* max_frame + 1: a longer TAP read is oversized */
	struct hvl_net_config config;      /* st->config; status kept current (device thread) */
	uint16_t link_published;           /* device thread only */
	int listen_fd, timer_fd;

	pthread_mutex_t lock;              /* everything below */
	int fd;                            /* TAP fd or the stream connection, -1 if none */
	uint32_t ev;                       /* events watched on fd (0: not watched) */
	int link;                          /* backend connected */
	/* Backend -> remote: complete frames waiting for receive buffers. */
	uint8_t *slots;                    /* NET_RX_SLOTS * slot_size */
	uint32_t slot_len[NET_RX_SLOTS];
	unsigned rx_head, rx_count;
	/* Stream parser: header bytes, then the body into the tail slot (or skipped). */
	uint8_t *rbuf;
	uint32_t roff, rlen;               /* unparsed bytes rbuf[roff..rlen) */
	uint8_t shdr[4];
	uint32_t shdr_got, body_len, body_got;
	int in_body, skipping;
	/* Remote -> backend: staged frames (with stream prefixes) being written. */
	uint8_t *tbuf;
	uint32_t tlen, toff;
	uint32_t tframes;                  /* frames in tbuf */
	struct hvl_chain txc, rxc;
	struct hvl_ratelimit rl;
	struct net_stats st;
};

/* Log "<device>: message" through the PMM's logger. */
void net_log(struct net *n, enum hvl_log_level lvl, const char *fmt, ...) HVL_PRINTF(3, 4);

/* Open the backend (create time, main thread): 0 or -errno after logging why. */
int net_setup_tap(struct net *n, const char *ifname);
int net_setup_stream(struct net *n, const char *path, int listen_mode);

/* Bring the fd's watch in line with what we want now (lock held, any thread). */
void net_sync_watch(struct net *n);

/* Drop the stream connection, link down (lock held, any thread). */
void net_disconnect(struct net *n, const char *why);

/* Close every fd of the backend (destroy, main thread). */
void net_close_all(struct net *n);

/* After the device thread freed slots: parse held stream bytes, resume reading (lock held). */
void net_rx_resume(struct net *n);

#endif /* HVL_PMM_DEVICES_NET_PRIV_H */
