/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 9P2000.L client with a POSIX-like API (include/hvl/9p.h), independent of
 * the transport.  Messages are built in the transport's request buffer and
 * parsed from its response buffer with bounds checks on every field: the
 * server is checked like any peer (STYLE 10): the size field must match
 * the length received, the tag must be ours, the type must answer the
 * request, and counts must not exceed what was asked or what arrived.
 *
 * Fids: 1 is the root, 2 and 3 are scratch fids for path operations
 * (always clunked before the call returns), 16 + n belongs to open file n.
 * Directories and name operations are in 9p_names.c, reads and writes
 * (pipelined across the transport's slots) in 9p_io.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/9p.h"
#include "9p_priv.h"

/* ------------------------------------------------------------ encoding */

void p9c_put(struct hvl_9p *c, uint64_t v, uint32_t n)
{
	uint32_t i;

	if (c->wbad != 0u || n > c->slotmax - c->wlen) {
		c->wbad = 1u;
		return;
	}
	for (i = 0u; i < n; i++)
		c->t.tx[c->wslot][c->wlen + i] = (uint8_t)(v >> (8u * i));
	c->wlen += n;
}

void p9c_put_bytes(struct hvl_9p *c, const void *b, uint32_t n)
{
	if (c->wbad != 0u || n > c->slotmax - c->wlen) {
		c->wbad = 1u;
		return;
	}
	(void)memcpy(&c->t.tx[c->wslot][c->wlen], b, n);
	c->wlen += n;
}

void p9c_put_str(struct hvl_9p *c, const char *s, size_t n)
{
	if (n > 0xffffu) {
		c->wbad = 1u;
		return;
	}
	p9c_put(c, n, 2u);
	p9c_put_bytes(c, s, (uint32_t)n);
}

/*
 * Start a T-message of @type in @slot.  Tags count up from 0 and wrap
 * below NOTAG; at most HVL_9P_SLOTS requests are in flight, so the tags
 * in flight are always distinct.
 */
void p9c_begin_slot(struct hvl_9p *c, uint32_t slot, uint8_t type)
{
	c->wslot = slot;
	c->wlen = 0u;
	c->wbad = 0u;
	p9c_put(c, 0u, 4u);
	p9c_put(c, type, 1u);
	c->tag = (uint16_t)((c->tag + 1u) & 0x7fffu); /* never NOTAG */
	c->stag[slot] = c->tag;
	p9c_put(c, c->tag, 2u);
}

/* Single requests always use slot 0. */
void p9c_begin(struct hvl_9p *c, uint8_t type)
{
	p9c_begin_slot(c, 0u, type);
}

/* Fields wider than 8 bytes are only skipped: their value is never used. */
uint64_t p9c_get(struct rdr *r, uint32_t n)
{
	uint64_t v = 0u;
	uint32_t i;

	if (r->bad != 0u || n > r->len - r->off) {
		r->bad = 1u;
		return 0u;
	}
	for (i = 0u; i < n && i < 8u; i++)
		v |= (uint64_t)r->p[r->off + i] << (8u * i);
	r->off += n;
	return v;
}

/* Translate a 9P2000.L (Linux) errno into the local C library's. */
static int map_errno(uint32_t e)
{
	switch (e) {
	case HVL_9P_EPERM: return -EPERM;
	case HVL_9P_ENOENT: return -ENOENT;
	case HVL_9P_EIO: return -EIO;
	case HVL_9P_EBADF: return -EBADF;
	case HVL_9P_EAGAIN: return -EAGAIN;
	case HVL_9P_ENOMEM: return -ENOMEM;
	case HVL_9P_EACCES: return -EACCES;
	case HVL_9P_EBUSY: return -EBUSY;
	case HVL_9P_EEXIST: return -EEXIST;
	case HVL_9P_EXDEV: return -EXDEV;
	case HVL_9P_ENODEV: return -ENODEV;
	case HVL_9P_ENOTDIR: return -ENOTDIR;
	case HVL_9P_EISDIR: return -EISDIR;
	case HVL_9P_EINVAL: return -EINVAL;
	case HVL_9P_ENFILE: return -ENFILE;
	case HVL_9P_EMFILE: return -EMFILE;
	case HVL_9P_EFBIG: return -EFBIG;
	case HVL_9P_ENOSPC: return -ENOSPC;
	case HVL_9P_EROFS: return -EROFS;
	case HVL_9P_EMLINK: return -EMLINK;
	case HVL_9P_ERANGE: return -ERANGE;
	case HVL_9P_ENAMETOOLONG: return -ENAMETOOLONG;
	case HVL_9P_ENOSYS: return -ENOSYS;
	case HVL_9P_ENOTEMPTY: return -ENOTEMPTY;
	case HVL_9P_ELOOP: return -ELOOP;
	case HVL_9P_EPROTO: return -EPROTO;
	case HVL_9P_EOVERFLOW: return -EOVERFLOW;
	case HVL_9P_EOPNOTSUPP: return -EOPNOTSUPP;
	default: return -EIO;
	}
}

/*
 * Fill in the size field of the T-message built in c->wslot and submit it
 * with room for an answer of @rmax bytes.
 */
int p9c_submit_room(struct hvl_9p *c, uint32_t rmax)
{
	uint8_t *tx = c->t.tx[c->wslot];

	if (c->wbad != 0u)
		return -ENAMETOOLONG; /* the request does not fit in a slot */
	tx[0] = (uint8_t)c->wlen;
	tx[1] = (uint8_t)(c->wlen >> 8);
	tx[2] = (uint8_t)(c->wlen >> 16);
	tx[3] = (uint8_t)(c->wlen >> 24);
	c->rpcs++;
	return c->t.submit(c->t.ctx, c->wslot, c->wlen, rmax, c->timeout_ms);
}

/* Any slot's answer fits its own buffer: every request but read_zc's. */
int p9c_submit(struct hvl_9p *c)
{
	return p9c_submit_room(c, c->slotmax);
}

/*
 * Check the frame of the answer of @rlen bytes in @slot to a T-message of
 * @type.  Returns 0 with @r over the body (after the header), a mapped
 * -errno for Rlerror, or -EPROTO for a malformed answer.
 */
int p9c_check(struct hvl_9p *c, uint32_t slot, uint8_t type, uint32_t rlen, struct rdr *r)
{
	uint32_t size;
	uint8_t rtype;
	uint16_t rtag;

	r->p = c->t.rx[slot];
	r->len = (rlen < c->msize) ? rlen : c->msize;
	r->off = 0u;
	r->bad = 0u;
	size = (uint32_t)p9c_get(r, 4u);
	rtype = (uint8_t)p9c_get(r, 1u);
	rtag = (uint16_t)p9c_get(r, 2u);
	if (r->bad != 0u || size != r->len || rtag != c->stag[slot])
		return -EPROTO;
	if (rtype == HVL_9P_RLERROR) {
		uint32_t e = (uint32_t)p9c_get(r, 4u);

		c->errors++;
		return (r->bad != 0u) ? -EPROTO : map_errno(e);
	}
	return (rtype == (uint8_t)(type + 1u)) ? 0 : -EPROTO;
}

/*
 * Send the message built so far (slot 0) and wait for its answer.  Returns
 * 0 with @r over the body, a mapped -errno for Rlerror, or -EIO/-EPROTO/
 * -ETIMEDOUT from the transport or for a malformed answer.
 */
int p9c_rpc_room(struct hvl_9p *c, uint8_t type, uint32_t rmax, struct rdr *r)
{
	uint32_t rlen = 0u, slot = 0u;
	int rc;

	rc = p9c_submit_room(c, rmax);
	if (rc != 0)
		return rc;
	rc = c->t.wait(c->t.ctx, &slot, &rlen, c->timeout_ms);
	if (rc != 0)
		return rc;
	if (slot != c->wslot)
		return -EPROTO; /* only this slot is in flight: a transport bug */
	return p9c_check(c, slot, type, rlen, r);
}

int p9c_rpc(struct hvl_9p *c, uint8_t type, struct rdr *r)
{
	return p9c_rpc_room(c, type, c->slotmax, r);
}

int p9c_clunk(struct hvl_9p *c, uint32_t fid)
{
	struct rdr r;

	p9c_begin(c, HVL_9P_TCLUNK);
	p9c_put(c, fid, 4u);
	return p9c_rpc(c, HVL_9P_TCLUNK, &r);
}

/* ------------------------------------------------------------ paths */

/* Next component of @path from *@pos: start and length; 0 at the end. */
static size_t next_name(const char *path, size_t *pos, const char **name)
{
	size_t i = *pos, n = 0u;

	while (path[i] == '/')
		i++;
	*name = &path[i];
	while (path[i + n] != '\0' && path[i + n] != '/')
		n++;
	*pos = i + n;
	return n;
}

int p9c_is_dot(const char *s, size_t n)
{
	return (n == 1u && s[0] == '.') ? 1 : 0;
}

int p9c_is_dotdot(const char *s, size_t n)
{
	return (n == 2u && s[0] == '.' && s[1] == '.') ? 1 : 0;
}

/*
 * Walk from the root to @path into @newfid.  With @parent, stop before the
 * last component and return it in @last/@lastlen (it must exist).
 * Twalk takes at most 16 names; longer paths walk @newfid in place.
 * On failure @newfid does not exist.
 */
int p9c_walk(struct hvl_9p *c, const char *path, uint32_t newfid, int parent,
		const char **last, size_t *lastlen)
{
	const char *names[HVL_9P_MAXWELEM];
	size_t lens[HVL_9P_MAXWELEM];
	size_t pos = 0u, plen;
	uint32_t from = FID_ROOT, iter;
	int have = 0, rc = 0;

	if (path == NULL)
		return -EINVAL;
	plen = strlen(path);
	if (plen >= HVL_9P_PATH_MAX)
		return -ENAMETOOLONG;
	if (parent != 0) {
		/* Split off the last real component. */
		size_t end = plen, start;

		while (end > 0u && path[end - 1u] == '/')
			end--;
		start = end;
		while (start > 0u && path[start - 1u] != '/')
			start--;
		if (end == start || p9c_is_dot(&path[start], end - start) != 0 ||
		    p9c_is_dotdot(&path[start], end - start) != 0)
			return -EINVAL;
		if (end - start > HVL_9P_NAME_MAX)
			return -ENAMETOOLONG;
		*last = &path[start];
		*lastlen = end - start;
		plen = start;
	}
	/* Each pass consumes at least one byte of the path or ends: bounded. */
	for (iter = 0u; iter <= HVL_9P_PATH_MAX; iter++) {
		uint16_t n = 0u, i;
		struct rdr r;
		uint16_t nq;

		while (n < HVL_9P_MAXWELEM && pos < plen) {
			const char *nm;
			size_t l = next_name(path, &pos, &nm);

			if (pos > plen)
				l -= pos - plen;
			if (l == 0u || p9c_is_dot(nm, l) != 0)
				continue;
			if (p9c_is_dotdot(nm, l) != 0) {
				rc = -EINVAL; /* the server refuses it anyway; say so early */
				break;
			}
			if (l > HVL_9P_NAME_MAX) {
				rc = -ENAMETOOLONG;
				break;
			}
			names[n] = nm;
			lens[n] = l;
			n++;
		}
		if (rc != 0)
			break;
		if (n == 0u && have != 0)
			return 0;
		p9c_begin(c, HVL_9P_TWALK);
		p9c_put(c, from, 4u);
		p9c_put(c, newfid, 4u);
		p9c_put(c, n, 2u);
		for (i = 0u; i < n; i++)
			p9c_put_str(c, names[i], lens[i]);
		rc = p9c_rpc(c, HVL_9P_TWALK, &r);
		if (rc != 0)
			break;
		nq = (uint16_t)p9c_get(&r, 2u);
		if (r.bad != 0u || nq > n) {
			rc = -EPROTO;
			break;
		}
		if (nq < n) {
			/*
			 * Partial walk: 9P says newfid was not created, but some
			 * servers (diod) create it anyway; a clunk answered EBADF
			 * costs one round trip and keeps our fid numbers free.
			 */
			if (have == 0)
				(void)p9c_clunk(c, newfid);
			rc = -ENOENT;
			break;
		}
		have = 1;
		from = newfid;
		if (pos >= plen)
			return 0;
	}
	if (rc == 0)
		rc = -ENAMETOOLONG;
	if (have != 0)
		(void)p9c_clunk(c, newfid);
	return rc;
}

/* ------------------------------------------------------------ mount */

void hvl_9p_set_timeout(struct hvl_9p *c, uint32_t timeout_ms)
{
	if (c != NULL)
		c->timeout_ms = timeout_ms;
}

int hvl_9p_mount(struct hvl_9p *c, const struct hvl_9p_transport *t, const char *aname,
		 uint32_t uid, uint32_t timeout_ms)
{
	struct rdr r;
	uint32_t msize, i;
	uint16_t vl;
	int rc;

	if (c == NULL || t == NULL || t->submit == NULL || t->wait == NULL || t->nslots == 0u ||
	    t->nslots > HVL_9P_SLOTS || t->bufsize < HVL_9P_MSIZE_MIN ||
	    (t->bigsize != 0u && t->bigsize < t->bufsize))
		return -EINVAL;
	for (i = 0u; i < t->nslots; i++)
		if (t->tx[i] == NULL || t->rx[i] == NULL)
			return -EINVAL;
	(void)memset(c, 0, sizeof(*c));
	c->t = *t;
	/* Offer the largest answer we can take (a lone slot 0's); we never send more than bufsize. */
	c->msize = (t->bigsize != 0u) ? t->bigsize : t->bufsize;
	c->slotmax = t->bufsize;
	c->timeout_ms = (timeout_ms != 0u) ? timeout_ms : HVL_9P_DEFAULT_TIMEOUT_MS;
	p9c_begin(c, HVL_9P_TVERSION);
	/* Tversion carries NOTAG. */
	c->t.tx[0][5] = 0xffu;
	c->t.tx[0][6] = 0xffu;
	c->stag[0] = HVL_9P_NOTAG;
	p9c_put(c, c->msize, 4u);
	p9c_put_str(c, "9P2000.L", 8u);
	rc = p9c_rpc(c, HVL_9P_TVERSION, &r);
	c->tag = 0u;
	if (rc != 0)
		return rc;
	msize = (uint32_t)p9c_get(&r, 4u);
	vl = (uint16_t)p9c_get(&r, 2u);
	if (r.bad != 0u || vl != 8u || vl > r.len - r.off ||
	    memcmp(&r.p[r.off], "9P2000.L", 8u) != 0)
		return -EPROTO;
	if (msize < HVL_9P_MSIZE_MIN || msize > c->msize)
		return -EPROTO;
	c->msize = msize;
	if (c->slotmax > msize)
		c->slotmax = msize;
	p9c_begin(c, HVL_9P_TATTACH);
	p9c_put(c, FID_ROOT, 4u);
	p9c_put(c, HVL_9P_NOFID, 4u);
	p9c_put_str(c, "", 0u);
	p9c_put_str(c, (aname != NULL) ? aname : "", (aname != NULL) ? strlen(aname) : 0u);
	p9c_put(c, uid, 4u);
	rc = p9c_rpc(c, HVL_9P_TATTACH, &r);
	if (rc != 0)
		return rc;
	c->mounted = 1u;
	return 0;
}

int hvl_9p_unmount(struct hvl_9p *c)
{
	uint32_t i;

	if (c == NULL || c->mounted == 0u)
		return -EINVAL;
	for (i = 0u; i < HVL_9P_MAX_FILES; i++)
		if (c->f[i].used != 0u)
			(void)hvl_9p_close(c, (int)i);
	c->mounted = 0u;
	return p9c_clunk(c, FID_ROOT);
}

/* ------------------------------------------------------------ files */

struct hvl_9p_file *p9c_file_of(struct hvl_9p *c, int fd)
{
	if (c == NULL || c->mounted == 0u || fd < 0 || fd >= (int)HVL_9P_MAX_FILES)
		return NULL;
	return (c->f[fd].used != 0u) ? &c->f[fd] : NULL;
}

static int slot_new(struct hvl_9p *c)
{
	int i;

	for (i = 0; i < (int)HVL_9P_MAX_FILES; i++) {
		if (c->f[i].used == 0u) {
			(void)memset(&c->f[i], 0, sizeof(c->f[i]));
			c->f[i].fid = FID_FILE0 + (uint32_t)i;
			return i;
		}
	}
	return -EMFILE;
}

/* Tlopen/Tlcreate answer: qid (type first), iounit. */
static int opened(struct hvl_9p_file *f, struct rdr *r)
{
	uint8_t qt = (uint8_t)p9c_get(r, 1u);

	(void)p9c_get(r, 12u);
	(void)p9c_get(r, 4u);
	if (r->bad != 0u)
		return -EPROTO;
	f->is_dir = ((qt & HVL_9P_QTDIR) != 0u) ? 1u : 0u;
	return 0;
}

static int lopen(struct hvl_9p *c, struct hvl_9p_file *f, uint32_t flags)
{
	struct rdr r;
	int rc;

	p9c_begin(c, HVL_9P_TLOPEN);
	p9c_put(c, f->fid, 4u);
	p9c_put(c, flags, 4u);
	rc = p9c_rpc(c, HVL_9P_TLOPEN, &r);
	return (rc != 0) ? rc : opened(f, &r);
}

int hvl_9p_open(struct hvl_9p *c, const char *path, uint32_t flags, uint32_t mode)
{
	const char *name = NULL;
	size_t nlen = 0u;
	struct hvl_9p_file *f;
	struct rdr r;
	int fd, rc;

	if (c == NULL || c->mounted == 0u)
		return -EINVAL;
	fd = slot_new(c);
	if (fd < 0)
		return fd;
	f = &c->f[fd];
	/* Exclusive create: straight to Tlcreate in the parent (EEXIST comes from the server). */
	rc = ((flags & (HVL_O_CREAT | HVL_O_EXCL)) == (HVL_O_CREAT | HVL_O_EXCL))
		     ? -ENOENT : p9c_walk(c, path, f->fid, 0, NULL, NULL);
	if (rc == 0) {
		rc = lopen(c, f, flags & ~(HVL_O_CREAT | HVL_O_EXCL));
		if (rc != 0) {
			(void)p9c_clunk(c, f->fid);
			return rc;
		}
	} else if (rc == -ENOENT && (flags & HVL_O_CREAT) != 0u) {
		rc = p9c_walk(c, path, f->fid, 1, &name, &nlen);
		if (rc != 0)
			return rc;
		p9c_begin(c, HVL_9P_TLCREATE);
		p9c_put(c, f->fid, 4u);
		p9c_put_str(c, name, nlen);
		p9c_put(c, flags, 4u);
		p9c_put(c, mode & 07777u, 4u);
		p9c_put(c, 0u, 4u);
		rc = p9c_rpc(c, HVL_9P_TLCREATE, &r);
		if (rc == 0)
			rc = opened(f, &r);
		if (rc != 0) {
			(void)p9c_clunk(c, f->fid);
			return rc;
		}
	} else {
		return rc;
	}
	f->used = 1u;
	f->flags = flags;
	return fd;
}

int hvl_9p_close(struct hvl_9p *c, int fd)
{
	struct hvl_9p_file *f = p9c_file_of(c, fd);

	if (f == NULL)
		return -EBADF;
	f->used = 0u;
	return p9c_clunk(c, f->fid);
}

/* Tgetattr on @fid into @st. */
int p9c_getattr(struct hvl_9p *c, uint32_t fid, struct hvl_9p_stat *st)
{
	struct rdr r;
	int rc;

	p9c_begin(c, HVL_9P_TGETATTR);
	p9c_put(c, fid, 4u);
	p9c_put(c, HVL_9P_GETATTR_BASIC, 8u);
	rc = p9c_rpc(c, HVL_9P_TGETATTR, &r);
	if (rc != 0)
		return rc;
	(void)p9c_get(&r, 8u);               /* valid */
	(void)p9c_get(&r, 5u);               /* qid type, version */
	st->ino = p9c_get(&r, 8u);
	st->mode = (uint32_t)p9c_get(&r, 4u);
	st->uid = (uint32_t)p9c_get(&r, 4u);
	st->gid = (uint32_t)p9c_get(&r, 4u);
	st->nlink = p9c_get(&r, 8u);
	(void)p9c_get(&r, 8u);               /* rdev */
	st->size = p9c_get(&r, 8u);
	(void)p9c_get(&r, 8u);               /* blksize */
	st->blocks = p9c_get(&r, 8u);
	st->atime_sec = p9c_get(&r, 8u);
	(void)p9c_get(&r, 8u);
	st->mtime_sec = p9c_get(&r, 8u);
	(void)p9c_get(&r, 8u);
	st->ctime_sec = p9c_get(&r, 8u);
	return (r.bad != 0u) ? -EPROTO : 0;
}

int64_t hvl_9p_lseek(struct hvl_9p *c, int fd, int64_t off, int whence)
{
	struct hvl_9p_file *f = p9c_file_of(c, fd);
	struct hvl_9p_stat st;
	int64_t base;
	int rc;

	if (f == NULL || f->is_dir != 0u)
		return -EBADF;
	switch (whence) {
	case HVL_SEEK_SET:
		base = 0;
		break;
	case HVL_SEEK_CUR:
		base = (int64_t)f->pos;
		break;
	case HVL_SEEK_END:
		rc = p9c_getattr(c, f->fid, &st);
		if (rc != 0)
			return rc;
		base = (int64_t)st.size;
		break;
	default:
		return -EINVAL;
	}
	if ((off < 0 && -off > base) || (off > 0 && off > INT64_MAX - base))
		return -EINVAL;
	f->pos = (uint64_t)(base + off);
	return (int64_t)f->pos;
}

int hvl_9p_fstat(struct hvl_9p *c, int fd, struct hvl_9p_stat *st)
{
	struct hvl_9p_file *f = p9c_file_of(c, fd);

	if (f == NULL || st == NULL)
		return -EBADF;
	return p9c_getattr(c, f->fid, st);
}

int hvl_9p_stat(struct hvl_9p *c, const char *path, struct hvl_9p_stat *st)
{
	int rc;

	if (c == NULL || c->mounted == 0u || st == NULL)
		return -EINVAL;
	rc = p9c_walk(c, path, FID_TMP1, 0, NULL, NULL);
	if (rc != 0)
		return rc;
	rc = p9c_getattr(c, FID_TMP1, st);
	(void)p9c_clunk(c, FID_TMP1);
	return rc;
}

int hvl_9p_fsync(struct hvl_9p *c, int fd)
{
	struct hvl_9p_file *f = p9c_file_of(c, fd);
	struct rdr r;

	if (f == NULL)
		return -EBADF;
	p9c_begin(c, HVL_9P_TFSYNC);
	p9c_put(c, f->fid, 4u);
	p9c_put(c, 0u, 4u);
	return p9c_rpc(c, HVL_9P_TFSYNC, &r);
}

int hvl_9p_ftruncate(struct hvl_9p *c, int fd, uint64_t len)
{
	struct hvl_9p_file *f = p9c_file_of(c, fd);
	struct rdr r;

	if (f == NULL || f->is_dir != 0u)
		return -EBADF;
	p9c_begin(c, HVL_9P_TSETATTR);
	p9c_put(c, f->fid, 4u);
	p9c_put(c, HVL_9P_SETATTR_SIZE, 4u);
	p9c_put(c, 0u, 4u);   /* mode */
	p9c_put(c, 0u, 4u);   /* uid */
	p9c_put(c, 0u, 4u);   /* gid */
	p9c_put(c, len, 8u);
	p9c_put(c, 0u, 8u);   /* atime, mtime: unchanged */
	p9c_put(c, 0u, 8u);
	p9c_put(c, 0u, 8u);
	p9c_put(c, 0u, 8u);
	return p9c_rpc(c, HVL_9P_TSETATTR, &r);
}
