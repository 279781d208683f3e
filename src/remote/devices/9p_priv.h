/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the remote 9P client (9p.c: messages, mount, files;
 * 9p_names.c: directories and names; 9p_io.c: reads and writes).  Not
 * part of the public API.
 */
#ifndef HVL_REMOTE_9P_PRIV_H
#define HVL_REMOTE_9P_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/9p.h"

/* Fids: the root, two scratch fids for path operations, then one per open file. */
#define FID_ROOT   1u
#define FID_TMP1   2u
#define FID_TMP2   3u
#define FID_FILE0  16u

/* Bounds-checked reader over the R-message. */
struct rdr {
	const uint8_t *p;
	uint32_t len, off;
	uint8_t bad;
};


/* Append @n little-endian bytes of @v / raw bytes / a 9P string to the T-message. */
void p9c_put(struct hvl_9p *c, uint64_t v, uint32_t n);
void p9c_put_bytes(struct hvl_9p *c, const void *b, uint32_t n);
void p9c_put_str(struct hvl_9p *c, const char *s, size_t n);
/* Start a T-message of @type with the next tag, in slot 0 / in @slot. */
void p9c_begin(struct hvl_9p *c, uint8_t type);
void p9c_begin_slot(struct hvl_9p *c, uint32_t slot, uint8_t type);
/* Next @n bytes of the R-message as a little-endian number (0 and r->bad past the end). */
uint64_t p9c_get(struct rdr *r, uint32_t n);
/*
 * Submit the T-message built in c->wslot without waiting, its answer up to
 * slotmax bytes / up to @rmax (msize at most: a lone slot 0); 0 or a negative errno.
 */
int p9c_submit(struct hvl_9p *c);
int p9c_submit_room(struct hvl_9p *c, uint32_t rmax);
/* Check @slot's answer (@rlen bytes) to @type: 0 with @r over the R body, or -errno. */
int p9c_check(struct hvl_9p *c, uint32_t slot, uint8_t type, uint32_t rlen, struct rdr *r);
/* Send the T-message in slot 0 and wait: 0 with @r over the R body, or -errno (Rlerror mapped). */
int p9c_rpc(struct hvl_9p *c, uint8_t type, struct rdr *r);
/* The same with room for an answer of @rmax bytes (read_zc: msize, in a lone slot 0). */
int p9c_rpc_room(struct hvl_9p *c, uint8_t type, uint32_t rmax, struct rdr *r);
int p9c_clunk(struct hvl_9p *c, uint32_t fid);
/* Walk @path (or its parent, returning the last name) into @newfid. */
int p9c_walk(struct hvl_9p *c, const char *path, uint32_t newfid, int parent,
	     const char **last, size_t *lastlen);
int p9c_getattr(struct hvl_9p *c, uint32_t fid, struct hvl_9p_stat *st);
/* The open file @fd, or NULL. */
struct hvl_9p_file *p9c_file_of(struct hvl_9p *c, int fd);
int p9c_is_dot(const char *s, size_t n);
int p9c_is_dotdot(const char *s, size_t n);

#endif /* HVL_REMOTE_9P_PRIV_H */
