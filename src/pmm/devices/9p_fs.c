/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 9P2000.L operations on the exported host directory (see 9p_srv.h).
 *
 * Confinement.  Every fid holds an O_PATH descriptor of its object, never
 * a path.  A walk opens exactly one name at a time, relative to the
 * previous component's descriptor, with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) and O_PATH|O_NOFOLLOW: a
 * name has been checked to contain no '/' and to be neither "." nor "..",
 * so resolution cannot leave the directory the fid names, a symlink is
 * returned as itself (and walking "through" it fails with ENOTDIR), and a
 * rename racing the walk can at most move an object to another place inside
 * the export, because nothing is ever re-resolved from the root by name.
 * Only regular files, directories and symlinks become fids: a device node,
 * FIFO or socket found by a walk is refused (the O_PATH open does not open
 * it, fstat of that descriptor tells its type, race-free).  Files are
 * opened for I/O by reopening the fid's own inode through
 * /proc/self/fd/N, after its type was checked; creation uses
 * O_CREAT|O_EXCL|O_NOFOLLOW so an existing node is never opened by name.
 * chmod/truncate/utimens go through the same /proc/self/fd link, which names
 * exactly the fid's inode (with *at calls and open+ftruncate only, which
 * the PMM's seccomp allow-list keeps, src/pmm/sandbox.c).  Hard links can only be made to a regular file
 * the remote already reaches, and symlink targets are stored, never
 * followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "9p_srv.h"

/* ------------------------------------------------------------- helpers */

int p9_name_ok(const char *name, size_t len)
{
	if (len == 0 || (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	if (len > P9_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) != NULL || memchr(name, '\0', len) != NULL)
		return -EINVAL;
	return 0;
}

/*
 * One component beneath @dirfd, never following a symlink and never
 * leaving @dirfd (openat2, Linux >= 5.6).  Without openat2 the name alone
 * (no '/', not "..") with O_NOFOLLOW gives the same confinement.
 */
static int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : (int)fd;
}

static uint8_t qtype_of(mode_t m)
{
	if (S_ISDIR(m))
		return HVL_9P_QTDIR;
	if (S_ISLNK(m))
		return HVL_9P_QTSYMLINK;
	return HVL_9P_QTFILE;
}

static int type_ok(mode_t m)
{
	return S_ISREG(m) || S_ISDIR(m) || S_ISLNK(m);
}

static void qid_of(const struct stat *st, struct p9_qid *q)
{
	q->type = qtype_of(st->st_mode);
	q->version = (uint32_t)st->st_mtim.tv_sec ^ (uint32_t)st->st_mtim.tv_nsec;
	q->path = (uint64_t)st->st_ino;
}

static void proc_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

static struct p9_fid *dir_fid(struct p9_sess *s, uint32_t fid, int *rc)
{
	struct p9_fid *f = p9_fid_get(s, fid);

	*rc = 0;
	if (f == NULL)
		*rc = -EBADF;
	else if (f->qtype != HVL_9P_QTDIR)
		*rc = -ENOTDIR;
	return *rc == 0 ? f : NULL;
}

/* The qid of @name in directory @dfd (without following it). */
static int qid_at(int dfd, const char *name, struct p9_qid *q)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	qid_of(&st, q);
	return 0;
}

/* ------------------------------------------------------------- operations */

