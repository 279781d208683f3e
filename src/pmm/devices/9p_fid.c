/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The 9P server's per-session fid table (see 9p_srv.h): open addressing by
 * fid number, at most half full, tombstones for clunked slots, and a hard
 * per-session limit (max_fids) so a remote cannot exhaust the PMM's
 * descriptors.  Each live fid owns its O_PATH descriptor, the descriptor of
 * the directory it was found in, its name there, and an opened descriptor
 * after Tlopen/Tlcreate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "9p_srv.h"

/* ------------------------------------------------------------- fid table */

int p9_sess_init(struct p9_sess *s, const struct p9_export *ex)
{
	uint32_t cap = 16;

	memset(s, 0, sizeof(*s));
	s->ex = ex;
	/* At most half full, so probes stay short and always find an empty slot. */
	while (cap < 2u * ex->max_fids + 2u && cap < (1u << 24))
		cap *= 2u;
	s->fids = calloc(cap, sizeof(*s->fids));
	if (s->fids == NULL)
		return -ENOMEM;
	s->cap = cap;
	return 0;
}

static void fid_close(struct p9_fid *f)
{
	if (f->io >= 0)
		close(f->io);
	if (f->fd >= 0)
		close(f->fd);
	if (f->pfd >= 0)
		close(f->pfd);
	free(f->name);
	f->name = NULL;
	f->io = f->fd = f->pfd = -1;
}

/* Record where the fid's object was found (takes @pfd and @name, either may be -1/NULL). */
void p9_fid_set_parent(struct p9_fid *f, int pfd, char *name)
{
	if (f->pfd >= 0)
		close(f->pfd);
	free(f->name);
	f->pfd = pfd;
	f->name = name;
}

void p9_sess_clunk_all(struct p9_sess *s)
{
	uint32_t i;

	for (i = 0; i < s->cap; i++) {
		if (s->fids[i].used == 1)
			fid_close(&s->fids[i]);
		s->fids[i].used = 0;
	}
	s->nfids = 0;
}

void p9_sess_destroy(struct p9_sess *s)
{
	if (s->fids != NULL)
		p9_sess_clunk_all(s);
	free(s->fids);
	s->fids = NULL;
}

static uint32_t fid_hash(uint32_t fid)
{
	return fid * 2654435761u;
}

/* The fid's slot, or NULL.  used: 0 empty, 1 live, 2 deleted (tombstone). */
struct p9_fid *p9_fid_get(struct p9_sess *s, uint32_t fid)
{
	uint32_t mask = s->cap - 1u, i = fid_hash(fid) & mask, n;

	for (n = 0; n < s->cap; n++, i = (i + 1u) & mask) {
		if (s->fids[i].used == 0)
			return NULL;
		if (s->fids[i].used == 1 && s->fids[i].fid == fid)
			return &s->fids[i];
	}
	return NULL;
}

/* A new fid slot for @fid taking ownership of @fd; -EEXIST on reuse, -EMFILE at the limit. */
int p9_fid_new(struct p9_sess *s, uint32_t fid, int fd, uint8_t qtype)
{
	uint32_t mask = s->cap - 1u, i = fid_hash(fid) & mask, n;
	struct p9_fid *slot = NULL;

	if (fid == HVL_9P_NOFID)
		return -EINVAL;
	if (p9_fid_get(s, fid) != NULL)
		return -EEXIST;
	if (s->nfids >= s->ex->max_fids)
		return -EMFILE;
	for (n = 0; n < s->cap && slot == NULL; n++, i = (i + 1u) & mask)
		if (s->fids[i].used != 1)
			slot = &s->fids[i];
	if (slot == NULL)
		return -EMFILE;
	slot->used = 1;
	slot->fid = fid;
	slot->fd = fd;
	slot->io = -1;
	slot->pfd = -1;
	slot->name = NULL;
	slot->qtype = qtype;
	slot->oflags = 0;
	s->nfids++;
	return 0;
}

void p9_fid_del(struct p9_sess *s, struct p9_fid *f)
{
	fid_close(f);
	f->used = 2;
	s->nfids--;
}
