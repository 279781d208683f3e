/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The remote 9P client's pipelined reads and writes against a scripted
 * server (a thread on the other end of a socketpair, keeping one file in
 * memory), for what a real server does not do on demand:
 *
 *   - answers out of order (held requests answered last first);
 *   - a full disk in the middle of a write: one piece cut short, the ones
 *     after it refused with ENOSPC; or refused right at a piece boundary;
 *   - end of file and a read error in the middle of a pipelined read;
 *   - malformed streams: an answer repeated (duplicate tag), an answer with
 *     a tag no request has: the call stops there, the transport refuses
 *     everything after (-EIO).
 *
 * Pieces are small (msize 8 KiB + 24) so that a call spans many of them.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/9p.h"
#include "p9_suite.h"

#define PIECE   8192u
#define MSIZE   (PIECE + 24u)
#define FMAX    (64u * PIECE)
#define HOLD_MS 30

struct srv {
	int fd;
	pthread_t th;
	uint8_t file[FMAX];
	atomic_uint size;
	atomic_int reorder;      /* hold up to 4 I/O requests, answer the last first */
	atomic_uint limit;       /* writes end here: short, then ENOSPC (0 = none) */
	atomic_uint eio_at;      /* a read starting at or past this offset: EIO (0 = none) */
	atomic_int dup;          /* repeat the first I/O answer */
	atomic_int badtag;       /* answer the first I/O request with a tag nobody used */
	atomic_uint reordered;   /* answers sent out of order */
	uint8_t held[4][MSIZE + 64];
	uint32_t held_len[4];
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int full(int fd, uint8_t *b, size_t n, int wr)
{
	size_t d = 0;

	while (d < n) {
		ssize_t k = wr ? send(fd, b + d, n - d, MSG_NOSIGNAL) : recv(fd, b + d, n - d, 0);

		if (k <= 0)
			return -1;
		d += (size_t)k;
	}
	return 0;
}

/* Build the answer to one T-message @m into @r; returns its length (0: no answer). */
static uint32_t serve(struct srv *s, const uint8_t *m, uint8_t *r)
{
	uint8_t type = m[4];
	uint16_t tag = (uint16_t)(m[5] | m[6] << 8);
	uint32_t body = 0, count, size = atomic_load(&s->size);
	uint64_t off;

	memset(r + 7, 0, 20);
	switch (type) {
	case HVL_9P_TVERSION:
		put(r + 7, MSIZE, 4);
		put(r + 11, 8, 2);
		memcpy(r + 13, "9P2000.L", 8);
		body = 14;
		break;
	case HVL_9P_TATTACH:
		body = 13;
		break;
	case HVL_9P_TWALK: {
		uint16_t n = (uint16_t)(m[15] | m[16] << 8);

		put(r + 7, n, 2);
		memset(r + 9, 0, 13u * n);
		body = 2u + 13u * n;
		break;
	}
	case HVL_9P_TLOPEN:
	case HVL_9P_TLCREATE:
		body = 17;
		break;
	case HVL_9P_TCLUNK:
		break;
	case HVL_9P_TREAD:
		off = get32(m + 11) | (uint64_t)get32(m + 15) << 32;
		count = get32(m + 19);
		if (atomic_load(&s->eio_at) != 0 && off >= atomic_load(&s->eio_at)) {
			put(r + 7, 5, 4); /* EIO */
			type = HVL_9P_RLERROR - 1;
			body = 4;
			break;
		}
		if (off >= size)
			count = 0;
		else if (count > size - off)
			count = (uint32_t)(size - off);
		put(r + 7, count, 4);
		memcpy(r + 11, s->file + off, count);
		body = 4 + count;
		break;
	case HVL_9P_TWRITE: {
		uint32_t lim = atomic_load(&s->limit);

		off = get32(m + 11) | (uint64_t)get32(m + 15) << 32;
		count = get32(m + 19);
		if (lim == 0 || lim > FMAX)
			lim = FMAX;
		if (off >= lim) {
			put(r + 7, 28, 4); /* ENOSPC */
			type = HVL_9P_RLERROR - 1;
			body = 4;
			break;
		}
		if (count > lim - off)
			count = (uint32_t)(lim - off);
		memcpy(s->file + off, m + 23, count);
		if (off + count > size)
			atomic_store(&s->size, (unsigned)(off + count));
		put(r + 7, count, 4);
		body = 4;
		break;
	}
	default:
		put(r + 7, 95, 4); /* EOPNOTSUPP */
		type = HVL_9P_RLERROR - 1;
		body = 4;
		break;
	}
	put(r, 7u + body, 4);
	r[4] = (uint8_t)(type + 1);
	put(r + 5, tag, 2);
	return 7u + body;
}

static void *srv_main(void *arg)
{
	static uint8_t m[MSIZE + 64], r[MSIZE + 64];
	struct srv *s = arg;
	unsigned nheld = 0, i, first_io = 1;

	for (;;) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		uint32_t len;
		int io;

		/* Held answers go out (last first) once the client has nothing more to send. */
		if (nheld > 0 && (nheld == 4 || poll(&p, 1, HOLD_MS) == 0)) {
			for (i = nheld; i > 0; i--)
				if (full(s->fd, s->held[i - 1], s->held_len[i - 1], 1) != 0)
					return NULL;
			if (nheld > 1)
				atomic_fetch_add(&s->reordered, nheld - 1);
			nheld = 0;
			continue;
		}
		if (full(s->fd, m, 4, 0) != 0)
			return NULL;
		len = get32(m);
		if (len < 7 || len > sizeof(m) || full(s->fd, m + 4, len - 4, 0) != 0)
			return NULL;
		io = m[4] == HVL_9P_TREAD || m[4] == HVL_9P_TWRITE;
		if (io && atomic_load(&s->reorder)) {
			s->held_len[nheld] = serve(s, m, s->held[nheld]);
			nheld++;
			continue;
		}
		len = serve(s, m, r);
		if (io && first_io && atomic_load(&s->badtag)) {
			put(r + 5, (uint16_t)(r[5] | r[6] << 8) + 1000u, 2);
		}
		if (full(s->fd, r, len, 1) != 0)
			return NULL;
		if (io && first_io && atomic_load(&s->dup) && full(s->fd, r, len, 1) != 0)
			return NULL;
		if (io)
			first_io = 0;
	}
}

