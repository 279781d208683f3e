/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PMM's 9P2000.L server, independent of how messages arrive:
 *
 *   9p_msg.c     decodes one T-message (strict bounds checks on every
 *                field), calls the file-system operations, encodes the
 *                R-message or Rlerror;
 *   9p_fs.c      the operations on the exported host directory: fid table,
 *                confinement beneath the export's directory descriptor;
 *   9p_virtio.c  the virtio-9p transport (one request queue);
 *   9p_sock.c    the same server on a UNIX or loopback TCP socket.
 *
 * One struct p9_sess is one 9P session (a virtio device, or one socket
 * connection): its negotiated msize and its fids.  A session is used by one
 * thread at a time; sessions of one export share only the export's
 * read-only root descriptor.
 */
#ifndef HVL_PMM_DEVICES_9P_SRV_H
#define HVL_PMM_DEVICES_9P_SRV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hvl/wire/9p.h"

#define P9_MSIZE_DEFAULT (1024u * 1024u + 4096u) /* server's largest msize */
/*
 * Each fid holds up to three descriptors (object, its directory, opened
 * file); the PMM's main loop can only watch descriptors below
 * HVL_PMM_MAX_FD (4096), so 9p must not push other backends' sockets past
 * it: 256 fids x 9 sessions stays well below in practice.
 */
#define P9_MAX_FIDS_DEFAULT 256u
#define P9_NAME_MAX 255u

/* What one export serves (shared by every session on it). */
struct p9_export {
	int rootfd;          /* O_PATH|O_DIRECTORY of the exported directory */
	int readonly;        /* refuse every modification with EROFS */
	uint32_t max_fids;   /* per session (per attach) */
	uint32_t msize_max;  /* largest msize we agree to */
};

struct p9_fid {
	uint32_t fid;
	int fd;              /* O_PATH|O_NOFOLLOW of the object (always set) */
	int io;              /* opened descriptor after Tlopen/Tlcreate, else -1 */
	int pfd;             /* O_PATH of the directory it was found in, -1 for the root */
	char *name;          /* its name there (heap), NULL for the root */
	uint8_t qtype;       /* HVL_9P_QT* */
	uint8_t used;
	uint32_t oflags;     /* HVL_9P_O_* it was opened with */
};

struct p9_sess {
	const struct p9_export *ex;
	uint32_t msize;      /* negotiated; 0 until Tversion */
	uint32_t nfids;
	uint32_t cap;        /* slots in fids[] (power of two, > 2 * max_fids) */
	struct p9_fid *fids; /* open-addressed by fid number */
	uint64_t msgs, errors;
};

/* Initialise @s over @ex (allocates the fid table).  0 or -ENOMEM. */
int p9_sess_init(struct p9_sess *s, const struct p9_export *ex);
/* Clunk every fid (Tversion, device reset, connection end). */
void p9_sess_clunk_all(struct p9_sess *s);
/* Clunk everything and free the table. */
void p9_sess_destroy(struct p9_sess *s);

/*
 * Serve one message: @req[0..@len) is a private copy of the T-message
 * (already read from shared memory or the socket), @resp has room for
 * @cap bytes (the transport's writable space, never more than msize).
 * Returns the length of the R-message written (>= 7), or 0 if not even an
 * Rlerror fits or the header is unusable (the transport then fails the
 * device or drops the connection).  Never reads @resp.
 */
uint32_t p9_handle(struct p9_sess *s, const uint8_t *req, uint32_t len, uint8_t *resp, uint32_t cap);
/*
 * The same for a Twrite whose data is left where it arrived: @hdr[0..@hlen)
 * is the private copy of the message's first bytes (its whole header,
 * HVL_9P_TWRITE_HDR), @data[0..@dlen) the rest of the readable bytes,
 * written to the file without a copy (opaque bytes: reading them while the
 * peer changes them only changes what is written).  Any other type, or a
 * size that needs bytes past the header for anything but the data, is
 * Rlerror(EPROTO).
 */
uint32_t p9_handle_write(struct p9_sess *s, const uint8_t *hdr, uint32_t hlen, const uint8_t *data,
			 uint32_t dlen, uint8_t *resp, uint32_t cap);

/* Fid table (9p_fid.c), for 9p_fs.c. */
struct p9_fid *p9_fid_get(struct p9_sess *s, uint32_t fid);
/* A new fid owning @fd: -EEXIST if @fid is live, -EMFILE at max_fids, -EINVAL for NOFID. */
int p9_fid_new(struct p9_sess *s, uint32_t fid, int fd, uint8_t qtype);
/* Close everything the fid owns and free its slot. */
void p9_fid_del(struct p9_sess *s, struct p9_fid *f);
/* Record where the fid's object was found (takes @pfd and @name; -1/NULL for none). */
void p9_fid_set_parent(struct p9_fid *f, int pfd, char *name);

