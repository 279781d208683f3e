/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reads and writes of the remote 9P client (include/hvl/9p.h).
 *
 * A call longer than one slot's message is split into pieces of up to
 * slotmax - 24 bytes (piece_max), each its own Tread/Twrite in one of the
 * transport's slots.  Up to nslots pieces are in flight: while the server works on
 * piece k, the client copies piece k + 1 into the next slot and submits
 * it, and an answered slot is refilled with the next piece at once.  Answers may arrive in any
 * order (a threaded server such as diod), so each one is checked and
 * recorded in its slot, and the pieces are counted strictly in file order:
 * the count ends at the first piece that failed or came back short (end of
 * file, a full disk), as a POSIX read/write that stops part way.  Pieces
 * are placed so that piece k always sits in slot k % depth: the pieces in
 * flight are always the window [head, head + depth).
 *
 * Bounded: every pass of the loop either ends it or waits for one answer
 * (at most the client's timeout each), and there is one answer per piece.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/9p.h"
#include "9p_priv.h"

/*
 * Largest data payload of one Tread/Twrite: msize less the 24 bytes
 * Linux and diod reserve (P9_IOHDRSZ), whatever the message's own header.
 */
#define IO_HDR 24u
#define LEN_MAX ((size_t)0x7fffffff) /* the count must fit a long on any target */

/*
 * Bytes per piece of a split call: slotmax - 24, down to a multiple of 4 KiB
 * when that leaves at least 4 KiB: with slotmax = 2^k + a little, a 1 MiB
 * call is then 2^(20-k) whole pieces (no tiny last one), and each piece
 * starts on a page boundary of the server's file when the call does.
 */
static uint32_t piece_max(const struct hvl_9p *c)
{
	uint32_t n = c->slotmax - IO_HDR;

	return (n >= 2u * 4096u) ? (n & ~(uint32_t)4095u) : n;
}

/* One read or write on its way through the slots. */
struct pipe {
	struct hvl_9p *c;
	struct hvl_9p_file *f;
	uint8_t type;            /* HVL_9P_TREAD or HVL_9P_TWRITE */
	uint8_t *dst;            /* read: the caller's buffer */
	const uint8_t *src;      /* write: the caller's buffer */
	size_t len;
	uint32_t chunk;          /* bytes per piece */
	uint32_t depth;          /* slots used: pieces in flight at most */
	uint32_t npieces;
	uint32_t head;           /* oldest piece not counted yet */
	uint32_t next;           /* next piece to submit */
	size_t done;             /* bytes counted, contiguous from the start */
	uint8_t ended;           /* a piece was short or failed: count no further */
	int err;                 /* why nothing was done (-errno), if done == 0 */
	uint8_t busy[HVL_9P_SLOTS];     /* submitted, not answered */
	uint8_t answered[HVL_9P_SLOTS]; /* answered, not counted */
	uint32_t piece[HVL_9P_SLOTS];   /* the piece each slot carries */
	uint32_t got[HVL_9P_SLOTS];
	int rc[HVL_9P_SLOTS];
};

static uint32_t piece_len(const struct pipe *p, uint32_t k)
{
	size_t at = (size_t)k * p->chunk;

	return ((p->len - at) < (size_t)p->chunk) ? (uint32_t)(p->len - at) : p->chunk;
}

/* Build piece @k in its slot (a write copies its data now) and submit it. */
static int submit_piece(struct pipe *p, uint32_t k)
{
	struct hvl_9p *c = p->c;
	uint32_t slot = k % p->depth, n = piece_len(p, k);
	size_t at = (size_t)k * p->chunk;
	int rc;

	p9c_begin_slot(c, slot, p->type);
	p9c_put(c, p->f->fid, 4u);
	p9c_put(c, p->f->pos + (uint64_t)at, 8u);
	p9c_put(c, n, 4u);
	if (p->type == HVL_9P_TWRITE)
		p9c_put_bytes(c, &p->src[at], n);
	rc = p9c_submit(c);
	if (rc == 0) {
		p->busy[slot] = 1u;
		p->piece[slot] = k;
	}
	return rc;
}

/* Record the answer in @slot: its status and count; a read's data goes to its place now. */
static void answer(struct pipe *p, uint32_t slot, uint32_t rlen)
{
	uint32_t k = p->piece[slot];
	uint32_t want = piece_len(p, k), got = 0u;
	struct rdr r;
	int rc = p9c_check(p->c, slot, p->type, rlen, &r);

	if (rc == 0) {
		got = (uint32_t)p9c_get(&r, 4u);
		if (r.bad != 0u || got > want || (p->type == HVL_9P_TREAD && got > r.len - r.off))
			rc = -EPROTO;
	}
	if (rc == 0 && p->type == HVL_9P_TREAD)
		(void)memcpy(&p->dst[(size_t)k * p->chunk], &r.p[r.off], got);
	p->busy[slot] = 0u;
	p->answered[slot] = 1u;
	p->got[slot] = (rc == 0) ? got : 0u;
	p->rc[slot] = rc;
}

/* Count the answered pieces at the head, in file order. */
static void count(struct pipe *p)
{
	while (p->head < p->next && p->answered[p->head % p->depth] != 0u) {
		uint32_t slot = p->head % p->depth, want = piece_len(p, p->head);

		p->answered[slot] = 0u;
		if (p->ended == 0u) {
			if (p->rc[slot] != 0) {
				p->ended = 1u;
				p->err = p->rc[slot];
			} else if (p->got[slot] == 0u && p->type == HVL_9P_TWRITE) {
				p->ended = 1u;
				p->err = -EIO; /* a server that writes nothing and says no error */
			} else {
				p->done += p->got[slot];
				if (p->got[slot] < want)
					p->ended = 1u; /* end of file, or a short write */
			}
		}
		p->head++;
	}
}

static long pipe_run(struct pipe *p)
{
	struct hvl_9p *c = p->c;
	int sub_err = 0;
	uint32_t iter;

	p->chunk = piece_max(c);
	p->npieces = (uint32_t)((p->len + p->chunk - 1u) / p->chunk);
	p->depth = c->t.nslots;
	if (p->depth > HVL_9P_SLOTS)
		p->depth = HVL_9P_SLOTS;
	/* O_APPEND: the server places each piece at the end as it comes; keep them in order. */
	if (p->type == HVL_9P_TWRITE && (p->f->flags & HVL_O_APPEND) != 0u)
		p->depth = 1u;
	for (iter = 0u; iter <= p->npieces; iter++) {
		uint32_t slot = 0u, rlen = 0u;
		int rc;

		while (p->ended == 0u && sub_err == 0 && p->next < p->npieces &&
		       p->next - p->head < p->depth) {
			sub_err = submit_piece(p, p->next);
			if (sub_err == 0)
				p->next++;
		}
		if (p->head == p->next)
			break; /* nothing in flight: all counted */
		rc = c->t.wait(c->t.ctx, &slot, &rlen, c->timeout_ms);
		if (rc == 0 && (slot >= p->depth || p->busy[slot] == 0u))
			rc = -EPROTO; /* an answer for a slot we did not submit: a transport bug */
		if (rc != 0) {
			/* The transport is stuck now: what is counted stays counted. */
			if (p->ended == 0u) {
				p->ended = 1u;
				p->err = rc;
			}
			break;
		}
		answer(p, slot, rlen);
		count(p);
	}
	/* Every piece before the one that could not be submitted was counted whole. */
	if (p->ended == 0u && sub_err != 0)
		p->err = sub_err;
	p->f->pos += (uint64_t)p->done;
	if (p->done > 0u)
		return (long)p->done;
	return (long)p->err;
}

static long io(struct hvl_9p *c, int fd, uint8_t type, uint8_t *dst, const uint8_t *src,
	       size_t len)
{
	struct hvl_9p_file *f = p9c_file_of(c, fd);
	struct pipe p;

	if (f == NULL || f->is_dir != 0u)
		return -EBADF;
	(void)memset(&p, 0, sizeof(p));
	p.c = c;
	p.f = f;
	p.type = type;
	p.dst = dst;
	p.src = src;
	p.len = (len > LEN_MAX) ? LEN_MAX : len;
	return pipe_run(&p);
}

long hvl_9p_read(struct hvl_9p *c, int fd, void *buf, size_t len)
{
	return io(c, fd, HVL_9P_TREAD, buf, NULL, len);
}

long hvl_9p_write(struct hvl_9p *c, int fd, const void *buf, size_t len)
{
	return io(c, fd, HVL_9P_TWRITE, NULL, buf, len);
}

long hvl_9p_read_zc(struct hvl_9p *c, int fd, const void **data, size_t len)
{
	struct hvl_9p_file *f = p9c_file_of(c, fd);
	uint32_t want = 0u, got;
	struct rdr r;
	int rc;

	if (f == NULL || f->is_dir != 0u || data == NULL)
		return -EBADF;
	*data = NULL;
	/*
	 * One message as large as msize: slot 0 alone may be answered into
	 * every slot's response buffer (the transport's bigsize), so a call
	 * here is one round trip for as much as a whole split read carries.
	 */
	if (c->msize > IO_HDR)
		want = c->msize - IO_HDR;
	if ((size_t)want > len)
		want = (uint32_t)len;
	p9c_begin(c, HVL_9P_TREAD);
	p9c_put(c, f->fid, 4u);
	p9c_put(c, f->pos, 8u);
	p9c_put(c, want, 4u);
	rc = p9c_rpc_room(c, HVL_9P_TREAD, c->msize, &r);
	if (rc != 0)
		return (long)rc;
	got = (uint32_t)p9c_get(&r, 4u);
	if (r.bad != 0u || got > want || got > r.len - r.off)
		return -EPROTO;
	/* The data stays where the device wrote it: in slot 0's response buffer. */
	/* cppcheck-suppress autoVariables ; r.p points into c's response buffer, not into r */
	*data = &r.p[r.off];
	f->pos += got;
	return (long)got;
}
