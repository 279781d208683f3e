/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 9P2000.L message decoding and encoding for the PMM's 9P server (see
 * 9p_srv.h).  Everything here works on a private copy of the T-message:
 * each field is taken with a bounds-checked reader that latches an error on
 * the first overrun, so a size field or string length that lies yields
 * Rlerror(EPROTO) and never a read past the message.  Responses are built
 * with a writer that refuses to pass the transport's writable space; a
 * response that does not fit becomes Rlerror(ERANGE) (or is dropped if not
 * even that fits).  Unknown message types get Rlerror(EOPNOTSUPP).
 */
#include <errno.h>
#include <string.h>

#include "9p_srv.h"

/*
 * Bounds-checked little-endian reader over one message.  @tail, when set,
 * holds the message's bytes after @len: only a Twrite's data may come from
 * there (p9_handle_write, where the data stays in shared memory).
 */
struct rd {
	const uint8_t *p;
	uint32_t len, off;
	int bad;
	const uint8_t *tail;
	uint32_t tail_len;
};

/* Bounded writer into the response space. */
struct wr {
	uint8_t *p;
	uint32_t cap, off;
	int bad;
};

static const uint8_t *rd_take(struct rd *r, uint32_t n)
{
	const uint8_t *q;

	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static uint64_t rd_le(struct rd *r, unsigned n)
{
	const uint8_t *q = rd_take(r, n);
	uint64_t v = 0;
	unsigned i;

	if (q == NULL)
		return 0;
	for (i = 0; i < n; i++)
		v |= (uint64_t)q[i] << (8u * i);
	return v;
}

static uint8_t rd8(struct rd *r) { return (uint8_t)rd_le(r, 1); }
static uint16_t rd16(struct rd *r) { return (uint16_t)rd_le(r, 2); }
static uint32_t rd32(struct rd *r) { return (uint32_t)rd_le(r, 4); }
static uint64_t rd64(struct rd *r) { return rd_le(r, 8); }

/*
 * A string field into @out (NUL-terminated, @cap bytes).  A string longer
 * than the message marks the reader bad (EPROTO); one longer than @cap - 1
 * or containing a NUL is reported through *@toolong / the return value.
 * Returns its length, or -1 if it is unusable (embedded NUL or too long).
 */
static long rd_str(struct rd *r, char *out, size_t cap)
{
	uint16_t n = rd16(r);
	const uint8_t *q = rd_take(r, n);

	out[0] = '\0';
	if (q == NULL)
		return -1;
	if ((size_t)n >= cap || memchr(q, 0, n) != NULL)
		return -1;
	memcpy(out, q, n);
	out[n] = '\0';
	return (long)n;
}

static void wr_le(struct wr *w, uint64_t v, unsigned n)
{
	unsigned i;

	if (w->bad || n > w->cap - w->off) {
		w->bad = 1;
		return;
	}
	for (i = 0; i < n; i++)
		w->p[w->off + i] = (uint8_t)(v >> (8u * i));
	w->off += n;
}

static void wr8(struct wr *w, uint8_t v) { wr_le(w, v, 1); }
static void wr16(struct wr *w, uint16_t v) { wr_le(w, v, 2); }
static void wr32(struct wr *w, uint32_t v) { wr_le(w, v, 4); }
static void wr64(struct wr *w, uint64_t v) { wr_le(w, v, 8); }

static void wr_bytes(struct wr *w, const void *b, uint32_t n)
{
	if (w->bad || n > w->cap - w->off) {
		w->bad = 1;
		return;
	}
	memcpy(w->p + w->off, b, n);
	w->off += n;
}

static void wr_str(struct wr *w, const char *s, size_t n)
{
	if (n > 0xffffu) {
		w->bad = 1;
		return;
	}
	wr16(w, (uint16_t)n);
	wr_bytes(w, s, (uint32_t)n);
}

static void wr_qid(struct wr *w, const struct p9_qid *q)
{
	wr8(w, q->type);
	wr32(w, q->version);
	wr64(w, q->path);
}

/* Header of an R-message; the size is patched by finish(). */
static void wr_hdr(struct wr *w, uint8_t type, uint16_t tag)
{
	w->off = 0;
	w->bad = 0;
	wr32(w, 0);
	wr8(w, type);
	wr16(w, tag);
}

static uint32_t finish(struct wr *w)
{
	uint32_t n = w->off;

	w->off = 0;
	w->bad = 0;
	wr32(w, n);
	return n;
}

static uint32_t rlerror(struct wr *w, uint16_t tag, uint32_t ecode)
{
	wr_hdr(w, HVL_9P_RLERROR, tag);
	wr32(w, ecode);
	return w->bad ? 0 : finish(w);
}

/* Fetch a name component; -EINVAL for '/', '.', '..', empty, NUL inside. */
static int rd_name(struct rd *r, char *out)
{
	long n = rd_str(r, out, P9_NAME_MAX + 1);

	if (r->bad)
		return -EPROTO;
	if (n < 0)
		return -ENAMETOOLONG;
	return p9_name_ok(out, (size_t)n);
}

static uint32_t do_version(struct p9_sess *s, struct rd *r, struct wr *w, uint16_t tag)
{
	char ver[32];
	uint32_t msize = rd32(r);
	long n = rd_str(r, ver, sizeof(ver));

	if (r->bad)
		return rlerror(w, tag, HVL_9P_EPROTO);
	/* Tversion aborts every outstanding fid (9P "version"). */
	p9_sess_clunk_all(s);
	if (msize > s->ex->msize_max)
		msize = s->ex->msize_max;
	wr_hdr(w, HVL_9P_TVERSION + 1u, tag);
	wr32(w, msize);
	if (n < 0 || strcmp(ver, "9P2000.L") != 0 || msize < HVL_9P_MSIZE_MIN) {
		s->msize = 0;
		wr_str(w, "unknown", 7);
	} else {
		s->msize = msize;
		wr_str(w, "9P2000.L", 8);
	}
	return w->bad ? 0 : finish(w);
}

static uint32_t do_walk(struct p9_sess *s, struct rd *r, struct wr *w, uint16_t tag)
{
	static __thread char names[HVL_9P_MAXWELEM][P9_NAME_MAX + 1];
	struct p9_qid q[HVL_9P_MAXWELEM];
	uint32_t fid = rd32(r), newfid = rd32(r);
	uint16_t n = rd16(r), i;
	unsigned nq = 0;
	int rc = 0;

	if (r->bad)
		return rlerror(w, tag, HVL_9P_EPROTO);
	if (n > HVL_9P_MAXWELEM)
		return rlerror(w, tag, HVL_9P_EINVAL);
	for (i = 0; i < n && rc == 0; i++)
		rc = rd_name(r, names[i]);
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	rc = p9_fs_walk(s, fid, newfid, n, names, q, &nq);
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	wr_hdr(w, HVL_9P_TWALK + 1u, tag);
	wr16(w, (uint16_t)nq);
	for (i = 0; i < nq; i++)
		wr_qid(w, &q[i]);
	return w->bad ? rlerror(w, tag, HVL_9P_ERANGE) : finish(w);
}

static uint32_t do_read(struct p9_sess *s, struct rd *r, struct wr *w, uint16_t tag, int dir)
{
	uint32_t fid = rd32(r), count, got = 0, room;
	uint64_t off = rd64(r);
	int rc;

	count = rd32(r);
	if (r->bad)
		return rlerror(w, tag, HVL_9P_EPROTO);
	/* Never more than fits in the writable space after "size type tag count". */
	if (w->cap < HVL_9P_IOHDR)
		return 0;
	room = w->cap - HVL_9P_IOHDR;
	if (count > room)
		count = room;
	rc = dir ? p9_fs_readdir(s, fid, off, count, w->p + HVL_9P_IOHDR, &got)
		 : p9_fs_read(s, fid, off, count, w->p + HVL_9P_IOHDR, &got);
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	wr_hdr(w, (uint8_t)((dir ? HVL_9P_TREADDIR : HVL_9P_TREAD) + 1u), tag);
	wr32(w, got);
	w->off += got; /* the data is already in place */
	return finish(w);
}

static uint32_t do_write(struct p9_sess *s, struct rd *r, struct wr *w, uint16_t tag)
{
	uint32_t fid = rd32(r), count, done = 0;
	uint64_t off = rd64(r);
	const uint8_t *data;
	int rc;

	count = rd32(r);
	if (r->tail != NULL && !r->bad && r->off == r->len)
		data = count <= r->tail_len ? r->tail : NULL; /* the data right after the header */
	else
		data = rd_take(r, count);
	if (r->bad || data == NULL)
		return rlerror(w, tag, HVL_9P_EPROTO);
	rc = p9_fs_write(s, fid, off, data, count, &done);
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	wr_hdr(w, HVL_9P_TWRITE + 1u, tag);
	wr32(w, done);
	return finish(w);
}

static uint32_t do_getattr(struct p9_sess *s, struct rd *r, struct wr *w, uint16_t tag)
{
	struct p9_attr a;
	uint32_t fid = rd32(r);
	int rc;

	(void)rd64(r); /* request_mask: we always return the basic set */
	if (r->bad)
		return rlerror(w, tag, HVL_9P_EPROTO);
	rc = p9_fs_getattr(s, fid, &a);
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	wr_hdr(w, HVL_9P_TGETATTR + 1u, tag);
	wr64(w, HVL_9P_GETATTR_BASIC);
	wr_qid(w, &a.qid);
	wr32(w, a.mode);
	wr32(w, a.uid);
	wr32(w, a.gid);
	wr64(w, a.nlink);
	wr64(w, a.rdev);
	wr64(w, a.size);
	wr64(w, a.blksize);
	wr64(w, a.blocks);
	wr64(w, a.atime_sec);
	wr64(w, a.atime_nsec);
	wr64(w, a.mtime_sec);
	wr64(w, a.mtime_nsec);
	wr64(w, a.ctime_sec);
	wr64(w, a.ctime_nsec);
	wr64(w, 0); /* btime */
	wr64(w, 0);
	wr64(w, 0); /* gen */
	wr64(w, 0); /* data_version */
	return w->bad ? rlerror(w, tag, HVL_9P_ERANGE) : finish(w);
}

static uint32_t do_setattr(struct p9_sess *s, struct rd *r, struct wr *w, uint16_t tag)
{
	struct p9_setattr sa;
	uint32_t fid = rd32(r);
	int rc;

	sa.valid = rd32(r);
	sa.mode = rd32(r);
	sa.uid = rd32(r);
	sa.gid = rd32(r);
	sa.size = rd64(r);
	sa.atime_sec = rd64(r);
	sa.atime_nsec = rd64(r);
	sa.mtime_sec = rd64(r);
	sa.mtime_nsec = rd64(r);
	if (r->bad)
		return rlerror(w, tag, HVL_9P_EPROTO);
	rc = p9_fs_setattr(s, fid, &sa);
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	wr_hdr(w, HVL_9P_TSETATTR + 1u, tag);
	return finish(w);
}

static uint32_t do_statfs(struct p9_sess *s, struct rd *r, struct wr *w, uint16_t tag)
{
	struct p9_statfs st;
	uint32_t fid = rd32(r);
	int rc;

	if (r->bad)
		return rlerror(w, tag, HVL_9P_EPROTO);
	rc = p9_fs_statfs(s, fid, &st);
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	wr_hdr(w, HVL_9P_TSTATFS + 1u, tag);
	wr32(w, st.type);
	wr32(w, st.bsize);
	wr64(w, st.blocks);
	wr64(w, st.bfree);
	wr64(w, st.bavail);
	wr64(w, st.files);
	wr64(w, st.ffree);
	wr64(w, st.fsid);
	wr32(w, st.namelen);
	return w->bad ? rlerror(w, tag, HVL_9P_ERANGE) : finish(w);
}

/* Rlopen/Rlcreate/Rmkdir/Rsymlink/Rattach: a qid, plus iounit for the opens. */
static uint32_t reply_qid(struct p9_sess *s, struct wr *w, uint8_t type, uint16_t tag,
			  const struct p9_qid *q, int iounit)
{
	wr_hdr(w, type, tag);
	wr_qid(w, q);
	if (iounit)
		wr32(w, s->msize - HVL_9P_IOHDR);
	return w->bad ? rlerror(w, tag, HVL_9P_ERANGE) : finish(w);
}

static uint32_t reply_empty(struct wr *w, uint8_t type, uint16_t tag, int rc)
{
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	wr_hdr(w, type, tag);
	return finish(w);
}

static uint32_t do_lock(struct p9_sess *s, struct rd *r, struct wr *w, uint16_t tag, int get)
{
	char client[256];
	uint32_t fid = rd32(r), pid = 0;
	uint8_t type = rd8(r), status = 0;
	uint64_t start, len;
	int rc;

	if (!get)
		(void)rd32(r); /* flags: we never block */
	start = rd64(r);
	len = rd64(r);
	(void)rd32(r); /* proc_id */
	(void)rd_str(r, client, sizeof(client));
	if (r->bad)
		return rlerror(w, tag, HVL_9P_EPROTO);
	if (get) {
		rc = p9_fs_getlock(s, fid, &type, &start, &len, &pid);
		if (rc != 0)
			return rlerror(w, tag, (uint32_t)-rc);
		wr_hdr(w, HVL_9P_TGETLOCK + 1u, tag);
		wr8(w, type);
		wr64(w, start);
		wr64(w, len);
		wr32(w, pid);
		wr_str(w, "", 0);
		return w->bad ? rlerror(w, tag, HVL_9P_ERANGE) : finish(w);
	}
	rc = p9_fs_lock(s, fid, type, start, len, &status);
	if (rc != 0)
		return rlerror(w, tag, (uint32_t)-rc);
	wr_hdr(w, HVL_9P_TLOCK + 1u, tag);
	wr8(w, status);
	return finish(w);
}

/* Everything that needs a negotiated session (all but Tversion). */
static uint32_t dispatch(struct p9_sess *s, uint8_t type, struct rd *r, struct wr *w, uint16_t tag)
{
	static __thread char a[P9_NAME_MAX + 1], b[P9_NAME_MAX + 1], tgt[4097];
	struct p9_qid q;
	uint32_t f1, f2, u1, u2;
	int rc;

	switch (type) {
	case HVL_9P_TATTACH:
		f1 = rd32(r);
		(void)rd32(r);                       /* afid: no authentication */
		(void)rd_str(r, tgt, sizeof(tgt));   /* uname */
		(void)rd_str(r, tgt, sizeof(tgt));   /* aname: one export per device */
		(void)rd32(r);                       /* n_uname */
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		rc = p9_fs_attach(s, f1, &q);
		return rc != 0 ? rlerror(w, tag, (uint32_t)-rc) : reply_qid(s, w, HVL_9P_TATTACH + 1u, tag, &q, 0);
	case HVL_9P_TAUTH:
		/* No authentication: Rlerror(ENOENT) is how 9P2000.L servers (diod)
		 * say "attach without an afid", and how its clients read it. */
		return rlerror(w, tag, HVL_9P_ENOENT);
	case HVL_9P_TWALK:
		return do_walk(s, r, w, tag);
	case HVL_9P_TCLUNK:
	case HVL_9P_TREMOVE:
		f1 = rd32(r);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		rc = type == HVL_9P_TCLUNK ? p9_fs_clunk(s, f1) : p9_fs_remove(s, f1);
		return reply_empty(w, (uint8_t)(type + 1u), tag, rc);
	case HVL_9P_TLOPEN:
		f1 = rd32(r);
		u1 = rd32(r);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		rc = p9_fs_lopen(s, f1, u1, &q);
		return rc != 0 ? rlerror(w, tag, (uint32_t)-rc) : reply_qid(s, w, HVL_9P_TLOPEN + 1u, tag, &q, 1);
	case HVL_9P_TLCREATE:
		f1 = rd32(r);
		rc = rd_name(r, a);
		u1 = rd32(r);
		u2 = rd32(r);
		(void)rd32(r); /* gid: files belong to the PMM's user */
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		if (rc == 0)
			rc = p9_fs_lcreate(s, f1, a, u1, u2, &q);
		return rc != 0 ? rlerror(w, tag, (uint32_t)-rc) : reply_qid(s, w, HVL_9P_TLCREATE + 1u, tag, &q, 1);
	case HVL_9P_TREAD:
		return do_read(s, r, w, tag, 0);
	case HVL_9P_TREADDIR:
		return do_read(s, r, w, tag, 1);
	case HVL_9P_TWRITE:
		return do_write(s, r, w, tag);
	case HVL_9P_TGETATTR:
		return do_getattr(s, r, w, tag);
	case HVL_9P_TSETATTR:
		return do_setattr(s, r, w, tag);
	case HVL_9P_TSTATFS:
		return do_statfs(s, r, w, tag);
	case HVL_9P_TMKDIR:
		f1 = rd32(r);
		rc = rd_name(r, a);
		u1 = rd32(r);
		(void)rd32(r); /* gid */
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		if (rc == 0)
			rc = p9_fs_mkdir(s, f1, a, u1, &q);
		return rc != 0 ? rlerror(w, tag, (uint32_t)-rc) : reply_qid(s, w, HVL_9P_TMKDIR + 1u, tag, &q, 0);
	case HVL_9P_TUNLINKAT:
		f1 = rd32(r);
		rc = rd_name(r, a);
		u1 = rd32(r);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		if (rc == 0)
			rc = p9_fs_unlinkat(s, f1, a, u1);
		return reply_empty(w, HVL_9P_TUNLINKAT + 1u, tag, rc);
	case HVL_9P_TRENAMEAT:
		f1 = rd32(r);
		rc = rd_name(r, a);
		f2 = rd32(r);
		if (rc == 0)
			rc = rd_name(r, b);
		else
			(void)rd_name(r, b);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		if (rc == 0)
			rc = p9_fs_renameat(s, f1, a, f2, b);
		return reply_empty(w, HVL_9P_TRENAMEAT + 1u, tag, rc);
	case HVL_9P_TFSYNC:
		f1 = rd32(r);
		u1 = rd32(r);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		return reply_empty(w, HVL_9P_TFSYNC + 1u, tag, p9_fs_fsync(s, f1, u1));
	case HVL_9P_TSYMLINK: {
		long tl;

		f1 = rd32(r);
		rc = rd_name(r, a);
		tl = rd_str(r, tgt, sizeof(tgt));
		(void)rd32(r); /* gid */
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		if (rc == 0 && tl <= 0)
			rc = tl == 0 ? -ENOENT : -ENAMETOOLONG;
		if (rc == 0)
			rc = p9_fs_symlink(s, f1, a, tgt, &q);
		return rc != 0 ? rlerror(w, tag, (uint32_t)-rc) : reply_qid(s, w, HVL_9P_TSYMLINK + 1u, tag, &q, 0);
	}
	case HVL_9P_TREADLINK: {
		size_t n = 0;

		f1 = rd32(r);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		rc = p9_fs_readlink(s, f1, tgt, sizeof(tgt), &n);
		if (rc != 0)
			return rlerror(w, tag, (uint32_t)-rc);
		wr_hdr(w, HVL_9P_TREADLINK + 1u, tag);
		wr_str(w, tgt, n);
		return w->bad ? rlerror(w, tag, HVL_9P_ERANGE) : finish(w);
	}
	case HVL_9P_TLINK:
		f1 = rd32(r);
		f2 = rd32(r);
		rc = rd_name(r, a);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		if (rc == 0)
			rc = p9_fs_link(s, f1, f2, a);
		return reply_empty(w, HVL_9P_TLINK + 1u, tag, rc);
	case HVL_9P_TLOCK:
		return do_lock(s, r, w, tag, 0);
	case HVL_9P_TGETLOCK:
		return do_lock(s, r, w, tag, 1);
	case HVL_9P_TFLUSH:
		/* Requests are served in order and to completion: nothing to cancel. */
		(void)rd16(r);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		wr_hdr(w, HVL_9P_TFLUSH + 1u, tag);
		return finish(w);
	case HVL_9P_TXATTRWALK:
	case HVL_9P_TXATTRCREATE:
		return rlerror(w, tag, HVL_9P_EOPNOTSUPP);
	case HVL_9P_TMKNOD:
		return rlerror(w, tag, HVL_9P_EPERM); /* never devices, FIFOs or sockets */
	case HVL_9P_TRENAME:
		f1 = rd32(r);
		f2 = rd32(r);
		rc = rd_name(r, a);
		if (r->bad)
			return rlerror(w, tag, HVL_9P_EPROTO);
		if (rc == 0)
			rc = p9_fs_rename(s, f1, f2, a);
		return reply_empty(w, HVL_9P_TRENAME + 1u, tag, rc);
	default:
		return rlerror(w, tag, HVL_9P_EOPNOTSUPP);
	}
}

/* Both entry points: @len bytes at @req, then @tail_len more at @tail (only for a Twrite). */
static uint32_t handle(struct p9_sess *s, const uint8_t *req, uint32_t len, const uint8_t *tail,
		       uint32_t tail_len, uint8_t *resp, uint32_t cap)
{
	struct rd r = { req, len, 0, 0, NULL, 0 };
	struct wr w = { resp, cap, 0, 0 };
	uint32_t size, n;
	uint8_t type;
	uint16_t tag;

	if (len < HVL_9P_HDR || cap < HVL_9P_HDR + 4u)
		return 0;
	size = rd32(&r);
	type = rd8(&r);
	tag = rd16(&r);
	s->msgs++;
	/* The size field must describe exactly what arrived (transports cut at size). */
	if (size < HVL_9P_HDR || size > len + (uint64_t)tail_len ||
	    (tail != NULL && size > len && type != HVL_9P_TWRITE)) {
		s->errors++;
		return rlerror(&w, tag, HVL_9P_EPROTO);
	}
	if (tail != NULL && size > len) {
		r.tail = tail;
		r.tail_len = size - len;
		size = len;
	}
	r.len = size;
	if (s->msize != 0 && w.cap > s->msize)
		w.cap = s->msize;
	if (type == HVL_9P_TVERSION)
		n = do_version(s, &r, &w, tag);
	else if (s->msize == 0)
		n = rlerror(&w, tag, HVL_9P_EPROTO); /* Tversion must come first */
	else if ((type & 1u) != 0u)
		n = rlerror(&w, tag, HVL_9P_EOPNOTSUPP); /* an R-message (or Rlerror) sent to us */
	else
		n = dispatch(s, type, &r, &w, tag);
	return n;
}

uint32_t p9_handle(struct p9_sess *s, const uint8_t *req, uint32_t len, uint8_t *resp, uint32_t cap)
{
	return handle(s, req, len, NULL, 0, resp, cap);
}

uint32_t p9_handle_write(struct p9_sess *s, const uint8_t *hdr, uint32_t hlen, const uint8_t *data,
			 uint32_t dlen, uint8_t *resp, uint32_t cap)
{
	return handle(s, hdr, hlen, data, dlen, resp, cap);
}