/* ------------------------------------------------------------------ */
/* File-system operations (9p_fs.c), called by 9p_msg.c.  All return 0 or a
 * negative Linux errno. */

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

struct p9_attr {
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct p9_setattr {
	uint32_t valid, mode, uid, gid;
	uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

struct p9_statfs {
	uint32_t type, bsize, namelen;
	uint64_t blocks, bfree, bavail, files, ffree, fsid;
};

/* A name from the remote is one path component: non-empty, <= 255 bytes,
 * no '/', no NUL, not "." or "..".  Returns 0 or -EINVAL/-ENAMETOOLONG. */
int p9_name_ok(const char *name, size_t len);

int p9_fs_attach(struct p9_sess *s, uint32_t fid, struct p9_qid *qid);
/* Walk @n names (already checked, NUL-terminated) from @fid into @newfid;
 * *@nq qids out (may be < n: partial walk, newfid untouched). */
int p9_fs_walk(struct p9_sess *s, uint32_t fid, uint32_t newfid, unsigned n,
	       char names[][P9_NAME_MAX + 1], struct p9_qid *qids, unsigned *nq);
int p9_fs_clunk(struct p9_sess *s, uint32_t fid);
/* Tremove: unlink the fid's name in its parent (same inode still), then clunk. */
int p9_fs_remove(struct p9_sess *s, uint32_t fid);
/* Trename: move the fid's object into directory @dfid as @name. */
int p9_fs_rename(struct p9_sess *s, uint32_t fid, uint32_t dfid, const char *name);
int p9_fs_lopen(struct p9_sess *s, uint32_t fid, uint32_t flags, struct p9_qid *qid);
int p9_fs_lcreate(struct p9_sess *s, uint32_t fid, const char *name, uint32_t flags,
		  uint32_t mode, struct p9_qid *qid);
/* Read up to @count bytes at @off into @buf; *@got bytes. */
int p9_fs_read(struct p9_sess *s, uint32_t fid, uint64_t off, uint32_t count, uint8_t *buf,
	       uint32_t *got);
int p9_fs_write(struct p9_sess *s, uint32_t fid, uint64_t off, const uint8_t *buf,
		uint32_t count, uint32_t *done);
int p9_fs_getattr(struct p9_sess *s, uint32_t fid, struct p9_attr *a);
int p9_fs_setattr(struct p9_sess *s, uint32_t fid, const struct p9_setattr *sa);
/* Encode directory entries from @off into @buf (at most @count bytes); *@used. */
int p9_fs_readdir(struct p9_sess *s, uint32_t fid, uint64_t off, uint32_t count, uint8_t *buf,
		  uint32_t *used);
int p9_fs_mkdir(struct p9_sess *s, uint32_t dfid, const char *name, uint32_t mode,
		struct p9_qid *qid);
int p9_fs_unlinkat(struct p9_sess *s, uint32_t dfid, const char *name, uint32_t flags);
int p9_fs_renameat(struct p9_sess *s, uint32_t odfid, const char *oname, uint32_t ndfid,
		   const char *nname);
int p9_fs_fsync(struct p9_sess *s, uint32_t fid, uint32_t datasync);
int p9_fs_statfs(struct p9_sess *s, uint32_t fid, struct p9_statfs *st);
int p9_fs_symlink(struct p9_sess *s, uint32_t dfid, const char *name, const char *target,
		  struct p9_qid *qid);
int p9_fs_readlink(struct p9_sess *s, uint32_t fid, char *buf, size_t cap, size_t *len);
int p9_fs_link(struct p9_sess *s, uint32_t dfid, uint32_t fid, const char *name);
/* Tlock/Tgetlock with POSIX record locks on the opened descriptor. */
int p9_fs_lock(struct p9_sess *s, uint32_t fid, uint8_t type, uint64_t start, uint64_t len,
	       uint8_t *status);
int p9_fs_getlock(struct p9_sess *s, uint32_t fid, uint8_t *type, uint64_t *start, uint64_t *len,
		  uint32_t *pid);

/* ------------------------------------------------------------------ */
/* Socket transport (9p_sock.c): the same server on a stream socket. */

struct hvl_logger;
struct p9_sock;

#define P9_SOCK_MAX_CLIENTS 8u

/*
 * Listen on @spec ("unix:/path" or "tcp:127.0.0.1:PORT"; TCP only on a
 * loopback address) and serve @ex to up to P9_SOCK_MAX_CLIENTS connections,
 * each its own session, from one thread of its own (file I/O never stalls
 * the PMM's main loop).  Returns 0 or a negative errno (logged).
 */
int p9_sock_start(struct p9_sock **out, const struct p9_export *ex, const char *spec,
		  const struct hvl_logger *log, const char *name);
/* Stop the thread, close every connection, remove the UNIX socket we made. */
void p9_sock_stop(struct p9_sock *ss);

#endif /* HVL_PMM_DEVICES_9P_SRV_H */
