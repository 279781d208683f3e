/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwIP netif driver over hvl/net.h (see hvl_lwip.h for the threading).
 */
#include <errno.h>
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"
#if LWIP_IPV6
#include "lwip/ethip6.h"
#endif

#include "hvl_lwip.h"

#define PUMP_BUDGET   32u   /* frames per locked batch: other lwIP users get the lock */
#define PUMP_SLEEP_MS 10u   /* bounded sleep: link changes are noticed this often */
#define LINK_POLL_MS  100u

/* Frames from the PMM into the stack (pump thread, core lock held). */
static void rx_frame(void *ctx, const uint8_t *frame, uint32_t len)
{
	struct hvl_lwip *l = ctx;
	struct pbuf *p;

	/*
	 * hvl_net delivers at most MTU + 18 bytes, well inside u16_t.  PBUF_RAM
	 * (one contiguous block), not PBUF_POOL: Debian's liblwip 2.1.3 sizes
	 * its pool blocks for a smaller TCP_MSS than its own lwipopts.h says,
	 * and pbuf_take() into a pool chain then overruns (found with valgrind).
	 */
	p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
	if (p == NULL) {
		l->in_nomem++;
		return;
	}
	if (pbuf_take(p, frame, (u16_t)len) != ERR_OK || l->netif.input(p, &l->netif) != ERR_OK) {
		pbuf_free(p);
		l->in_nomem++;
		return;
	}
	l->in_frames++;
}

/* Frames from the stack to the PMM (tcpip thread, core lock held). */
static err_t linkoutput(struct netif *nif, struct pbuf *p)
{
	struct hvl_lwip *l = nif->state;
	uint8_t *dst = NULL;
	uint32_t cap = 0;

	if (p->tot_len > hvl_net_max_frame(l->net)) {
		l->out_dropped++;
		return ERR_BUF;
	}
	/* A bounded wait for a free buffer, like a NIC's full transmit ring. */
	if (hvl_net_tx_reserve(l->net, &dst, &cap, l->tx_timeout_ms) != 0) {
		l->out_dropped++;
		return ERR_IF;
	}
	(void)pbuf_copy_partial(p, dst, p->tot_len, 0);
	if (hvl_net_tx_commit(l->net, p->tot_len) != 0) {
		l->out_dropped++;
		return ERR_IF;
	}
	l->out_frames++;
	return ERR_OK;
}

err_t hvl_lwip_netif_init(struct netif *nif)
{
	struct hvl_lwip *l = nif->state;

	nif->name[0] = 'h';
	nif->name[1] = 'v';
	nif->output = etharp_output;
#if LWIP_IPV6
	nif->output_ip6 = ethip6_output;
#endif
	nif->linkoutput = linkoutput;
	nif->mtu = hvl_net_mtu(l->net);
	nif->hwaddr_len = 6;
	hvl_net_mac(l->net, nif->hwaddr);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
	return ERR_OK;
}

/* Follow the device's link status (core lock held). */
static void link_sync(struct hvl_lwip *l)
{
	int up = hvl_net_link_up(l->net) == 1;

	if (up && !netif_is_link_up(&l->netif)) {
		netif_set_link_up(&l->netif);
		l->link_changes++;
	} else if (!up && netif_is_link_up(&l->netif)) {
		netif_set_link_down(&l->netif);
		l->link_changes++;
	}
}

static void *pump_main(void *arg)
{
	struct hvl_lwip *l = arg;
	uint64_t next_link = 0;

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		int n, armed = 0;

		LOCK_TCPIP_CORE();
		n = hvl_net_poll(l->net, PUMP_BUDGET);
		if (sys_now() >= next_link) {
			link_sync(l);
			next_link = sys_now() + LINK_POLL_MS;
		}
		/* Arm before sleeping; a frame that came meanwhile means no sleep. */
		if (n == 0)
			armed = hvl_net_rx_arm(l->net) == 0;
		UNLOCK_TCPIP_CORE();
		if (n < 0) {
			sys_msleep(PUMP_SLEEP_MS); /* broken device: the owner must reopen it */
			continue;
		}
		if (armed) {
			(void)hvl_remote_wait(l->net->vdev.r, PUMP_SLEEP_MS);
			LOCK_TCPIP_CORE();
			hvl_net_rx_disarm(l->net);
			UNLOCK_TCPIP_CORE();
		}
	}
	return NULL;
}

static void tcpip_ready(void *arg)
{
	sys_sem_t *sem = arg;

	sys_sem_signal(sem);
}

int hvl_lwip_start(struct hvl_lwip *l, struct hvl_net *net, const char *ip, const char *mask,
		   const char *gw)
{
	/*
	 * lwIP is one stack per process (its own globals); tcpip_init may run
	 * only once.  This flag is the one process-wide state of the glue.
	 */
	static int tcpip_started;
	ip4_addr_t a, m, g;
	sys_sem_t sem;

	memset(l, 0, sizeof(*l));
	l->net = net;
	l->tx_timeout_ms = 100;
	if (!ip4addr_aton(ip, &a) || !ip4addr_aton(mask, &m) || !ip4addr_aton(gw != NULL ? gw : "0.0.0.0", &g))
		return -EINVAL;
	if (!__atomic_exchange_n(&tcpip_started, 1, __ATOMIC_ACQ_REL)) {
		if (sys_sem_new(&sem, 0) != ERR_OK)
			return -ENOMEM;
		tcpip_init(tcpip_ready, &sem);
		sys_sem_wait(&sem);
		sys_sem_free(&sem);
	}
	hvl_net_set_rx_cb(net, rx_frame, l);
	LOCK_TCPIP_CORE();
	if (netif_add(&l->netif, &a, &m, &g, l, hvl_lwip_netif_init, ethernet_input) == NULL) {
		UNLOCK_TCPIP_CORE();
		return -ENODEV;
	}
	netif_set_default(&l->netif);
	netif_set_up(&l->netif);
	link_sync(l);
	UNLOCK_TCPIP_CORE();
	if (pthread_create(&l->pump, NULL, pump_main, l) != 0) {
		hvl_lwip_stop(l);
		return -EAGAIN;
	}
	l->pump_started = 1;
	return 0;
}

void hvl_lwip_get_stats(struct hvl_lwip *l, struct hvl_lwip_stats *s)
{
	/* Every counter is written by lwIP's callbacks or the pump, both under the core lock. */
	LOCK_TCPIP_CORE();
	s->in_frames = l->in_frames;
	s->in_nomem = l->in_nomem;
	s->out_frames = l->out_frames;
	s->out_dropped = l->out_dropped;
	s->link_changes = l->link_changes;
	s->echo_bytes = l->echo_bytes;
	s->echo_conns = l->echo_conns;
	UNLOCK_TCPIP_CORE();
}

void hvl_lwip_stop(struct hvl_lwip *l)
{
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	if (l->pump_started)
		(void)pthread_join(l->pump, NULL);
	l->pump_started = 0;
	LOCK_TCPIP_CORE();
	if (l->echo_listen != NULL) {
		(void)tcp_close(l->echo_listen);
		l->echo_listen = NULL;
	}
	if (l->mark_pcb != NULL) {
		udp_remove(l->mark_pcb);
		l->mark_pcb = NULL;
	}
	netif_set_down(&l->netif);
	netif_remove(&l->netif);
	UNLOCK_TCPIP_CORE();
	hvl_net_set_rx_cb(l->net, NULL, NULL);
}
