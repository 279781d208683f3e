/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Remote 9P client, second half (see 9p.c for the first): directories
 * (Treaddir batches buffered per open directory, "." and ".." skipped) and
 * operations on names (mkdir, unlink, rmdir, rename), with the fallbacks
 * to Tremove/Trename for servers without Tunlinkat/Trenameat.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvl/9p.h"
#include "9p_priv.h"

/* ------------------------------------------------------------ directories */

int hvl_9p_opendir(struct hvl_9p *c, const char *path)
{
	int fd = (path != NULL) ? hvl_9p_open(c, path, HVL_O_RDONLY, 0u) : -EINVAL;

	if (fd >= 0 && c->f[fd].is_dir == 0u) {
		(void)hvl_9p_close(c, fd);
		return -ENOTDIR;
	}
	return fd;
}

/* Fetch the next batch of entries into the file's buffer. */
static int dir_fill(struct hvl_9p *c, struct hvl_9p_file *f)
{
	struct rdr r;
	uint32_t n;
	int rc;

	p9c_begin(c, HVL_9P_TREADDIR);
	p9c_put(c, f->fid, 4u);
	p9c_put(c, f->dcookie, 8u);
	p9c_put(c, HVL_9P_DIRBUF, 4u);
	rc = p9c_rpc(c, HVL_9P_TREADDIR, &r);
	if (rc != 0)
		return rc;
	n = (uint32_t)p9c_get(&r, 4u);
	if (r.bad != 0u || n > HVL_9P_DIRBUF || n > r.len - r.off)
		return -EPROTO;
	(void)memcpy(f->dbuf, &r.p[r.off], n);
	f->dlen = n;
	f->doff = 0u;
	if (n == 0u)
		f->deof = 1u;
	return 0;
}

int hvl_9p_readdir(struct hvl_9p *c, int dd, struct hvl_9p_dirent *ent)
{
	struct hvl_9p_file *f = p9c_file_of(c, dd);
	uint32_t iter;

	if (f == NULL || f->is_dir == 0u || ent == NULL)
		return -EBADF;
	/* Bounded: every pass consumes an entry or fetches a batch. */
	for (iter = 0u; iter < 4096u; iter++) {
		struct rdr r;
		uint16_t nl;

		if (f->doff >= f->dlen) {
			int rc;

			if (f->deof != 0u)
				return 0;
			rc = dir_fill(c, f);
			if (rc != 0)
				return rc;
			continue;
		}
		r.p = f->dbuf;
		r.len = f->dlen;
		r.off = f->doff;
		r.bad = 0u;
		(void)p9c_get(&r, 5u);            /* qid type, version */
		ent->ino = p9c_get(&r, 8u);
		f->dcookie = p9c_get(&r, 8u);
		ent->type = (uint8_t)p9c_get(&r, 1u);
		nl = (uint16_t)p9c_get(&r, 2u);
		if (r.bad != 0u || nl > HVL_9P_NAME_MAX || nl > r.len - r.off)
			return -EPROTO;
		(void)memcpy(ent->name, &r.p[r.off], nl);
		ent->name[nl] = '\0';
		f->doff = r.off + nl;
		if (p9c_is_dot(ent->name, nl) == 0 && p9c_is_dotdot(ent->name, nl) == 0)
			return 1;
	}
	return -EIO;
}

int hvl_9p_closedir(struct hvl_9p *c, int dd)
{
	return hvl_9p_close(c, dd);
}

/* ------------------------------------------------------------ names */

int hvl_9p_mkdir(struct hvl_9p *c, const char *path, uint32_t mode)
{
	const char *name = NULL;
	size_t nlen = 0u;
	struct rdr r;
	int rc;

	if (c == NULL || c->mounted == 0u)
		return -EINVAL;
	rc = p9c_walk(c, path, FID_TMP1, 1, &name, &nlen);
	if (rc != 0)
		return rc;
	p9c_begin(c, HVL_9P_TMKDIR);
	p9c_put(c, FID_TMP1, 4u);
	p9c_put_str(c, name, nlen);
	p9c_put(c, mode & 07777u, 4u);
	p9c_put(c, 0u, 4u);
	rc = p9c_rpc(c, HVL_9P_TMKDIR, &r);
	(void)p9c_clunk(c, FID_TMP1);
	return rc;
}

