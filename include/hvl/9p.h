/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 9P2000.L client with a POSIX-like file API for the remote core: the
 * remote reaches the files the PMM exports (virtio-9p, device ID 9)
 * without a file system of its own.
 *
 * Two layers:
 *   - struct hvl_9p: the client (paths, fids, open files, errno-style
 *     returns) over any struct hvl_9p_transport: up to HVL_9P_SLOTS
 *     request slots, each a T/R buffer pair, submitted and completed
 *     separately.  Tests run the same client over a socket to other 9P
 *     servers (diod).
 *   - struct hvl_9p_virtio: the virtio-9p transport (one request queue,
 *     buffers carved from the device's data area).
 *
 * Everything but large reads and writes is one request at a time.  A read
 * or write longer than one slot's message is split into Tread/Twrite
 * pieces with up to nslots of them in flight (the next piece is copied into
 * its slot while the server works on the previous ones), then collected in
 * order.  A transport whose response buffers lie back to back may offer
 * them all to slot 0 while it is alone in flight (bigsize): msize is then
 * that size, and a zero-copy read gets one message of it.
 * No allocation, no recursion; every wait for an answer lasts at most the
 * timeout given at mount (hvl_9p_set_timeout).  After a timeout the
 * buffers may still belong to the device, so the transport refuses further
 * requests (-EIO) until it is reopened.
 * Not thread-safe: one caller at a time per struct hvl_9p.
 *
 * Errors are negative errno values of the local C library (the Linux
 * numbers 9P2000.L carries are translated; unknown ones become -EIO).
 */
#ifndef HVL_9P_H
#define HVL_9P_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/remote.h"
#include "hvl/vq_driver.h"
#include "hvl/wire/9p.h"

#define HVL_9P_MAX_FILES   8u      /* files and directories open at once */
#define HVL_9P_DIRBUF      1024u   /* directory entries fetched per Treaddir */
#define HVL_9P_PATH_MAX    1024u   /* longest path accepted */
#define HVL_9P_NAME_MAX    255u
#define HVL_9P_DEFAULT_TIMEOUT_MS 5000u

/* open() flags: the 9P2000.L (Linux) values, see hvl/wire/9p.h. */
#define HVL_O_RDONLY HVL_9P_O_RDONLY
#define HVL_O_WRONLY HVL_9P_O_WRONLY
#define HVL_O_RDWR   HVL_9P_O_RDWR
#define HVL_O_CREAT  HVL_9P_O_CREAT
#define HVL_O_EXCL   HVL_9P_O_EXCL
#define HVL_O_TRUNC  HVL_9P_O_TRUNC
#define HVL_O_APPEND HVL_9P_O_APPEND

#define HVL_SEEK_SET 0
#define HVL_SEEK_CUR 1
#define HVL_SEEK_END 2

/* S_IFMT bits of hvl_9p_stat.mode (Linux values, as 9P2000.L sends them). */
#define HVL_9P_S_IFMT  0170000u
#define HVL_9P_S_IFDIR 0040000u
#define HVL_9P_S_IFREG 0100000u
#define HVL_9P_S_IFLNK 0120000u

/* Request slots of one transport: requests a client keeps in flight at most. */
#define HVL_9P_SLOTS 4u

/*
 * A transport with @nslots (1..HVL_9P_SLOTS) request slots; slot s owns the
 * T-message buffer tx[s] and the R-message buffer rx[s], @bufsize bytes each.
 * @bigsize (0: the same as @bufsize) is the room rx[0] has while slot 0 is
 * the only slot in flight: the virtio transport lays the response buffers
 * out back to back, so a lone request may be answered across all of them.
 *   submit: send the T-message of @tlen bytes in tx[@slot] (a slot not in
 *           flight), with room for an answer of up to @rmax bytes
 *           (<= bufsize; up to bigsize for slot 0 when no other slot is in
 *           flight, and no other slot may be submitted until it is
 *           answered); returns without waiting for the answer (a stream
 *           transport may wait up to @timeout_ms for the bytes to go out).
 *   wait:   wait up to @timeout_ms for the answer to any slot in flight and
 *           leave it in rx[*@slot], its length in *@rlen.  Answers may come
 *           in any order: virtio matches them by the chain's cookie, a
 *           stream transport by tag (an answer with no request of that tag
 *           in flight is -EPROTO).
 * Both return 0 or a negative errno.  After a failed wait (timeout, broken
 * device, malformed answer) slots may still belong to the server: the
 * transport refuses every later call (-EIO) until it is reopened.
 */
struct hvl_9p_transport {
	int (*submit)(void *ctx, uint32_t slot, uint32_t tlen, uint32_t rmax, uint32_t timeout_ms);
	int (*wait)(void *ctx, uint32_t *slot, uint32_t *rlen, uint32_t timeout_ms);
	void *ctx;
	uint8_t *tx[HVL_9P_SLOTS];
	uint8_t *rx[HVL_9P_SLOTS];
	uint32_t nslots;
	uint32_t bufsize;
	uint32_t bigsize;
};

struct hvl_9p_stat {
	uint32_t mode;            /* type and permission bits */
	uint32_t uid, gid;
	uint64_t nlink;
	uint64_t size;
	uint64_t blocks;
	uint64_t ino;             /* qid.path */
	uint64_t atime_sec, mtime_sec, ctime_sec;
};

struct hvl_9p_dirent {
	uint64_t ino;
	uint8_t type;             /* Linux DT_* value (4 dir, 8 reg, 10 lnk) */
	char name[HVL_9P_NAME_MAX + 1u];
};

/* One open file or directory (private). */
struct hvl_9p_file {
	uint32_t fid;
	uint8_t used;
	uint8_t is_dir;
	uint8_t deof;
	uint32_t flags;
	uint64_t pos;
	uint64_t dcookie;         /* readdir offset of the next batch */
	uint32_t dlen, doff;      /* entries buffered in dbuf */
	uint8_t dbuf[HVL_9P_DIRBUF];
};

struct hvl_9p {
	struct hvl_9p_transport t;
	uint32_t msize;           /* negotiated: the largest answer (read_zc's, in a lone slot 0) */
	uint32_t slotmax;         /* largest message in any slot: min(msize, t.bufsize) */
	uint32_t timeout_ms;
	uint16_t tag;             /* last tag handed out */
	uint16_t stag[HVL_9P_SLOTS]; /* tag of each slot's request */
	uint8_t mounted;
	uint32_t wslot;           /* slot of the T-message being built */
	uint32_t wlen;
	uint8_t wbad;
	struct hvl_9p_file f[HVL_9P_MAX_FILES];
	uint64_t rpcs, errors;
};

/*
 * Negotiate 9P2000.L (msize = the transport's bigsize, else its bufsize, or
 * less) and
 * attach to @aname as user @uid.  Returns 0 or -errno (-EPROTO if the
 * server does not speak 9P2000.L).
 */
int hvl_9p_mount(struct hvl_9p *c, const struct hvl_9p_transport *t, const char *aname,
		 uint32_t uid, uint32_t timeout_ms);
/* Close every open file and clunk the root. */
int hvl_9p_unmount(struct hvl_9p *c);
/* Timeout of every later request. */
void hvl_9p_set_timeout(struct hvl_9p *c, uint32_t timeout_ms);

/*
 * Open @path ("a/b/c", relative to the export; "." components are skipped,
 * ".." is refused with -EINVAL) with HVL_O_* @flags; @mode for a created
 * file.  Returns a descriptor >= 0 or -errno.
 */
int hvl_9p_open(struct hvl_9p *c, const char *path, uint32_t flags, uint32_t mode);
int hvl_9p_close(struct hvl_9p *c, int fd);
/*
 * Read/write up to @len bytes at the file position, as POSIX read/write:
 * returns the bytes done from the start of @buf (the position moves by as
 * much), or -errno if nothing was done.  More than slotmax - 24 bytes go as
 * several Tread/Twrite pieces, up to nslots in flight (one at a time for
 * O_APPEND); the count ends at the first short or failed piece (a read at
 * end of file, a write the server cut short or refused).  Pieces after
 * that one were sent too: a write may have changed bytes past the
 * returned count, a read may have filled @buf past it.
 */
long hvl_9p_read(struct hvl_9p *c, int fd, void *buf, size_t len);
long hvl_9p_write(struct hvl_9p *c, int fd, const void *buf, size_t len);
/*
 * Zero-copy read: one Tread of up to min(@len, msize - 24) bytes at the file
 * position, in slot 0 alone with all the room the transport gives it
 * (bigsize); *@data points at the bytes inside the transport's response
 * buffer of slot 0 (shared memory for virtio), valid until the next call on @c.
 * Returns the byte count (0 at end of file) or -errno.
 */
long hvl_9p_read_zc(struct hvl_9p *c, int fd, const void **data, size_t len);
/* Returns the new position or -errno. */
int64_t hvl_9p_lseek(struct hvl_9p *c, int fd, int64_t off, int whence);
int hvl_9p_fstat(struct hvl_9p *c, int fd, struct hvl_9p_stat *st);
int hvl_9p_stat(struct hvl_9p *c, const char *path, struct hvl_9p_stat *st);
int hvl_9p_fsync(struct hvl_9p *c, int fd);
int hvl_9p_ftruncate(struct hvl_9p *c, int fd, uint64_t len);

/* Directories: opendir returns a descriptor; readdir 1 = entry, 0 = end ("." and ".." skipped). */
int hvl_9p_opendir(struct hvl_9p *c, const char *path);
int hvl_9p_readdir(struct hvl_9p *c, int dd, struct hvl_9p_dirent *ent);
int hvl_9p_closedir(struct hvl_9p *c, int dd);

int hvl_9p_mkdir(struct hvl_9p *c, const char *path, uint32_t mode);
int hvl_9p_rmdir(struct hvl_9p *c, const char *path);
int hvl_9p_unlink(struct hvl_9p *c, const char *path);
int hvl_9p_rename(struct hvl_9p *c, const char *from, const char *to);

/* ------------------------------------------------------------------ */
/* The virtio-9p transport. */

struct hvl_9p_virtio {
	struct hvl_vdev vdev;
	struct hvl_vq_drv vq;
	struct hvl_9p_transport t;     /* pass to hvl_9p_mount */
	uint8_t *tx[HVL_9P_SLOTS], *rx[HVL_9P_SLOTS];
	uint64_t tx_bus[HVL_9P_SLOTS], rx_bus[HVL_9P_SLOTS];
	uint32_t bufsize;
	uint32_t bigsize;              /* rx[0] through rx[nslots - 1], up to BUF_MAX */
	uint32_t nslots;               /* slots carved (1..HVL_9P_SLOTS) */
	uint8_t busy[HVL_9P_SLOTS];    /* posted; the answer is not taken yet */
	uint8_t lone;                  /* slot 0 is posted with bigsize room: nothing else may go */
	char tag[HVL_9P_TAG_MAX + 1u]; /* mount tag from config space */
	uint8_t is_open;
	uint8_t stuck;                 /* a request timed out: reopen */
	uint32_t poll_spins;           /* busy-poll rounds before sleeping (0 = none) */
};

/* Bookkeeping bytes hvl_9p_virtio_open() needs for a queue of @qsize. */
#define HVL_9P_VIRTIO_STORAGE(qsize) HVL_VQ_DRV_STORAGE(qsize)
/* Largest message buffer the transport carves (each way, per slot). */
#define HVL_9P_VIRTIO_BUF_MAX (1024u * 1024u + 4096u)
/*
 * Smallest buffer worth a slot of its own (unless one slot's buffers are
 * smaller still): below it, fewer, larger slots.
 */
#define HVL_9P_VIRTIO_SLOT_MIN (64u * 1024u)

/*
 * Start the @nth virtio-9p device of @r (static start) and carve, for each
 * of up to HVL_9P_SLOTS request slots, one request and one response buffer
 * from its data area: all 2 x nslots buffers equal, each as large as the
 * area allows up to HVL_9P_VIRTIO_BUF_MAX, requests first, then the
 * responses back to back.  As many slots as keep each buffer at least
 * min(HVL_9P_VIRTIO_SLOT_MIN, the one-slot size), and no more than the queue
 * has descriptor pairs for (512 KiB data area: 4 slots of 64 KiB, bigsize
 * 256 KiB; 2 MiB: 4 of 256 KiB; 8 MiB + 32 KiB and up: 4 of 1 MiB + 4 KiB).
 * bigsize, what
 * slot 0 alone may be answered into, is all the response buffers up to
 * HVL_9P_VIRTIO_BUF_MAX.  The data area must hold at least two buffers of
 * HVL_9P_MSIZE_MIN.  @storage holds
 * HVL_9P_VIRTIO_STORAGE(queue size).  Then hvl_9p_mount(&client, &v->t,
 * ...).  Returns 0 or -errno.
 */
int hvl_9p_virtio_open(struct hvl_9p_virtio *v, struct hvl_remote *r, uint32_t nth,
		       void *storage, size_t len);
/* Reset the device (frees a request stuck after a timeout). */
int hvl_9p_virtio_close(struct hvl_9p_virtio *v);

/*
 * Busy-poll the used ring for up to @spins relax() rounds before sleeping
 * on the doorbell (0, the default: sleep at once).  Trades CPU for the
 * doorbell's wake-up latency on every request.
 */
void hvl_9p_virtio_set_poll_spin(struct hvl_9p_virtio *v, uint32_t spins);

#endif /* HVL_9P_H */
