/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpmsg backend, Linux side: channels and the UNIX SOCK_SEQPACKET sockets
 * that stand for them in the configured directory (docs/CONFIG.md, option
 * dir; docs/PROTOCOL.md §10 "rpmsg").
 *
 *  - A channel the remote announces (name service, create) becomes a
 *    listening socket dir/NAME.  Each Linux program that connects gets a
 *    PMM-side rpmsg address of its own, so the remote answers each program
 *    by replying to the message's source, OpenAMP style.
 *  - A Linux program creates a channel by connecting to dir/.control and
 *    sending the name as its first packet; that connection then is the
 *    channel, announced to the remote (name service, create).  Closing it
 *    destroys the channel (name service, destroy).
 *  - Either side's destroy removes the channel: remote channels lose their
 *    socket file and connected programs see EOF; a Linux channel whose
 *    remote endpoint is destroyed is closed.
 *
 * All of it runs on the device thread (rpmsg_priv.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rpmsg_priv.h"

#define RP_ACCEPT_MAX 64u   /* accepts per hint, then re-arm (bounded) */

int rp_name_ok(const char *name)
{
	size_t i, n = strnlen(name, HVL_RPMSG_NAME_SIZE);

	/* A plain file name in dir: no '/', no dot files (.control is ours). */
	if (n == 0 || n >= HVL_RPMSG_NAME_SIZE || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-' || ch == '+' || ch == ':' || ch == '@'))
			return 0;
	}
	return 1;
}

/* Main-thread callback: note the events, wake the device thread. */
static void rp_fd_cb(void *arg, uint32_t events)
{
	struct rp_slot *s = arg;

	__atomic_fetch_or(&s->hint, events, __ATOMIC_RELEASE);
	__atomic_store_n(&s->rp->hint_any, 1u, __ATOMIC_RELEASE);
	hvl_dev_kick(s->rp->dev);
}

void rp_set_ready(struct rp *rp, struct rp_slot *s, int ready)
{
	uint8_t v = ready ? 1 : 0;

	if (s->rd_ready == v)
		return;
	s->rd_ready = v;
	if (v)
		rp->nready++;
	else if (rp->nready > 0)
		rp->nready--;
}

void rp_slot_arm(struct rp *rp, struct rp_slot *s)
{
	uint32_t want = 0;
	int rc;

	if (s->fd < 0)
		return;
	if (s->kind == RS_LISTEN || s->kind == RS_CTRL_LISTEN) {
		want = EPOLLIN;
	} else {
		if (!s->rd_ready)
			want |= EPOLLIN | EPOLLRDHUP;
		if (s->want_out)
			want |= EPOLLOUT;
	}
	if (want == 0 || (s->armed && s->armed_ev == want))
		return;
	if (!s->watched) {
		rc = hvl_pmm_watch(rp->pmm, s->fd, want | EPOLLONESHOT, rp_fd_cb, s);
		if (rc != 0) {
			rp_log(rp, HVL_LOG_WARN, 1, "watching fd %d: %s", s->fd, strerror(-rc));
			return;
		}
		s->watched = 1;
	} else if (hvl_pmm_rewatch(rp->pmm, s->fd, want | EPOLLONESHOT) != 0) {
		return;
	}
	s->armed = 1;
	s->armed_ev = want;
}

/* A free slot for @fd of @kind, or NULL.  Its address changes with every reuse. */
static struct rp_slot *slot_alloc(struct rp *rp, int fd, enum rp_slot_kind kind, int chan)
{
	unsigned i;

	for (i = 0; i < rp->nslots; i++) {
		struct rp_slot *s = &rp->slot[i];

		if (s->kind != RS_FREE)
			continue;
		s->fd = fd;
		s->kind = (uint8_t)kind;
		s->armed = s->watched = s->want_out = 0;
		s->armed_ev = 0;
		s->gen++;
		s->chan = chan;
		s->local = (kind == RS_CLIENT || kind == RS_HOST || kind == RS_CTRL_PENDING)
			? HVL_RPMSG_RESERVED_ADDRS + i + RP_ADDR_STRIDE * (uint32_t)(s->gen % 1024u)
			: 0;
		rp_set_ready(rp, s, 0);
		return s;
	}
	return NULL;
}

struct rp_slot *rp_slot_by_addr(struct rp *rp, uint32_t addr)
{
	struct rp_slot *s;
	uint32_t idx;

	if (addr < HVL_RPMSG_RESERVED_ADDRS || addr == HVL_RPMSG_ADDR_ANY)
		return NULL;
	idx = (addr - HVL_RPMSG_RESERVED_ADDRS) % RP_ADDR_STRIDE;
	if (idx >= rp->nslots)
		return NULL;
	s = &rp->slot[idx];
	if (s->local != addr || (s->kind != RS_CLIENT && s->kind != RS_HOST))
		return NULL;
	return s;
}

static int chan_by_name(struct rp *rp, const char *name)
{
	unsigned i;

	for (i = 0; i < rp->nchan; i++)
		if (rp->chan[i].kind != RC_FREE && strcmp(rp->chan[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A free channel entry counted against max_channels, or -1 (the flood bound). */
static int chan_alloc(struct rp *rp)
{
	unsigned i;

	if (rp->nchan_used >= rp->max_channels)
		return -1;
	for (i = 0; i < rp->nchan; i++) {
		if (rp->chan[i].kind == RC_FREE) {
			memset(&rp->chan[i], 0, sizeof(rp->chan[i]));
			rp->chan[i].slot = -1;
			rp->chan[i].remote = HVL_RPMSG_ADDR_ANY;
			rp->nchan_used++;
			return (int)i;
		}
	}
	return -1;
}

static void chan_free(struct rp *rp, int ci)
{
	if (rp->chan[ci].kind == RC_FREE)
		return;
	rp->chan[ci].kind = RC_FREE;
	rp->chan[ci].name[0] = '\0';
	if (rp->nchan_used > 0)
		rp->nchan_used--;
}

int rp_nsq_push(struct rp *rp, const char *name, uint32_t addr, uint32_t flags)
{
	struct rp_ns_out *o;

	if (rp->nsq_len >= rp->nsq_cap)
		return -ENOSPC;
	o = &rp->nsq[(rp->nsq_head + rp->nsq_len) % rp->nsq_cap];
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->addr = addr;
	o->flags = flags;
	rp->nsq_len++;
	hvl_dev_kick(rp->dev);
	return 0;
}

static void chan_path(const struct rp *rp, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", rp->dir, name);
}

/* Bind and listen on a SOCK_SEQPACKET socket at @path (a stale socket file is replaced). */
static int listen_at(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST; /* never remove what is not a socket */
		(void)unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, RP_LISTEN_BACKLOG) != 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* Release @s's fd and the slot (no channel bookkeeping). */
static void slot_release(struct rp *rp, struct rp_slot *s)
{
	if (s->fd >= 0) {
		if (s->watched)
			hvl_pmm_unwatch(rp->pmm, s->fd);
		close(s->fd);
	}
	if (rp->tx_wait_slot == (int)(s - rp->slot)) {
		/* The held message's destination is gone: retry (and drop) it soon. */
		rp->tx_wait_slot = -1;
		hvl_dev_kick(rp->dev);
	}
	s->fd = -1;
	s->kind = RS_FREE;
	s->watched = s->armed = s->want_out = 0;
	s->local = 0;
	s->chan = -1;
	rp_set_ready(rp, s, 0);
}

/* Close a host channel's connection; @announce: tell the remote it is gone. */
static void host_close(struct rp *rp, struct rp_slot *s, int announce)
{
	int ci = s->chan;

	if (ci >= 0 && rp->chan[ci].kind == RC_HOST) {
		if (announce && rp->chan[ci].announced &&
		    rp_nsq_push(rp, rp->chan[ci].name, rp->chan[ci].local, HVL_RPMSG_NS_DESTROY) == 0)
			rp->ns_destroyed++;
		chan_free(rp, ci);
	}
	slot_release(rp, s);
}

void rp_slot_close(struct rp *rp, struct rp_slot *s, const char *why)
{
	int ci = s->chan;

	rp_log(rp, HVL_LOG_INFO, 0, "%s %s closed: %s",
	       s->kind == RS_HOST ? "channel" : "client of",
	       ci >= 0 ? rp->chan[ci].name : "(pending)", why);
	if (s->kind == RS_HOST) {
		host_close(rp, s, 1);
		return;
	}
	if (s->kind == RS_CLIENT && ci >= 0 && rp->chan[ci].clients > 0)
		rp->chan[ci].clients--;
	slot_release(rp, s);
}

/* Remove a remote channel: its clients see EOF, its socket file goes. */
static void remote_chan_destroy(struct rp *rp, int ci)
{
	char path[sizeof(rp->dir) + HVL_RPMSG_NAME_SIZE + 2];
	unsigned i;

	for (i = 0; i < rp->nslots; i++) {
		struct rp_slot *s = &rp->slot[i];

		if ((s->kind == RS_CLIENT || s->kind == RS_LISTEN) && s->chan == ci)
			slot_release(rp, s);
	}
	chan_path(rp, rp->chan[ci].name, path, sizeof(path));
	(void)unlink(path);
	chan_free(rp, ci);
}

/* Accept what waits on a listening slot (bounded), then re-arm it. */
static void accept_all(struct rp *rp, struct rp_slot *ls)
{
	unsigned n;

	for (n = 0; n < RP_ACCEPT_MAX; n++) {
		struct rp_slot *s;
		int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break; /* EAGAIN, or an aborted connection: nothing to do */
		s = slot_alloc(rp, fd, ls->kind == RS_LISTEN ? RS_CLIENT : RS_CTRL_PENDING,
			       ls->kind == RS_LISTEN ? ls->chan : -1);
		if (s == NULL) {
			rp->refused_clients++;
			rp_log(rp, HVL_LOG_WARN, 1, "too many connections: one refused");
			close(fd);
			continue;
		}
		if (s->kind == RS_CLIENT)
			rp->chan[s->chan].clients++;
		rp->clients++;
		rp_set_ready(rp, s, 1); /* it may have written already */
	}
	rp_slot_arm(rp, ls);
}

void rp_sock_hints(struct rp *rp)
{
	unsigned i;

	if (__atomic_exchange_n(&rp->hint_any, 0u, __ATOMIC_ACQ_REL) == 0u)
		return;
	for (i = 0; i < rp->nslots; i++) {
		struct rp_slot *s = &rp->slot[i];
		uint32_t h = __atomic_exchange_n(&s->hint, 0u, __ATOMIC_ACQ_REL);

		if (h == 0 || s->fd < 0)
			continue;
		/* EPOLLONESHOT: this event disarmed the fd. */
		s->armed = 0;
		if (s->kind == RS_LISTEN || s->kind == RS_CTRL_LISTEN) {
			accept_all(rp, s);
			continue;
		}
		if (h & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			rp_set_ready(rp, s, 1);
		if (h & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			s->want_out = 0; /* the held message is retried */
		rp_slot_arm(rp, s);
	}
}

/* A name-service create from the remote: a listening socket dir/NAME. */
static void ns_create(struct rp *rp, const struct rp_ns_out *ns)
{
	char path[sizeof(rp->dir) + HVL_RPMSG_NAME_SIZE + 2];
	struct rp_slot *s;
	int ci, fd;

	if (chan_by_name(rp, ns->name) >= 0) {
		rp->ns_refused++;
		rp_log(rp, HVL_LOG_WARN, 1, "name service: channel '%s' exists: announcement dropped",
		       ns->name);
		return;
	}
	ci = chan_alloc(rp);
	if (ci < 0) {
		rp->ns_refused++;
		rp_log(rp, HVL_LOG_WARN, 1, "name service: %u channels (max_channels): '%s' dropped",
		       rp->nchan_used, ns->name);
		return;
	}
	chan_path(rp, ns->name, path, sizeof(path));
	fd = listen_at(path);
	if (fd < 0) {
		chan_free(rp, ci);
		rp->ns_refused++;
		rp_log(rp, HVL_LOG_WARN, 1, "name service: socket %s: %s", path, strerror(-fd));
		return;
	}
	s = slot_alloc(rp, fd, RS_LISTEN, ci);
	if (s == NULL) {
		close(fd);
		(void)unlink(path);
		chan_free(rp, ci);
		rp->ns_refused++;
		return;
	}
	rp->chan[ci].kind = RC_REMOTE;
	snprintf(rp->chan[ci].name, sizeof(rp->chan[ci].name), "%s", ns->name);
	rp->chan[ci].remote = ns->addr;
	rp->chan[ci].slot = (int)(s - rp->slot);
	rp->ns_created++;
	rp_slot_arm(rp, s);
	rp_log(rp, HVL_LOG_INFO, 0, "channel '%s' (remote address %u) at %s", ns->name, ns->addr, path);
}

void rp_ns_from_remote(struct rp *rp, const struct rp_ns_out *ns)
{
	int ci;

	if (!rp_name_ok(ns->name) || ns->addr == HVL_RPMSG_NS_ADDR || ns->addr == HVL_RPMSG_ADDR_ANY) {
		rp->drop_ns++;
		rp_log(rp, HVL_LOG_WARN, 1, "name service: bad name or address (%u): dropped", ns->addr);
		return;
	}
	if (ns->flags == HVL_RPMSG_NS_CREATE) {
		ns_create(rp, ns);
		return;
	}
	ci = chan_by_name(rp, ns->name);
	if (ci >= 0 && rp->chan[ci].kind == RC_REMOTE && rp->chan[ci].remote == ns->addr) {
		rp_log(rp, HVL_LOG_INFO, 0, "channel '%s' destroyed by the remote", ns->name);
		remote_chan_destroy(rp, ci);
		rp->ns_destroyed++;
	} else if (ci >= 0 && rp->chan[ci].kind == RC_HOST && rp->chan[ci].slot >= 0) {
		/* The remote unbound from a Linux channel: the program sees EOF. */
		rp_log(rp, HVL_LOG_INFO, 0, "channel '%s': the remote endpoint was destroyed", ns->name);
		host_close(rp, &rp->slot[rp->chan[ci].slot], 0);
		rp->ns_destroyed++;
	} else {
		rp->drop_ns++;
		rp_log(rp, HVL_LOG_WARN, 1, "name service: destroy of unknown channel '%s' dropped",
		       ns->name);
	}
}

/* The first packet on a .control connection names a new channel. */
const char *rp_ctrl_name(struct rp *rp, struct rp_slot *s, const char *name)
{
	int ci;

	if (!rp_name_ok(name))
		return "bad channel name";
	if (chan_by_name(rp, name) >= 0)
		return "channel name in use";
	ci = chan_alloc(rp);
	if (ci < 0)
		return "too many channels";
	rp->chan[ci].kind = RC_HOST;
	snprintf(rp->chan[ci].name, sizeof(rp->chan[ci].name), "%s", name);
	rp->chan[ci].local = s->local;
	rp->chan[ci].slot = (int)(s - rp->slot);
	s->kind = RS_HOST;
	s->chan = ci;
	if (hvl_dev_live(rp->dev) && (rp->dev->features & HVL_RPMSG_F_NS) != 0) {
		if (rp_nsq_push(rp, name, s->local, HVL_RPMSG_NS_CREATE) != 0) {
			chan_free(rp, ci);
			s->kind = RS_CTRL_PENDING;
			s->chan = -1;
			return "announcement queue full";
		}
		rp->chan[ci].announced = 1;
		rp->ns_created++;
	}
	rp_log(rp, HVL_LOG_INFO, 0, "channel '%s' created by a Linux program (address %u)", name,
	       s->local);
	return NULL;
}

void rp_sock_reset(struct rp *rp)
{
	unsigned i;

	for (i = 0; i < rp->nchan; i++) {
		struct rp_chan *c = &rp->chan[i];

		if (c->kind == RC_REMOTE) {
			remote_chan_destroy(rp, (int)i);
		} else if (c->kind != RC_FREE) {
			/* Announced again after the next DRIVER_OK; the remote's address is gone. */
			c->announced = 0;
			c->remote = HVL_RPMSG_ADDR_ANY;
		}
	}
	rp->nsq_head = rp->nsq_len = 0;
}

/* Announce our channels (Linux and built-in) after DRIVER_OK. */
void rp_sock_announce_all(struct rp *rp)
{
	unsigned i;

	if ((rp->dev->features & HVL_RPMSG_F_NS) == 0)
		return;
	for (i = 0; i < rp->nchan; i++) {
		struct rp_chan *c = &rp->chan[i];

		if (c->kind == RC_FREE || c->kind == RC_REMOTE || c->announced)
			continue;
		if (rp_nsq_push(rp, c->name, c->local, HVL_RPMSG_NS_CREATE) == 0) {
			c->announced = 1;
			rp->ns_created++;
		}
	}
}

static int builtin_add(struct rp *rp, const char *name, enum rp_chan_kind kind, uint32_t addr)
{
	int ci = chan_alloc(rp);

	if (ci < 0)
		return -ENOSPC;
	rp->chan[ci].kind = (uint8_t)kind;
	snprintf(rp->chan[ci].name, sizeof(rp->chan[ci].name), "%s", name);
	rp->chan[ci].local = addr;
	return 0;
}

int rp_sock_setup(struct rp *rp, int builtin)
{
	char path[sizeof(rp->dir) + HVL_RPMSG_NAME_SIZE + 2];
	struct sockaddr_un sa;
	struct rp_slot *s;
	int fd;

	if (strlen(rp->dir) + 1 + HVL_RPMSG_NAME_SIZE > sizeof(sa.sun_path)) {
		rp_log(rp, HVL_LOG_ERROR, 0, "dir %s is too long for socket names (max %zu chars)",
		       rp->dir, sizeof(sa.sun_path) - 1 - HVL_RPMSG_NAME_SIZE);
		return -ENAMETOOLONG;
	}
	if (mkdir(rp->dir, 0755) == 0)
		rp->dir_made = 1;
	else if (errno != EEXIST) {
		rp_log(rp, HVL_LOG_ERROR, 0, "mkdir %s: %s", rp->dir, strerror(errno));
		return -errno;
	}
	chan_path(rp, RP_CONTROL_NAME, path, sizeof(path));
	fd = listen_at(path);
	if (fd < 0) {
		rp_log(rp, HVL_LOG_ERROR, 0, "control socket %s: %s", path, strerror(-fd));
		return fd;
	}
	s = slot_alloc(rp, fd, RS_CTRL_LISTEN, -1);
	if (s == NULL) {
		close(fd);
		return -ENOSPC;
	}
	rp_slot_arm(rp, s);
	if (builtin) {
		/* Above every slot address (slots < RP_ADDR_STRIDE - 2), generation 0. */
		rp->echo_addr = HVL_RPMSG_RESERVED_ADDRS + RP_ADDR_STRIDE - 1u;
		rp->sink_addr = HVL_RPMSG_RESERVED_ADDRS + RP_ADDR_STRIDE - 2u;
		if (builtin_add(rp, RP_BUILTIN_ECHO, RC_ECHO, rp->echo_addr) != 0 ||
		    builtin_add(rp, RP_BUILTIN_SINK, RC_SINK, rp->sink_addr) != 0)
			return -ENOSPC;
	}
	return 0;
}

void rp_sock_destroy(struct rp *rp)
{
	char path[sizeof(rp->dir) + HVL_RPMSG_NAME_SIZE + 2];
	unsigned i;

	if (rp->slot == NULL)
		return;
	for (i = 0; i < rp->nslots; i++) {
		struct rp_slot *s = &rp->slot[i];

		if (s->kind == RS_LISTEN && s->chan >= 0) {
			chan_path(rp, rp->chan[s->chan].name, path, sizeof(path));
			(void)unlink(path);
		} else if (s->kind == RS_CTRL_LISTEN) {
			chan_path(rp, RP_CONTROL_NAME, path, sizeof(path));
			(void)unlink(path);
		}
		if (s->kind != RS_FREE)
			slot_release(rp, s);
	}
	if (rp->dir_made)
		(void)rmdir(rp->dir); /* only if empty: never remove what others put there */
}