int p9_fs_attach(struct p9_sess *s, uint32_t fid, struct p9_qid *qid)
{
	struct stat st;
	int fd, rc;

	fd = fcntl(s->ex->rootfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = p9_fid_new(s, fid, fd, HVL_9P_QTDIR);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	qid_of(&st, qid);
	return 0;
}

int p9_fs_walk(struct p9_sess *s, uint32_t fid, uint32_t newfid, unsigned n,
	       char names[][P9_NAME_MAX + 1], struct p9_qid *qids, unsigned *nq)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	int cur, prev = -1, rc = 0;
	char *name = NULL;
	uint8_t qt;
	unsigned i;

	*nq = 0;
	if (f == NULL)
		return -EBADF;
	if (newfid != fid && p9_fid_get(s, newfid) != NULL)
		return -EEXIST;
	cur = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0)
		return -errno;
	qt = f->qtype;
	if (n == 0) {
		/* A clone also knows where its object lives (for Tremove/Trename). */
		if (f->pfd >= 0)
			prev = fcntl(f->pfd, F_DUPFD_CLOEXEC, 0);
		if (f->name != NULL)
			name = strdup(f->name);
	}
	for (i = 0; i < n; i++) {
		struct stat st;
		int next = open_beneath(cur, names[i], O_PATH, 0);

		if (next < 0) {
			rc = next;
			break;
		}
		if (fstat(next, &st) != 0 || !type_ok(st.st_mode)) {
			/* Devices, FIFOs and sockets are never reachable. */
			rc = -EACCES;
			close(next);
			break;
		}
		/* Keep the directory the last name was found in. */
		if (prev >= 0)
			close(prev);
		prev = cur;
		cur = next;
		qid_of(&st, &qids[i]);
		qt = qids[i].type;
	}
	if (n > 0 && i == n)
		name = strdup(names[n - 1]);
	if (i < n) {
		if (prev >= 0)
			close(prev);
		close(cur);
		/* 9P: the first name failing is an error; a later one a partial Rwalk. */
		if (i == 0)
			return rc;
		*nq = i;
		return 0;
	}
	*nq = n;
	if (newfid == fid) {
		/* Walk in place: the fid now names the last object. */
		if (f->io >= 0) {
			close(cur);
			if (prev >= 0)
				close(prev);
			free(name);
			return -EBUSY;
		}
		close(f->fd);
		f->fd = cur;
		f->qtype = qt;
		p9_fid_set_parent(f, prev, name);
		return 0;
	}
	rc = p9_fid_new(s, newfid, cur, qt);
	if (rc != 0) {
		close(cur);
		if (prev >= 0)
			close(prev);
		free(name);
		return rc;
	}
	p9_fid_set_parent(p9_fid_get(s, newfid), prev, name);
	return 0;
}

int p9_fs_clunk(struct p9_sess *s, uint32_t fid)
{
	struct p9_fid *f = p9_fid_get(s, fid);

	if (f == NULL)
		return -EBADF;
	p9_fid_del(s, f);
	return 0;
}

/*
 * The fid's name in its parent still names the fid's inode: a Tremove or
 * Trename after someone renamed the object must not hit whatever took its
 * place (ESTALE instead).
 */
static int name_is_fid(const struct p9_fid *f)
{
	struct stat a, b;

	if (f->pfd < 0 || f->name == NULL)
		return -EBUSY; /* the export root itself */
	if (fstat(f->fd, &a) != 0 || fstatat(f->pfd, f->name, &b, AT_SYMLINK_NOFOLLOW) != 0)
		return -ESTALE;
	return (a.st_dev == b.st_dev && a.st_ino == b.st_ino) ? 0 : -ESTALE;
}

int p9_fs_remove(struct p9_sess *s, uint32_t fid)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	int rc;

	if (f == NULL)
		return -EBADF;
	/* Tremove clunks the fid whatever happens. */
	rc = s->ex->readonly ? -EROFS : name_is_fid(f);
	if (rc == 0 && unlinkat(f->pfd, f->name, f->qtype == HVL_9P_QTDIR ? AT_REMOVEDIR : 0) != 0)
		rc = -errno;
	p9_fid_del(s, f);
	return rc;
}

int p9_fs_rename(struct p9_sess *s, uint32_t fid, uint32_t dfid, const char *name)
{
	struct p9_fid *f = p9_fid_get(s, fid), *d;
	char *copy;
	int rc, pfd;

	if (f == NULL)
		return -EBADF;
	d = dir_fid(s, dfid, &rc);
	if (d == NULL)
		return rc;
	if (s->ex->readonly)
		return -EROFS;
	rc = name_is_fid(f);
	if (rc != 0)
		return rc;
	copy = strdup(name);
	pfd = fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
	if (copy == NULL || pfd < 0) {
		free(copy);
		if (pfd >= 0)
			close(pfd);
		return -ENOMEM;
	}
	if (renameat(f->pfd, f->name, d->fd, name) != 0) {
		rc = -errno;
		free(copy);
		close(pfd);
		return rc;
	}
	p9_fid_set_parent(f, pfd, copy);
	return 0;
}