/*
 * Servers without Tunlinkat (diod answers EOPNOTSUPP) remove with Tremove,
 * which clunks the fid whatever the outcome.  The type is checked first so
 * that unlink and rmdir keep their POSIX errors.
 */
static int remove_fallback(struct hvl_9p *c, const char *path, uint32_t flags)
{
	struct hvl_9p_stat st;
	struct rdr r;
	int rc, isdir;

	rc = p9c_walk(c, path, FID_TMP2, 0, NULL, NULL);
	if (rc != 0)
		return rc;
	rc = p9c_getattr(c, FID_TMP2, &st);
	if (rc != 0) {
		(void)p9c_clunk(c, FID_TMP2);
		return rc;
	}
	isdir = ((st.mode & HVL_9P_S_IFMT) == HVL_9P_S_IFDIR) ? 1 : 0;
	if ((flags & HVL_9P_AT_REMOVEDIR) != 0u && isdir == 0) {
		(void)p9c_clunk(c, FID_TMP2);
		return -ENOTDIR;
	}
	if ((flags & HVL_9P_AT_REMOVEDIR) == 0u && isdir != 0) {
		(void)p9c_clunk(c, FID_TMP2);
		return -EISDIR;
	}
	p9c_begin(c, HVL_9P_TREMOVE);
	p9c_put(c, FID_TMP2, 4u);
	return p9c_rpc(c, HVL_9P_TREMOVE, &r);
}

static int unlink_flags(struct hvl_9p *c, const char *path, uint32_t flags)
{
	const char *name = NULL;
	size_t nlen = 0u;
	struct rdr r;
	int rc;

	if (c == NULL || c->mounted == 0u)
		return -EINVAL;
	rc = p9c_walk(c, path, FID_TMP1, 1, &name, &nlen);
	if (rc != 0)
		return rc;
	p9c_begin(c, HVL_9P_TUNLINKAT);
	p9c_put(c, FID_TMP1, 4u);
	p9c_put_str(c, name, nlen);
	p9c_put(c, flags, 4u);
	rc = p9c_rpc(c, HVL_9P_TUNLINKAT, &r);
	(void)p9c_clunk(c, FID_TMP1);
	if (rc == -EOPNOTSUPP)
		rc = remove_fallback(c, path, flags);
	return rc;
}

int hvl_9p_rmdir(struct hvl_9p *c, const char *path)
{
	return unlink_flags(c, path, HVL_9P_AT_REMOVEDIR);
}

int hvl_9p_unlink(struct hvl_9p *c, const char *path)
{
	return unlink_flags(c, path, 0u);
}

int hvl_9p_rename(struct hvl_9p *c, const char *from, const char *to)
{
	const char *on = NULL, *nn = NULL;
	size_t ol = 0u, nl = 0u;
	struct rdr r;
	int rc;

	if (c == NULL || c->mounted == 0u)
		return -EINVAL;
	rc = p9c_walk(c, from, FID_TMP1, 1, &on, &ol);
	if (rc != 0)
		return rc;
	rc = p9c_walk(c, to, FID_TMP2, 1, &nn, &nl);
	if (rc != 0) {
		(void)p9c_clunk(c, FID_TMP1);
		return rc;
	}
	p9c_begin(c, HVL_9P_TRENAMEAT);
	p9c_put(c, FID_TMP1, 4u);
	p9c_put_str(c, on, ol);
	p9c_put(c, FID_TMP2, 4u);
	p9c_put_str(c, nn, nl);
	rc = p9c_rpc(c, HVL_9P_TRENAMEAT, &r);
	if (rc == -EOPNOTSUPP) {
		/* No Trenameat (diod): Trename moves the walked fid into TMP2. */
		(void)p9c_clunk(c, FID_TMP1);
		rc = p9c_walk(c, from, FID_TMP1, 0, NULL, NULL);
		if (rc == 0) {
			p9c_begin(c, HVL_9P_TRENAME);
			p9c_put(c, FID_TMP1, 4u);
			p9c_put(c, FID_TMP2, 4u);
			p9c_put_str(c, nn, nl);
			rc = p9c_rpc(c, HVL_9P_TRENAME, &r);
		}
	}
	(void)p9c_clunk(c, FID_TMP1);
	(void)p9c_clunk(c, FID_TMP2);
	return rc;
}
