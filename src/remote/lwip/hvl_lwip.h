/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwIP over hvl-virtio's virtio-net (hvl/net.h), for the simulated remote.
 *
 * Debian's liblwip is built with NO_SYS=0 (its unix sys_arch: pthreads,
 * LWIP_TCPIP_CORE_LOCKING), so the raw API is used the way an RTOS port
 * with core locking uses it: the stack runs in lwIP's tcpip thread, and
 * every call into lwIP or into our netif from another thread holds the
 * core lock (LOCK_TCPIP_CORE).  The hvl_net instance is only touched with
 * that lock held, which is the serialisation hvl/net.h asks for.
 *
 * A pump thread moves received frames into the stack (hvl_net_poll ->
 * ethernet_input) and follows the link status; it sleeps on the region's
 * doorbell with receive interrupts armed.  Transmit (linkoutput) copies a
 * pbuf chain straight into a shared-memory transmit buffer.
 */
#ifndef HVL_LWIP_H
#define HVL_LWIP_H

#include <pthread.h>
#include <stdint.h>

#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "hvl/net.h"

struct hvl_lwip {
	struct netif netif;
	struct hvl_net *net;
	pthread_t pump;
	int pump_started;
	int stop;                       /* atomic: ask the pump to exit */
	uint32_t tx_timeout_ms;         /* linkoutput wait for a buffer */
	/* Counters (under the core lock). */
	uint64_t in_frames, in_nomem, out_frames, out_dropped, link_changes;
	/* Services (hvl_lwip_apps.c). */
	struct tcp_pcb *echo_listen;
	uint64_t echo_bytes, echo_conns;
	struct udp_pcb *mark_pcb;
	uint32_t marks;                 /* atomic: UDP datagrams seen on the mark port */
};

/*
 * Start lwIP's tcpip thread (once per process), add @net as the default
 * netif with IPv4 @ip/@mask/@gw (dotted quads), up, link as the device
 * reports it, and start the pump thread.  Returns 0 or a negative errno.
 */
int hvl_lwip_start(struct hvl_lwip *l, struct hvl_net *net, const char *ip, const char *mask,
		   const char *gw);

/* Stop the pump and remove the netif (the tcpip thread lives on). */
void hvl_lwip_stop(struct hvl_lwip *l);

/* The netif init function, for callers that netif_add() themselves (state = struct hvl_lwip). */
err_t hvl_lwip_netif_init(struct netif *nif);

/* A TCP echo service on @port (raw API).  Returns 0 or -ENOMEM/-EADDRINUSE. */
int hvl_lwip_echo_start(struct hvl_lwip *l, uint16_t port);

/* Count UDP datagrams to @port in l->marks (a "done" signal from a peer).  0 or -errno. */
int hvl_lwip_mark_start(struct hvl_lwip *l, uint16_t port);

/* UDP datagrams seen on the mark port so far. */
uint32_t hvl_lwip_marks(const struct hvl_lwip *l);

/* A consistent copy of the counters (taken under the core lock). */
struct hvl_lwip_stats {
	uint64_t in_frames, in_nomem, out_frames, out_dropped, link_changes, echo_bytes, echo_conns;
};
void hvl_lwip_get_stats(struct hvl_lwip *l, struct hvl_lwip_stats *s);

#endif /* HVL_LWIP_H */