/* Reopen the fid's own inode (type already checked) with host @flags. */
static int reopen(struct p9_fid *f, int flags)
{
	char path[64];
	int fd;

	if (f->qtype == HVL_9P_QTDIR)
		fd = openat(f->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else {
		proc_path(f->fd, path, sizeof(path));
		fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	}
	return fd < 0 ? -errno : fd;
}

/* Host open flags for 9P2000.L lopen/lcreate flags (only what we honour). */
static int host_flags(uint32_t fl)
{
	int f;

	switch (fl & HVL_9P_O_ACCMODE) {
	case HVL_9P_O_WRONLY: f = O_WRONLY; break;
	case HVL_9P_O_RDWR: f = O_RDWR; break;
	default: f = O_RDONLY; break;
	}
	if (fl & HVL_9P_O_TRUNC)
		f |= O_TRUNC;
	if (fl & HVL_9P_O_APPEND)
		f |= O_APPEND;
	return f;
}

static int writes(uint32_t fl)
{
	return (fl & HVL_9P_O_ACCMODE) != HVL_9P_O_RDONLY || (fl & HVL_9P_O_TRUNC) != 0;
}

int p9_fs_lopen(struct p9_sess *s, uint32_t fid, uint32_t flags, struct p9_qid *qid)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	struct stat st;
	int fd;

	if (f == NULL)
		return -EBADF;
	if (f->io >= 0)
		return -EBUSY;
	if (f->qtype == HVL_9P_QTSYMLINK)
		return -ELOOP;
	if (f->qtype == HVL_9P_QTDIR && writes(flags))
		return -EISDIR;
	if (s->ex->readonly && writes(flags))
		return -EROFS;
	fd = reopen(f, host_flags(flags));
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(fd);
		return -EACCES;
	}
	f->io = fd;
	f->oflags = flags;
	qid_of(&st, qid);
	return 0;
}

int p9_fs_lcreate(struct p9_sess *s, uint32_t fid, const char *name, uint32_t flags,
		  uint32_t mode, struct p9_qid *qid)
{
	struct p9_fid *f;
	struct stat st;
	int fd, pfd, rc;

	f = dir_fid(s, fid, &rc);
	if (f == NULL)
		return rc;
	if (f->io >= 0)
		return -EBUSY;
	if (s->ex->readonly)
		return -EROFS;
	/* Always exclusive: an existing name (maybe a FIFO or device) is never opened. */
	fd = open_beneath(f->fd, name, host_flags(flags) | O_CREAT | O_EXCL, (mode_t)(mode & 0777u));
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EACCES;
	}
	pfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (pfd < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* Tlcreate: the directory fid now names the new, opened file, found in that directory. */
	p9_fid_set_parent(f, f->fd, strdup(name));
	f->fd = pfd;
	f->io = fd;
	f->qtype = HVL_9P_QTFILE;
	f->oflags = flags & ~(HVL_9P_O_CREAT | HVL_9P_O_EXCL | HVL_9P_O_TRUNC);
	qid_of(&st, qid);
	return 0;
}

static struct p9_fid *io_fid(struct p9_sess *s, uint32_t fid, int wr, int *rc)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	uint32_t acc;

	*rc = -EBADF;
	if (f == NULL || f->io < 0)
		return NULL;
	acc = f->oflags & HVL_9P_O_ACCMODE;
	if (wr ? acc == HVL_9P_O_RDONLY : acc == HVL_9P_O_WRONLY)
		return NULL;
	*rc = 0;
	return f;
}

int p9_fs_read(struct p9_sess *s, uint32_t fid, uint64_t off, uint32_t count, uint8_t *buf,
	       uint32_t *got)
{
	struct p9_fid *f = io_fid(s, fid, 0, &(int){0});
	uint32_t done = 0;

	*got = 0;
	if (f == NULL)
		return -EBADF;
	if (f->qtype == HVL_9P_QTDIR)
		return -EISDIR;
	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	/* Short reads of regular files only happen at EOF or on signals; at most a few passes. */
	while (done < count) {
		ssize_t n = pread(f->io, buf + done, count - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done > 0)
				break;
			return -errno;
		}
		if (n == 0)
			break;
		done += (uint32_t)n;
	}
	*got = done;
	return 0;
}