struct rig {
	struct srv *s;
	struct p9_sock_tp tp;
	struct hvl_9p c;
	int fd;
};

/* A scripted server and a mounted client with @nslots slots and "f" open read-write. */
static int rig_up(struct rig *g, uint32_t nslots)
{
	int sv[2];

	memset(g, 0, sizeof(*g));
	g->s = calloc(1, sizeof(*g->s));
	if (g->s == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	g->s->fd = sv[1];
	if (pthread_create(&g->s->th, NULL, srv_main, g->s) != 0)
		return -1;
	if (p9_sock_tp_from_fd(&g->tp, sv[0], MSIZE) != 0)
		return -1;
	g->tp.t.nslots = nslots;
	if (hvl_9p_mount(&g->c, &g->tp.t, "", 0, 3000) != 0)
		return -1;
	g->fd = hvl_9p_open(&g->c, "f", HVL_O_RDWR, 0);
	return g->fd >= 0 ? 0 : -1;
}

static void rig_down(struct rig *g)
{
	p9_sock_tp_close(&g->tp); /* the server thread sees EOF and ends */
	pthread_join(g->s->th, NULL);
	close(g->s->fd);
	free(g->s);
}

static uint8_t pat(size_t i, unsigned seed)
{
	return (uint8_t)((i * 2654435761u) >> 13) ^ (uint8_t)seed;
}

static uint8_t src[FMAX], got[FMAX];

static void fill(unsigned seed)
{
	size_t i;

	for (i = 0; i < FMAX; i++)
		src[i] = pat(i, seed);
}

/* Answers out of order; also with one slot; a read error mid-way. */
static void case_reorder(uint32_t nslots)
{
	size_t n = 12u * PIECE + 777u;
	struct rig g;

	CHECK_EQ(rig_up(&g, nslots), 0);
	atomic_store(&g.s->reorder, 1);
	fill(1);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 5, HVL_SEEK_SET), 5);
	CHECK_EQ(hvl_9p_write(&g.c, g.fd, src, n), (long)n);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_CUR), (int64_t)(5 + n));
	CHECK(memcmp(g.s->file + 5, src, n) == 0);
	CHECK_EQ(atomic_load(&g.s->size), 5 + n);
	/* Read it all back, asking 3 pieces past the end: EOF inside the pieces. */
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 5, HVL_SEEK_SET), 5);
	memset(got, 0, sizeof(got));
	CHECK_EQ(hvl_9p_read(&g.c, g.fd, got, n + 3u * PIECE), (long)n);
	CHECK(memcmp(got, src, n) == 0);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_CUR), (int64_t)(5 + n));
	if (nslots > 1)
		CHECK(atomic_load(&g.s->reordered) > 0);
	else
		CHECK_EQ(atomic_load(&g.s->reordered), 0);
	/* EIO for reads from 5 + 2 pieces + 100 on: the piece holding it ends the count. */
	atomic_store(&g.s->eio_at, 5u + 2u * PIECE + 100u);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 5, HVL_SEEK_SET), 5);
	CHECK_EQ(hvl_9p_read(&g.c, g.fd, got, 6u * PIECE), (long)(3u * PIECE));
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_CUR), (int64_t)(5 + 3u * PIECE));
	CHECK_EQ(hvl_9p_read(&g.c, g.fd, got, 6u * PIECE), -EIO); /* nothing done: the errno */
	rig_down(&g);
}

