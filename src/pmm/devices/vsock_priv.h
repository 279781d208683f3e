/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the vsock backend (vsock.c: configuration and the remote's
 * packets; vsock_rx.c: packets to the remote and events; vsock_host.c: the
 * Linux UNIX-socket side).  See vsock.c for the
 * design and docs/PROTOCOL.md "vsock" for the wire rules.
 */
#ifndef HVL_PMM_DEVICES_VSOCK_PRIV_H
#define HVL_PMM_DEVICES_VSOCK_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "../pmm.h"
#include "hvl/wire/vsock.h"

#define VS_MAX_PORT_MAP     8u            /* port.P keys */
#define VS_DEFAULT_MAX_CONN 256u
#define VS_MAX_MAX_CONN     2048u
#define VS_DEFAULT_BUF      (64u * 1024u) /* buffered bytes per connection and direction */
#define VS_MIN_BUF          4096u
#define VS_MAX_BUF          (4u * 1024u * 1024u)
#define VS_LINE_MAX         32u           /* "CONNECT <port>\n" */
#define VS_LINE_EXTRA       64u           /* room for the OK/ERR line in front of the data */
#define VS_RST_RING         256u          /* queued RST replies; more are dropped and counted */
#define VS_CONNECT_MS       5000u         /* remote must answer a CONNECT within this */
#define VS_HOST_PORT_BASE   0x40000000u   /* host ports handed to CONNECT clients */
#define VS_BUDGET           256u          /* chains per call, then yield */
#define VS_IOV_MIN          1024u
#define VS_RL_BURST         10u
#define VS_RL_MS            5000u

enum vs_state {
	VS_FREE = 0,
	VS_LINE,        /* a Linux client of the listener; reading its CONNECT line */
	VS_CONNECTING,  /* REQUEST sent (or to send) to the remote, waiting for RESPONSE */
	VS_ESTABLISHED,
};

/* Pending control packets toward the remote (bits of vs_conn.pend). */
#define VS_PEND_REQUEST  1u
#define VS_PEND_RESPONSE 2u
#define VS_PEND_CREDIT   4u
#define VS_PEND_SHUTDOWN 8u

struct vs;

/* One connection between a remote port and a Linux UNIX socket. */
struct vs_conn {
	struct vs *vs;
	unsigned idx;
	enum vs_state state;
	int fd;
	uint32_t ev;              /* events watched */
	uint8_t watched;
	uint32_t host_port;       /* the host-side (CID 2) port */
	uint32_t remote_port;     /* the remote's port */
	uint32_t pend;            /* VS_PEND_* */
	uint64_t deadline_ms;     /* VS_CONNECTING from a CONNECT client */
	uint8_t *mem;             /* rbuf and hbuf, one allocation per connection */
	/* remote -> Linux: bytes the socket did not take yet. */
	uint8_t *rbuf;
	uint32_t rcap, rhead, rcount;
	uint32_t rx_cnt;          /* payload bytes received from the remote (mod 2^32) */
	uint32_t fwd_cnt;         /* of them, written to the Linux socket: our fwd_cnt */
	uint32_t fwd_adv;         /* fwd_cnt last told to the remote */
	uint32_t rline;           /* bytes of rbuf that are our OK/ERR line, not remote data */
	/* Linux -> remote: bytes read from the socket, not sent yet. */
	uint8_t *hbuf;
	uint32_t hcap, hhead, hcount;
	uint32_t tx_cnt;          /* payload bytes sent to the remote (mod 2^32) */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint8_t host_eof;         /* the Linux side sent EOF */
	uint8_t eof_sent;         /* SHUTDOWN(SEND) sent to the remote */
	uint8_t remote_eof;       /* the remote sent SHUTDOWN(SEND) */
	uint8_t remote_norcv;     /* the remote sent SHUTDOWN(RCV) */
	uint8_t wr_shut;          /* shutdown(SHUT_WR) done on the Linux socket */
	uint8_t close_after_flush;/* refused CONNECT: close once the ERR line is out */
};

struct vs_port_map {
	uint32_t port;
	char path[HVL_PMM_OPT_VAL_MAX];
};

struct vs_rst {
	uint32_t host_port, remote_port;
};

struct vs {
	struct hvl_pmm *pmm;
	const struct hvl_logger *log;
	struct hvl_dev *dev;
	char name[HVL_PMM_DEV_NAME_MAX];
	uint64_t cid;
	struct hvl_vsock_config config;
	char listen_path[HVL_PMM_OPT_VAL_MAX];
	char prefix[HVL_PMM_OPT_VAL_MAX];
	struct vs_port_map map[VS_MAX_PORT_MAP];
	unsigned nmap;
	unsigned max_conn;
	uint32_t buf_size;
	int listen_fd;

	pthread_mutex_t lock;     /* everything below */
	struct vs_conn *conn;     /* max_conn entries */
	unsigned hiwater;         /* conn[hiwater..] are all free */
	unsigned nconn;
	unsigned cursor;          /* round robin for the receiveq */
	uint32_t next_host_port;
	struct vs_rst rst[VS_RST_RING];
	unsigned rst_head, rst_count;
	uint8_t rx_held;          /* rxc popped but not filled yet */
	uint8_t event_pending;    /* transport reset to deliver (§5.10.6.7) */
	uint8_t started_once;
	struct hvl_chain txc, rxc, evc;
	struct hvl_ratelimit rl;
	uint64_t last_tick_ms;
	/* Statistics. */
	uint64_t pkts_in, pkts_out, bytes_in, bytes_out, conns_in, conns_out;
	uint64_t bad_len, bad_op, bad_type, bad_cid, bad_credit, unknown_port, unknown_conn;
	uint64_t refused_full, rst_dropped, events;
};

void vs_log(struct vs *v, enum hvl_log_level lvl, const char *fmt, ...) HVL_PRINTF(3, 4);

/* Device -> remote (vsock_rx.c), device thread, taking v->lock: fill receiveq / eventq chains. */
void vs_rx(struct hvl_dev *d);
void vs_ev(struct hvl_dev *d);

/* Host side (vsock_host.c); all with v->lock held unless noted. */
struct vs_conn *vs_conn_alloc(struct vs *v);
/* Release a connection; @rst queues an RST to the remote. */
void vs_conn_close(struct vs_conn *c, int rst);
/* Queue an RST for a (host, remote) port pair; counted when the ring is full. */
void vs_queue_rst(struct vs *v, uint32_t host_port, uint32_t remote_port);
/* Bring the main loop's watch of @c in line with its buffers and state. */
void vs_conn_sync(struct vs_conn *c);
/* Write rbuf out to the Linux socket; may close @c (returns 0 then). */
int vs_conn_flush(struct vs_conn *c);
/* The remote asked for host port @port: connect a UNIX socket for it.  Returns fd or -errno. */
int vs_host_connect(struct vs *v, uint32_t port);
/* Open the CONNECT listener (create time, no lock). */
int vs_listen_open(struct vs *v);
/* Close every connection, the listener (destroy time). */
void vs_host_close_all(struct vs *v);
/* The remote answered our REQUEST: tell the CONNECT client "OK <port>" or "ERR ...". */
void vs_client_answer(struct vs_conn *c, int ok);
/* Maybe finish a connection whose both directions are done; returns 1 if closed. */
int vs_conn_maybe_done(struct vs_conn *c);

#endif /* HVL_PMM_DEVICES_VSOCK_PRIV_H */