int p9_fs_write(struct p9_sess *s, uint32_t fid, uint64_t off, const uint8_t *buf,
		uint32_t count, uint32_t *done)
{
	struct p9_fid *f = io_fid(s, fid, 1, &(int){0});
	ssize_t n;

	*done = 0;
	if (f == NULL)
		return -EBADF;
	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	do {
		if (f->oflags & HVL_9P_O_APPEND)
			n = write(f->io, buf, count);
		else
			n = pwrite(f->io, buf, count, (off_t)off);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*done = (uint32_t)n;
	return 0;
}

int p9_fs_getattr(struct p9_sess *s, uint32_t fid, struct p9_attr *a)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	struct stat st;

	if (f == NULL)
		return -EBADF;
	if (fstat(f->fd, &st) != 0)
		return -errno;
	memset(a, 0, sizeof(*a));
	qid_of(&st, &a->qid);
	a->mode = st.st_mode;
	a->uid = st.st_uid;
	a->gid = st.st_gid;
	a->nlink = st.st_nlink;
	a->rdev = 0;
	a->size = (uint64_t)st.st_size;
	a->blksize = (uint64_t)st.st_blksize;
	a->blocks = (uint64_t)st.st_blocks;
	a->atime_sec = (uint64_t)st.st_atim.tv_sec;
	a->atime_nsec = (uint64_t)st.st_atim.tv_nsec;
	a->mtime_sec = (uint64_t)st.st_mtim.tv_sec;
	a->mtime_nsec = (uint64_t)st.st_mtim.tv_nsec;
	a->ctime_sec = (uint64_t)st.st_ctim.tv_sec;
	a->ctime_nsec = (uint64_t)st.st_ctim.tv_nsec;
	return 0;
}

int p9_fs_setattr(struct p9_sess *s, uint32_t fid, const struct p9_setattr *sa)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	char path[64];
	struct stat st;

	if (f == NULL)
		return -EBADF;
	if (s->ex->readonly)
		return -EROFS;
	if (fstat(f->fd, &st) != 0)
		return -errno;
	if (f->qtype == HVL_9P_QTSYMLINK)
		return -EPERM;
	proc_path(f->fd, path, sizeof(path));
	/* Ownership stays with the PMM's user: only a no-op chown is accepted. */
	if (((sa->valid & HVL_9P_SETATTR_UID) && sa->uid != st.st_uid) ||
	    ((sa->valid & HVL_9P_SETATTR_GID) && sa->gid != st.st_gid))
		return -EPERM;
	/* No set-id bits: files the remote makes must not gain privileges. */
	if ((sa->valid & HVL_9P_SETATTR_MODE) &&
	    fchmodat(AT_FDCWD, path, (mode_t)(sa->mode & 01777u), 0) != 0)
		return -errno;
	if (sa->valid & HVL_9P_SETATTR_SIZE) {
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		if (sa->size > (uint64_t)INT64_MAX)
			return -EFBIG;
		if (f->io >= 0 && (f->oflags & HVL_9P_O_ACCMODE) != HVL_9P_O_RDONLY) {
			if (ftruncate(f->io, (off_t)sa->size) != 0)
				return -errno;
		} else {
			/* Not open for writing: a private write descriptor of the same inode. */
			int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
			int rc = 0;

			if (fd < 0)
				return -errno;
			if (ftruncate(fd, (off_t)sa->size) != 0)
				rc = -errno;
			close(fd);
			if (rc != 0)
				return rc;
		}
	}
	if (sa->valid & (HVL_9P_SETATTR_ATIME | HVL_9P_SETATTR_MTIME)) {
		struct timespec ts[2];

		ts[0].tv_sec = (time_t)sa->atime_sec;
		ts[0].tv_nsec = (long)(sa->atime_nsec % 1000000000u);
		ts[1].tv_sec = (time_t)sa->mtime_sec;
		ts[1].tv_nsec = (long)(sa->mtime_nsec % 1000000000u);
		if (!(sa->valid & HVL_9P_SETATTR_ATIME))
			ts[0].tv_nsec = UTIME_OMIT;
		else if (!(sa->valid & HVL_9P_SETATTR_ATIME_SET))
			ts[0].tv_nsec = UTIME_NOW;
		if (!(sa->valid & HVL_9P_SETATTR_MTIME))
			ts[1].tv_nsec = UTIME_OMIT;
		else if (!(sa->valid & HVL_9P_SETATTR_MTIME_SET))
			ts[1].tv_nsec = UTIME_NOW;
		if (utimensat(AT_FDCWD, path, ts, 0) != 0)
			return -errno;
	}
	return 0;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8u * i));
}

