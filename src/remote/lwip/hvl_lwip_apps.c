/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two small lwIP raw-API services for the simulated remote's demo and
 * tests: a TCP echo (RFC 862 style) and a UDP port whose datagrams are
 * only counted (a peer's "done" signal).  Callbacks run in the tcpip
 * thread; the start functions take the core lock.
 */
#include <errno.h>

#include "lwip/tcpip.h"

#include "hvl_lwip.h"

/* Echo what arrives; if the send buffer cannot take all of it, refuse it for now. */
static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct hvl_lwip *l = arg;
	struct pbuf *q;

	if (p == NULL) {
		/* The peer closed: close our side too. */
		tcp_arg(pcb, NULL);
		tcp_recv(pcb, NULL);
		if (tcp_close(pcb) != ERR_OK)
			tcp_abort(pcb);
		return ERR_OK;
	}
	if (err != ERR_OK) {
		pbuf_free(p);
		return err;
	}
	/*
	 * Returning ERR_MEM without freeing hands the data back to lwIP, which
	 * offers it again later (refused data): nothing is lost, the window
	 * closes meanwhile, which is TCP's own flow control.
	 */
	if (tcp_sndbuf(pcb) < p->tot_len || tcp_sndqueuelen(pcb) + pbuf_clen(p) > TCP_SND_QUEUELEN)
		return ERR_MEM;
	for (q = p; q != NULL; q = q->next) {
		if (tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK) {
			/* Checked above; if lwIP still says no, the stream is cut: abort. */
			pbuf_free(p);
			tcp_abort(pcb);
			return ERR_ABRT;
		}
	}
	if (l != NULL)
		l->echo_bytes += p->tot_len;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	(void)tcp_output(pcb);
	return ERR_OK;
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct hvl_lwip *l = arg;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	if (l != NULL)
		l->echo_conns++;
	tcp_arg(pcb, l);
	tcp_recv(pcb, echo_recv);
	return ERR_OK;
}

int hvl_lwip_echo_start(struct hvl_lwip *l, uint16_t port)
{
	struct tcp_pcb *pcb, *lpcb;
	int rc = 0;

	LOCK_TCPIP_CORE();
	pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (pcb == NULL) {
		rc = -ENOMEM;
	} else if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		tcp_close(pcb);
		rc = -EADDRINUSE;
	} else {
		lpcb = tcp_listen(pcb);
		if (lpcb == NULL) {
			tcp_close(pcb);
			rc = -ENOMEM;
		} else {
			tcp_arg(lpcb, l);
			tcp_accept(lpcb, echo_accept);
			l->echo_listen = lpcb;
		}
	}
	UNLOCK_TCPIP_CORE();
	return rc;
}

static void mark_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
	struct hvl_lwip *l = arg;

	(void)pcb;
	(void)addr;
	(void)port;
	__atomic_add_fetch(&l->marks, 1u, __ATOMIC_RELEASE);
	pbuf_free(p);
}

int hvl_lwip_mark_start(struct hvl_lwip *l, uint16_t port)
{
	int rc = 0;

	LOCK_TCPIP_CORE();
	l->mark_pcb = udp_new_ip_type(IPADDR_TYPE_V4);
	if (l->mark_pcb == NULL) {
		rc = -ENOMEM;
	} else if (udp_bind(l->mark_pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		udp_remove(l->mark_pcb);
		l->mark_pcb = NULL;
		rc = -EADDRINUSE;
	} else {
		udp_recv(l->mark_pcb, mark_recv, l);
	}
	UNLOCK_TCPIP_CORE();
	return rc;
}

uint32_t hvl_lwip_marks(const struct hvl_lwip *l)
{
	return __atomic_load_n(&l->marks, __ATOMIC_ACQUIRE);
}