/* A full disk in the middle of a pipelined write. */
static void case_enospc(void)
{
	uint32_t lim = 5u + 3u * PIECE + 100u;
	struct rig g;

	CHECK_EQ(rig_up(&g, HVL_9P_SLOTS), 0);
	fill(2);
	atomic_store(&g.s->limit, lim);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 5, HVL_SEEK_SET), 5);
	/* Piece 3 is cut short, pieces 4.. are refused: the count is up to the limit. */
	CHECK_EQ(hvl_9p_write(&g.c, g.fd, src, 8u * PIECE), (long)(lim - 5u));
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_CUR), (int64_t)lim);
	CHECK(memcmp(g.s->file + 5, src, lim - 5u) == 0);
	CHECK_EQ(hvl_9p_write(&g.c, g.fd, src, 3u * PIECE), -ENOSPC);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_CUR), (int64_t)lim);
	/* Refused right at a piece boundary, answers out of order. */
	atomic_store(&g.s->reorder, 1);
	atomic_store(&g.s->limit, 2u * PIECE);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_SET), 0);
	CHECK_EQ(hvl_9p_write(&g.c, g.fd, src, 7u * PIECE + 1u), (long)(2u * PIECE));
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_CUR), (int64_t)(2u * PIECE));
	rig_down(&g);
}

/* Malformed streams: a repeated answer, an answer to no request. */
static void case_malformed(void)
{
	struct rig g;

	fill(3);
	CHECK_EQ(rig_up(&g, HVL_9P_SLOTS), 0);
	atomic_store(&g.s->dup, 1);
	/* Piece 0 counts; its repeat has a tag no longer in flight: the call ends there. */
	CHECK_EQ(hvl_9p_write(&g.c, g.fd, src, 6u * PIECE), (long)PIECE);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_CUR), (int64_t)PIECE);
	CHECK(g.tp.stuck);
	CHECK_EQ(hvl_9p_write(&g.c, g.fd, src, 10), -EIO);
	CHECK_EQ(hvl_9p_read(&g.c, g.fd, got, 10), -EIO);
	rig_down(&g);

	CHECK_EQ(rig_up(&g, HVL_9P_SLOTS), 0);
	atomic_store(&g.s->badtag, 1);
	CHECK_EQ(hvl_9p_read(&g.c, g.fd, got, 4u * PIECE), -EPROTO);
	CHECK_EQ(hvl_9p_lseek(&g.c, g.fd, 0, HVL_SEEK_CUR), 0);
	CHECK_EQ(hvl_9p_read(&g.c, g.fd, got, 10), -EIO);
	rig_down(&g);
}

int main(void)
{
	alarm(60);
	case_reorder(HVL_9P_SLOTS);
	case_reorder(1);
	case_enospc();
	case_malformed();
	return h_finish("test_9p_pipe");
}