int p9_fs_readdir(struct p9_sess *s, uint32_t fid, uint64_t off, uint32_t count, uint8_t *buf,
		  uint32_t *used)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	char dents[16384] __attribute__((aligned(8)));
	uint32_t pos = 0;
	int full = 0;

	*used = 0;
	if (f == NULL || f->io < 0)
		return -EBADF;
	if (f->qtype != HVL_9P_QTDIR)
		return -ENOTDIR;
	/* Offsets are the file system's own d_off cookies: stateless and restartable. */
	if (lseek(f->io, (off_t)off, SEEK_SET) < 0)
		return -errno;
	while (!full) {
		long n = syscall(SYS_getdents64, f->io, dents, sizeof(dents)), k;

		if (n < 0)
			return pos > 0 ? 0 : -errno;
		if (n == 0)
			break;
		for (k = 0; k < n;) {
			const struct linux_dirent64 *d = (const void *)(dents + k);
			size_t nl = strnlen(d->d_name, P9_NAME_MAX + 1);
			uint32_t need = (uint32_t)(HVL_9P_QID + 8u + 1u + 2u + nl);
			uint8_t qt = d->d_type == DT_DIR ? HVL_9P_QTDIR :
				     d->d_type == DT_LNK ? HVL_9P_QTSYMLINK : HVL_9P_QTFILE;

			if (need > count - pos) {
				full = 1;
				break;
			}
			buf[pos] = qt;
			put_le(buf + pos + 1, 0, 4);
			put_le(buf + pos + 5, d->d_ino, 8);
			put_le(buf + pos + 13, (uint64_t)d->d_off, 8);
			buf[pos + 21] = d->d_type;
			put_le(buf + pos + 22, nl, 2);
			memcpy(buf + pos + 24, d->d_name, nl);
			pos += need;
			k += d->d_reclen;
		}
	}
	if (pos == 0 && full)
		return -EINVAL; /* count too small for the next entry */
	*used = pos;
	return 0;
}

/* Common start of the operations that create or remove a name in @dfid. */
static struct p9_fid *mod_dir(struct p9_sess *s, uint32_t dfid, int *rc)
{
	struct p9_fid *f = dir_fid(s, dfid, rc);

	if (f != NULL && s->ex->readonly) {
		*rc = -EROFS;
		return NULL;
	}
	return f;
}

int p9_fs_mkdir(struct p9_sess *s, uint32_t dfid, const char *name, uint32_t mode,
		struct p9_qid *qid)
{
	int rc;
	struct p9_fid *d = mod_dir(s, dfid, &rc);

	if (d == NULL)
		return rc;
	if (mkdirat(d->fd, name, (mode_t)(mode & 01777u)) != 0)
		return -errno;
	return qid_at(d->fd, name, qid);
}

int p9_fs_unlinkat(struct p9_sess *s, uint32_t dfid, const char *name, uint32_t flags)
{
	int rc;
	struct p9_fid *d = mod_dir(s, dfid, &rc);

	if (d == NULL)
		return rc;
	if (unlinkat(d->fd, name, (flags & HVL_9P_AT_REMOVEDIR) ? AT_REMOVEDIR : 0) != 0)
		return -errno;
	return 0;
}

int p9_fs_renameat(struct p9_sess *s, uint32_t odfid, const char *oname, uint32_t ndfid,
		   const char *nname)
{
	int rc;
	struct p9_fid *o = mod_dir(s, odfid, &rc), *n;

	if (o == NULL)
		return rc;
	n = mod_dir(s, ndfid, &rc);
	if (n == NULL)
		return rc;
	/* Both names are single components under fids inside the export. */
	if (renameat(o->fd, oname, n->fd, nname) != 0)
		return -errno;
	return 0;
}

int p9_fs_fsync(struct p9_sess *s, uint32_t fid, uint32_t datasync)
{
	struct p9_fid *f = p9_fid_get(s, fid);

	if (f == NULL || f->io < 0)
		return -EBADF;
	if ((datasync ? fdatasync(f->io) : fsync(f->io)) != 0)
		return -errno;
	return 0;
}

int p9_fs_statfs(struct p9_sess *s, uint32_t fid, struct p9_statfs *out)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	struct statfs st;

	if (f == NULL)
		return -EBADF;
	if (fstatfs(f->fd, &st) != 0)
		return -errno;
	out->type = 0x01021997u; /* V9FS_MAGIC: the remote sees a 9P file system */
	out->bsize = (uint32_t)st.f_bsize;
	out->blocks = st.f_blocks;
	out->bfree = st.f_bfree;
	out->bavail = st.f_bavail;
	out->files = st.f_files;
	out->ffree = st.f_ffree;
	memcpy(&out->fsid, &st.f_fsid, sizeof(out->fsid) < sizeof(st.f_fsid) ? sizeof(out->fsid) : sizeof(st.f_fsid));
	out->namelen = (uint32_t)st.f_namelen;
	return 0;
}

int p9_fs_symlink(struct p9_sess *s, uint32_t dfid, const char *name, const char *target,
		  struct p9_qid *qid)
{
	int rc;
	struct p9_fid *d = mod_dir(s, dfid, &rc);

	if (d == NULL)
		return rc;
	/* The target is text we store; the server never follows a symlink. */
	if (symlinkat(target, d->fd, name) != 0)
		return -errno;
	return qid_at(d->fd, name, qid);
}

int p9_fs_readlink(struct p9_sess *s, uint32_t fid, char *buf, size_t cap, size_t *len)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	ssize_t n;

	if (f == NULL)
		return -EBADF;
	if (f->qtype != HVL_9P_QTSYMLINK)
		return -EINVAL;
	n = readlinkat(f->fd, "", buf, cap - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*len = (size_t)n;
	return 0;
}

int p9_fs_link(struct p9_sess *s, uint32_t dfid, uint32_t fid, const char *name)
{
	int rc;
	struct p9_fid *d = mod_dir(s, dfid, &rc), *f;
	char path[64];

	if (d == NULL)
		return rc;
	f = p9_fid_get(s, fid);
	if (f == NULL)
		return -EBADF;
	if (f->qtype != HVL_9P_QTFILE)
		return -EPERM;
	/* Link exactly the fid's inode (already inside the export). */
	proc_path(f->fd, path, sizeof(path));
	if (linkat(AT_FDCWD, path, d->fd, name, AT_SYMLINK_FOLLOW) != 0)
		return -errno;
	return 0;
}

int p9_fs_lock(struct p9_sess *s, uint32_t fid, uint8_t type, uint64_t start, uint64_t len,
	       uint8_t *status)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	struct flock fl;

	if (f == NULL || f->io < 0)
		return -EBADF;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = type == HVL_9P_LOCK_RDLCK ? F_RDLCK : type == HVL_9P_LOCK_WRLCK ? F_WRLCK : F_UNLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)(start & (uint64_t)INT64_MAX);
	fl.l_len = (off_t)(len & (uint64_t)INT64_MAX);
	/* Open-file-description locks: per fid, never blocking the device thread. */
	if (fcntl(f->io, F_OFD_SETLK, &fl) != 0)
		*status = (errno == EAGAIN || errno == EACCES) ? HVL_9P_LOCK_BLOCKED : HVL_9P_LOCK_ERROR;
	else
		*status = HVL_9P_LOCK_SUCCESS;
	return 0;
}

int p9_fs_getlock(struct p9_sess *s, uint32_t fid, uint8_t *type, uint64_t *start, uint64_t *len,
		  uint32_t *pid)
{
	struct p9_fid *f = p9_fid_get(s, fid);
	struct flock fl;

	if (f == NULL || f->io < 0)
		return -EBADF;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = *type == HVL_9P_LOCK_RDLCK ? F_RDLCK : F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)(*start & (uint64_t)INT64_MAX);
	fl.l_len = (off_t)(*len & (uint64_t)INT64_MAX);
	if (fcntl(f->io, F_OFD_GETLK, &fl) != 0)
		return -errno;
	*type = fl.l_type == F_RDLCK ? HVL_9P_LOCK_RDLCK : fl.l_type == F_WRLCK ? HVL_9P_LOCK_WRLCK
									: HVL_9P_LOCK_UNLCK;
	*start = (uint64_t)fl.l_start;
	*len = (uint64_t)fl.l_len;
	*pid = 0;
	return 0;
}
