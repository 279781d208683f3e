/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The remote 9P client's suite (see p9_suite.h): integrity with checksums,
 * several files open at once, directory trees deeper than one Twalk,
 * readdir, rename, unlink, ftruncate, fsync, and the errors ENOENT,
 * EEXIST, ENOTEMPTY, ENOTDIR, EISDIR, EMFILE, EINVAL.  Every check goes
 * through the public API of the remote library only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "p9_suite.h"

static int s_fail, *s_pass;
static const char *s_label;

#define SCHECK(c) do { if (c) (*s_pass)++; else { s_fail++; \
	fprintf(stderr, "%s: %s:%d: CHECK(%s) failed\n", s_label, __FILE__, __LINE__, #c); } } while (0)
#define SCHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ == b_) (*s_pass)++; else { s_fail++; fprintf(stderr, \
	"%s: %s:%d: %s == %s: %lld != %lld\n", s_label, __FILE__, __LINE__, #a, #b, a_, b_); } } while (0)

/* ------------------------------------------------------------ socket transport */

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int io_full(int fd, uint8_t *buf, size_t n, int wr, uint64_t end)
{
	size_t done = 0;

	while (done < n) {
		struct pollfd p = { .fd = fd, .events = wr ? POLLOUT : POLLIN };
		uint64_t now = ms_now();
		ssize_t k;

		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return -ETIMEDOUT;
		k = wr ? send(fd, buf + done, n - done, MSG_NOSIGNAL) : recv(fd, buf + done, n - done, 0);
		if (k <= 0)
			return k == 0 ? -EPIPE : -errno;
		done += (size_t)k;
	}
	return 0;
}

/* Send slot @slot's T-message; its tag is what its answer will carry. */
static int sock_submit(void *ctx, uint32_t slot, uint32_t tlen, uint32_t rmax, uint32_t timeout_ms)
{
	struct p9_sock_tp *s = ctx;
	int rc;

	if (s->stuck)
		return -EIO;
	/* No bigsize here: the client must never ask for more room than a slot has. */
	if (slot >= s->t.nslots || s->busy[slot] || tlen < 7 || tlen > s->bufsize || rmax > s->bufsize)
		return -EINVAL;
	s->tag[slot] = (uint16_t)(s->tx[slot][5] | s->tx[slot][6] << 8);
	rc = io_full(s->fd, s->tx[slot], tlen, 1, ms_now() + timeout_ms);
	if (rc != 0) {
		s->stuck = 1; /* part of a message may be out: the stream is lost */
		return rc;
	}
	s->busy[slot] = 1;
	return 0;
}

/*
 * The next answer on the stream, into the slot whose request has its tag
 * (a server may answer in any order).  An answer for no request in flight
 * (unknown or repeated tag) or a bad size leaves the stream unusable.
 */
static int sock_wait(void *ctx, uint32_t *slot, uint32_t *rlen, uint32_t timeout_ms)
{
	struct p9_sock_tp *s = ctx;
	uint64_t end = ms_now() + timeout_ms;
	uint8_t hdr[7];
	uint32_t size, i;
	uint16_t tag;
	int rc;

	if (s->stuck)
		return -EIO;
	for (i = 0; i < s->t.nslots && !s->busy[i]; i++)
		;
	if (i == s->t.nslots)
		return -EINVAL;
	rc = io_full(s->fd, hdr, sizeof(hdr), 0, end);
	if (rc == 0) {
		size = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
		       (uint32_t)hdr[3] << 24;
		tag = (uint16_t)(hdr[5] | hdr[6] << 8);
		for (i = 0; i < s->t.nslots; i++)
			if (s->busy[i] && s->tag[i] == tag)
				break;
		if (size < 7 || size > s->bufsize || i == s->t.nslots)
			rc = -EPROTO;
	}
	if (rc == 0) {
		memcpy(s->rx[i], hdr, sizeof(hdr));
		rc = io_full(s->fd, s->rx[i] + sizeof(hdr), size - sizeof(hdr), 0, end);
	}
	if (rc != 0) {
		s->stuck = 1;
		return rc;
	}
	s->busy[i] = 0;
	*slot = i;
	*rlen = size;
	return 0;
}

static int tp_init(struct p9_sock_tp *s, uint32_t bufsize)
{
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->bufsize = bufsize;
	for (i = 0; i < HVL_9P_SLOTS; i++) {
		s->tx[i] = malloc(bufsize);
		s->rx[i] = malloc(bufsize);
		if (s->tx[i] == NULL || s->rx[i] == NULL)
			return -ENOMEM;
		s->t.tx[i] = s->tx[i];
		s->t.rx[i] = s->rx[i];
	}
	s->t.submit = sock_submit;
	s->t.wait = sock_wait;
	s->t.ctx = s;
	s->t.nslots = HVL_9P_SLOTS;
	s->t.bufsize = bufsize;
	return 0;
}

int p9_sock_tp_from_fd(struct p9_sock_tp *s, int fd, uint32_t bufsize)
{
	int rc = tp_init(s, bufsize);

	s->fd = fd;
	return rc;
}

int p9_sock_tp_open(struct p9_sock_tp *s, const char *addr, uint32_t bufsize, unsigned timeout_ms)
{
	uint64_t end = ms_now() + timeout_ms;
	int one = 1;

	if (tp_init(s, bufsize) != 0)
		return -ENOMEM;
	do {
		if (addr[0] == '/') {
			struct sockaddr_un a = { .sun_family = AF_UNIX };

			snprintf(a.sun_path, sizeof(a.sun_path), "%s", addr);
			s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (connect(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0)
				break;
		} else {
			struct sockaddr_in a = { .sin_family = AF_INET };
			const char *colon = strrchr(addr, ':');

			if (colon == NULL)
				return -EINVAL;
			a.sin_port = htons((uint16_t)atoi(colon + 1));
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (connect(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
				(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				break;
			}
		}
		close(s->fd);
		s->fd = -1;
		usleep(20000);
	} while (ms_now() < end);
	if (s->fd < 0)
		return -ECONNREFUSED;
	return 0;
}

void p9_sock_tp_close(struct p9_sock_tp *s)
{
	uint32_t i;

	if (s->fd >= 0)
		close(s->fd);
	for (i = 0; i < HVL_9P_SLOTS; i++) {
		free(s->tx[i]);
		free(s->rx[i]);
		s->tx[i] = s->rx[i] = NULL;
	}
	s->fd = -1;
}

/* ------------------------------------------------------------ suite */

/* Byte @i of the test pattern @seed (cheap, position-dependent). */
static uint8_t pat(uint64_t i, uint32_t seed)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull + seed;

	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (i & 7)));
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

#define CHUNK (1u << 20)

static void integrity(struct hvl_9p *c, const char *path, uint64_t total)
{
	static uint8_t buf[CHUNK], got[CHUNK];
	uint64_t off, hw = 0xcbf29ce484222325ull, hr = 0xcbf29ce484222325ull;
	struct hvl_9p_stat st;
	int fd, ok = 1;
	size_t i;

	fd = hvl_9p_open(c, path, HVL_O_CREAT | HVL_O_EXCL | HVL_O_RDWR, 0644);
	SCHECK(fd >= 0);
	if (fd < 0)
		return;
	for (off = 0; off < total && ok; off += CHUNK) {
		size_t n = total - off < CHUNK ? (size_t)(total - off) : CHUNK;

		for (i = 0; i < n; i++)
			buf[i] = pat(off + i, 7);
		hw = fnv(hw, buf, n);
		ok = hvl_9p_write(c, fd, buf, n) == (long)n;
	}
	SCHECK(ok);
	SCHECK(hvl_9p_fsync(c, fd) == 0);
	SCHECK(hvl_9p_close(c, fd) == 0);
	SCHECK(hvl_9p_stat(c, path, &st) == 0 && st.size == total &&
	       (st.mode & HVL_9P_S_IFMT) == HVL_9P_S_IFREG);
	fd = hvl_9p_open(c, path, HVL_O_RDONLY, 0);
	SCHECK(fd >= 0);
	if (fd < 0)
		return;
	for (off = 0; off < total && ok; off += CHUNK) {
		size_t n = total - off < CHUNK ? (size_t)(total - off) : CHUNK;

		ok = hvl_9p_read(c, fd, got, CHUNK) == (long)n;
		for (i = 0; ok && i < n; i++)
			ok = got[i] == pat(off + i, 7);
		hr = fnv(hr, got, n);
	}
	SCHECK(ok);
	SCHECK(hw == hr);
	SCHECK(hvl_9p_read(c, fd, got, 16) == 0); /* end of file */
	SCHECK(hvl_9p_lseek(c, fd, 0, HVL_SEEK_END) == (int64_t)total);
	SCHECK(hvl_9p_lseek(c, fd, 12345, HVL_SEEK_SET) == 12345);
	SCHECK(hvl_9p_read(c, fd, got, 100) == 100 && got[0] == pat(12345, 7) && got[99] == pat(12444, 7));
	SCHECK(hvl_9p_lseek(c, fd, -1, HVL_SEEK_SET) == -EINVAL);
	SCHECK(hvl_9p_write(c, fd, "x", 1) < 0); /* opened read-only */
	SCHECK(hvl_9p_close(c, fd) == 0);
	printf("%s: %llu bytes written and read back, fnv64 %016llx\n", s_label,
	       (unsigned long long)total, (unsigned long long)hw);
}

/*
 * Reads and writes longer than one message (pipelined over the slots),
 * with sizes and offsets that never fall on a piece boundary, checked
 * against a model of the file: overwrites in the middle, a read that meets
 * end of file in the middle of its pieces (the ones after it come back
 * empty), O_APPEND (one piece at a time).
 */
static void pipelined(struct hvl_9p *c, const char *base)
{
	/* The client's piece size (9p_io.c piece_max): slotmax - 24, in whole pages from 8 KiB. */
	uint32_t chunk = c->slotmax - 24u >= 8192u ? (c->slotmax - 24u) & ~4095u : c->slotmax - 24u;
	size_t total = 5u * (size_t)chunk + 4321u, cap = total + 4u * (size_t)chunk, i;
	uint8_t *model = calloc(1, cap), *got = calloc(1, cap), *src = malloc(cap);
	char p[HVL_9P_PATH_MAX];
	struct hvl_9p_stat st;
	size_t at, n;
	int fd;

	SCHECK(model != NULL && got != NULL && src != NULL);
	if (model == NULL || got == NULL || src == NULL)
		goto out;
	for (i = 0; i < cap; i++)
		src[i] = pat(i, 3);
	snprintf(p, sizeof(p), "%s/pipe", base);
	fd = hvl_9p_open(c, p, HVL_O_CREAT | HVL_O_EXCL | HVL_O_RDWR, 0644);
	SCHECK(fd >= 0);
	if (fd < 0)
		goto out;
	/* Three calls: 17 bytes, 3 pieces + 5, the rest: every piece starts off the grid. */
	SCHECK_EQ(hvl_9p_write(c, fd, src, 17), 17);
	n = 3u * (size_t)chunk + 5u;
	SCHECK_EQ(hvl_9p_write(c, fd, src + 17, n), (long)n);
	n = total - 17u - n;
	SCHECK_EQ(hvl_9p_write(c, fd, src + total - n, n), (long)n);
	memcpy(model, src, total);
	SCHECK_EQ(hvl_9p_lseek(c, fd, 0, HVL_SEEK_CUR), (int64_t)total);
	/* Overwrite 2 pieces + 7 from just before a boundary. */
	at = chunk - 3u;
	n = 2u * (size_t)chunk + 7u;
	SCHECK_EQ(hvl_9p_lseek(c, fd, (int64_t)at, HVL_SEEK_SET), (int64_t)at);
	for (i = 0; i < n; i++)
		model[at + i] = pat(i, 11);
	SCHECK_EQ(hvl_9p_write(c, fd, model + at, n), (long)n);
	SCHECK_EQ(hvl_9p_lseek(c, fd, 0, HVL_SEEK_CUR), (int64_t)(at + n));
	SCHECK(hvl_9p_fstat(c, fd, &st) == 0 && st.size == total);
	/* End of file inside the pieces: asks 3 pieces more than there is. */
	SCHECK_EQ(hvl_9p_lseek(c, fd, 11, HVL_SEEK_SET), 11);
	SCHECK_EQ(hvl_9p_read(c, fd, got, total - 11u + 3u * (size_t)chunk), (long)(total - 11u));
	SCHECK(memcmp(got, model + 11, total - 11u) == 0);
	SCHECK_EQ(hvl_9p_lseek(c, fd, 0, HVL_SEEK_CUR), (int64_t)total);
	SCHECK_EQ(hvl_9p_read(c, fd, got, 2u * (size_t)chunk), 0);
	/* Odd offset and length inside the file; then exactly up to the end. */
	at = (size_t)chunk + 1u;
	n = 2u * (size_t)chunk + 3u;
	SCHECK_EQ(hvl_9p_lseek(c, fd, (int64_t)at, HVL_SEEK_SET), (int64_t)at);
	SCHECK_EQ(hvl_9p_read(c, fd, got, n), (long)n);
	SCHECK(memcmp(got, model + at, n) == 0);
	at = total - 2u * (size_t)chunk;
	SCHECK_EQ(hvl_9p_lseek(c, fd, (int64_t)at, HVL_SEEK_SET), (int64_t)at);
	SCHECK_EQ(hvl_9p_read(c, fd, got, 2u * (size_t)chunk), (long)(2u * (size_t)chunk));
	SCHECK(memcmp(got, model + at, 2u * (size_t)chunk) == 0);
	SCHECK_EQ(hvl_9p_close(c, fd), 0);
	/* O_APPEND: the pieces go one at a time, in order, at the end. */
	fd = hvl_9p_open(c, p, HVL_O_WRONLY | HVL_O_APPEND, 0);
	SCHECK(fd >= 0);
	n = 2u * (size_t)chunk + 9u;
	for (i = 0; i < n; i++)
		model[total + i] = pat(i, 13);
	if (fd >= 0) {
		SCHECK_EQ(hvl_9p_write(c, fd, model + total, n), (long)n);
		SCHECK_EQ(hvl_9p_close(c, fd), 0);
	}
	total += n;
	fd = hvl_9p_open(c, p, HVL_O_RDONLY, 0);
	SCHECK(fd >= 0);
	if (fd >= 0) {
		memset(got, 0, cap);
		SCHECK_EQ(hvl_9p_read(c, fd, got, cap), (long)total);
		SCHECK(memcmp(got, model, total) == 0);
		SCHECK_EQ(hvl_9p_close(c, fd), 0);
	}
	SCHECK_EQ(hvl_9p_unlink(c, p), 0);
	printf("%s: pipelined I/O, %u-byte pieces, %u slots: %zu bytes checked\n", s_label, chunk,
	       c->t.nslots, total);
out:
	free(model);
	free(got);
	free(src);
}

/*
 * hvl_9p_read_zc: one Tread of msize - 24 bytes per call (virtio: answered
 * across every slot's response buffer), the data in place; then a split
 * read right after it, across the slots again.
 */
static void zero_copy(struct hvl_9p *c, const char *base)
{
	uint32_t per = c->msize - 24u, k;
	size_t total = 2u * (size_t)per + 4099u, done = 0, i;
	uint8_t *model = malloc(total), *got = malloc(total);
	const void *data = NULL;
	char p[HVL_9P_PATH_MAX];
	int fd;

	SCHECK(model != NULL && got != NULL);
	if (model == NULL || got == NULL)
		goto out;
	for (i = 0; i < total; i++)
		model[i] = pat(i, 17);
	snprintf(p, sizeof(p), "%s/zc", base);
	fd = hvl_9p_open(c, p, HVL_O_CREAT | HVL_O_RDWR | HVL_O_TRUNC, 0644);
	SCHECK(fd >= 0);
	if (fd < 0)
		goto out;
	SCHECK_EQ(hvl_9p_write(c, fd, model, total), (long)total);
	SCHECK_EQ(hvl_9p_lseek(c, fd, 0, HVL_SEEK_SET), 0);
	for (k = 0; k < 8u && done < total; k++) {
		size_t want = (total - done < per) ? total - done : per;
		long n = hvl_9p_read_zc(c, fd, &data, total);

		SCHECK_EQ(n, (long)want);
		if (n != (long)want)
			break;
		SCHECK(memcmp(data, model + done, want) == 0);
		done += want;
	}
	SCHECK_EQ(done, total);
	SCHECK_EQ(hvl_9p_read_zc(c, fd, &data, total), 0);
	SCHECK_EQ(hvl_9p_lseek(c, fd, 1, HVL_SEEK_SET), 1);
	SCHECK_EQ(hvl_9p_read_zc(c, fd, &data, 10), 10);
	SCHECK(data != NULL && memcmp(data, model + 1, 10) == 0);
	/* Slot 0 gave its room back: a split read runs across the slots again. */
	SCHECK_EQ(hvl_9p_lseek(c, fd, 0, HVL_SEEK_SET), 0);
	SCHECK_EQ(hvl_9p_read(c, fd, got, total), (long)total);
	SCHECK(memcmp(got, model, total) == 0);
	SCHECK_EQ(hvl_9p_close(c, fd), 0);
	SCHECK_EQ(hvl_9p_unlink(c, p), 0);
	printf("%s: read_zc, %u bytes a call (msize %u, slots of %u bytes)\n", s_label, per, c->msize,
	       c->slotmax);
out:
	free(model);
	free(got);
}

static int put_text(struct hvl_9p *c, const char *path, const char *text)
{
	int fd = hvl_9p_open(c, path, HVL_O_CREAT | HVL_O_WRONLY | HVL_O_TRUNC, 0644);
	long n;

	if (fd < 0)
		return fd;
	n = hvl_9p_write(c, fd, text, strlen(text));
	(void)hvl_9p_close(c, fd);
	return n == (long)strlen(text) ? 0 : -EIO;
}

static int text_is(struct hvl_9p *c, const char *path, const char *text)
{
	char buf[256];
	int fd = hvl_9p_open(c, path, HVL_O_RDONLY, 0);
	long n;

	if (fd < 0)
		return 0;
	n = hvl_9p_read(c, fd, buf, sizeof(buf) - 1);
	(void)hvl_9p_close(c, fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, text) == 0;
}

int p9_suite(struct hvl_9p *c, const char *label, const char *base, uint64_t big_bytes,
	     int *passed)
{
	char p[HVL_9P_PATH_MAX], q[HVL_9P_PATH_MAX + 64];
	struct hvl_9p_dirent de;
	struct hvl_9p_stat st;
	int fds[HVL_9P_MAX_FILES + 1], i, dd, n, seen;

	s_fail = 0;
	s_pass = passed;
	s_label = label;

	SCHECK_EQ(hvl_9p_mkdir(c, base, 0755), 0);
	SCHECK_EQ(hvl_9p_mkdir(c, base, 0755), -EEXIST);
	snprintf(p, sizeof(p), "%s/big", base);
	integrity(c, p, big_bytes);
	pipelined(c, base);
	zero_copy(c, base);

	/* Several files open at once, written interleaved. */
	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/multi%d", base, i);
		fds[i] = hvl_9p_open(c, p, HVL_O_CREAT | HVL_O_RDWR, 0600);
		SCHECK(fds[i] >= 0);
	}
	for (n = 0; n < 3; n++)
		for (i = 0; i < 4; i++) {
			char line[32];

			snprintf(line, sizeof(line), "%d%d;", i, n);
			SCHECK_EQ(hvl_9p_write(c, fds[i], line, 3), 3);
		}
	for (i = 0; i < 4; i++) {
		char want[48];

		SCHECK_EQ(hvl_9p_close(c, fds[i]), 0);
		snprintf(p, sizeof(p), "%s/multi%d", base, i);
		snprintf(want, sizeof(want), "%d0;%d1;%d2;", i, i, i);
		SCHECK(text_is(c, p, want));
	}
	/* No more than HVL_9P_MAX_FILES at once. */
	for (i = 0; i < (int)HVL_9P_MAX_FILES + 1; i++) {
		snprintf(p, sizeof(p), "%s/multi%d", base, i % 4);
		fds[i] = hvl_9p_open(c, p, HVL_O_RDONLY, 0);
	}
	SCHECK_EQ(fds[HVL_9P_MAX_FILES], -EMFILE);
	for (i = 0; i < (int)HVL_9P_MAX_FILES; i++)
		SCHECK_EQ(hvl_9p_close(c, fds[i]), 0);
	SCHECK_EQ(hvl_9p_close(c, 3), -EBADF);

	/* A tree deeper than one Twalk (16 names). */
	snprintf(p, sizeof(p), "%s", base);
	for (i = 0; i < 20; i++) {
		size_t l = strlen(p);

		snprintf(p + l, sizeof(p) - l, "/t%d", i);
		SCHECK_EQ(hvl_9p_mkdir(c, p, 0755), 0);
	}
	snprintf(q, sizeof(q), "%s/leaf.txt", p);
	SCHECK_EQ(put_text(c, q, "deep"), 0);
	SCHECK(text_is(c, q, "deep"));
	SCHECK(hvl_9p_stat(c, p, &st) == 0 && (st.mode & HVL_9P_S_IFMT) == HVL_9P_S_IFDIR);
	/* The same path written with "." and doubled slashes. */
	snprintf(q, sizeof(q), "./%s//t0/./t1", base);
	SCHECK(hvl_9p_stat(c, q, &st) == 0 && (st.mode & HVL_9P_S_IFMT) == HVL_9P_S_IFDIR);

	/* readdir sees every name once; "." and ".." are skipped. */
	for (i = 0; i < 40; i++) {
		snprintf(p, sizeof(p), "%s/t0/entry-with-a-longer-name-%02d", base, i);
		SCHECK_EQ(put_text(c, p, "e"), 0);
	}
	snprintf(p, sizeof(p), "%s/t0", base);
	dd = hvl_9p_opendir(c, p);
	SCHECK(dd >= 0);
	n = 0;
	seen = 0;
	while (dd >= 0 && n < 100) {
		int r = hvl_9p_readdir(c, dd, &de);

		if (r != 1) {
			SCHECK_EQ(r, 0);
			break;
		}
		n++;
		if (strcmp(de.name, "t1") == 0)
			seen |= 1;
		if (strcmp(de.name, "entry-with-a-longer-name-39") == 0)
			seen |= 2;
		SCHECK(strcmp(de.name, ".") != 0 && strcmp(de.name, "..") != 0);
	}
	SCHECK_EQ(n, 41);
	SCHECK_EQ(seen, 3);
	SCHECK_EQ(hvl_9p_closedir(c, dd), 0);
	snprintf(p, sizeof(p), "%s/multi0", base);
	SCHECK_EQ(hvl_9p_opendir(c, p), -ENOTDIR);

	/* rename, unlink, rmdir and their errors. */
	snprintf(p, sizeof(p), "%s/multi1", base);
	snprintf(q, sizeof(q), "%s/t0/t1/moved", base);
	SCHECK_EQ(hvl_9p_rename(c, p, q), 0);
	SCHECK_EQ(hvl_9p_stat(c, p, &st), -ENOENT);
	SCHECK(text_is(c, q, "10;11;12;"));
	SCHECK_EQ(hvl_9p_unlink(c, q), 0);
	SCHECK_EQ(hvl_9p_unlink(c, q), -ENOENT);
	SCHECK_EQ(hvl_9p_open(c, q, HVL_O_RDONLY, 0), -ENOENT);
	snprintf(p, sizeof(p), "%s/multi0", base);
	SCHECK_EQ(hvl_9p_open(c, p, HVL_O_CREAT | HVL_O_EXCL | HVL_O_WRONLY, 0600), -EEXIST);
	SCHECK_EQ(hvl_9p_rmdir(c, p), -ENOTDIR);
	snprintf(p, sizeof(p), "%s/t0", base);
	SCHECK_EQ(hvl_9p_rmdir(c, p), -ENOTEMPTY);
	SCHECK_EQ(hvl_9p_unlink(c, p), -EISDIR);
	snprintf(p, sizeof(p), "%s/no/such/dir/file", base);
	SCHECK_EQ(hvl_9p_open(c, p, HVL_O_CREAT | HVL_O_WRONLY, 0600), -ENOENT);
	SCHECK_EQ(hvl_9p_open(c, "../escape", HVL_O_RDONLY, 0), -EINVAL);
	snprintf(p, sizeof(p), "%s/multi0/x", base);
	SCHECK(hvl_9p_stat(c, p, &st) < 0);

	/* ftruncate and fstat. */
	snprintf(p, sizeof(p), "%s/multi2", base);
	i = hvl_9p_open(c, p, HVL_O_RDWR, 0);
	SCHECK(i >= 0);
	SCHECK_EQ(hvl_9p_ftruncate(c, i, 4), 0);
	SCHECK(hvl_9p_fstat(c, i, &st) == 0 && st.size == 4);
	SCHECK_EQ(hvl_9p_ftruncate(c, i, 100000), 0);
	SCHECK(hvl_9p_fstat(c, i, &st) == 0 && st.size == 100000);
	SCHECK_EQ(hvl_9p_fsync(c, i), 0);
	SCHECK_EQ(hvl_9p_close(c, i), 0);
	/* O_APPEND and O_TRUNC. */
	SCHECK_EQ(put_text(c, p, "abc"), 0);
	i = hvl_9p_open(c, p, HVL_O_WRONLY | HVL_O_APPEND, 0);
	SCHECK(i >= 0 && hvl_9p_write(c, i, "def", 3) == 3);
	SCHECK_EQ(hvl_9p_close(c, i), 0);
	SCHECK(text_is(c, p, "abcdef"));

	/* Tear the tree down again (bounded: 20 levels). */
	for (i = 0; i < 40; i++) {
		snprintf(p, sizeof(p), "%s/t0/entry-with-a-longer-name-%02d", base, i);
		SCHECK_EQ(hvl_9p_unlink(c, p), 0);
	}
	for (n = 20; n > 0; n--) {
		snprintf(p, sizeof(p), "%s", base);
		for (i = 0; i < n; i++) {
			size_t l = strlen(p);

			snprintf(p + l, sizeof(p) - l, "/t%d", i);
		}
		if (n == 20) {
			snprintf(q, sizeof(q), "%s/leaf.txt", p);
			SCHECK_EQ(hvl_9p_unlink(c, q), 0);
		}
		SCHECK_EQ(hvl_9p_rmdir(c, p), 0);
	}
	for (i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		snprintf(p, sizeof(p), "%s/multi%d", base, i);
		SCHECK_EQ(hvl_9p_unlink(c, p), 0);
	}
	/* base/big stays for the caller to check from Linux. */
	return s_fail;
}

int p9_suite_readonly(struct hvl_9p *c, const char *label, int *passed)
{
	struct hvl_9p_stat st;
	int fd;

	s_fail = 0;
	s_pass = passed;
	s_label = label;
	SCHECK(text_is(c, "hello.txt", "hello from linux\n"));
	SCHECK(hvl_9p_stat(c, "hello.txt", &st) == 0 && st.size == 17);
	fd = hvl_9p_open(c, "hello.txt", HVL_O_WRONLY, 0);
	SCHECK(fd == -EROFS || fd == -EACCES);
	fd = hvl_9p_open(c, "new.txt", HVL_O_CREAT | HVL_O_WRONLY, 0644);
	SCHECK(fd == -EROFS || fd == -EACCES);
	fd = hvl_9p_mkdir(c, "newdir", 0755);
	SCHECK(fd == -EROFS || fd == -EACCES);
	fd = hvl_9p_unlink(c, "hello.txt");
	SCHECK(fd == -EROFS || fd == -EACCES);
	fd = hvl_9p_rename(c, "hello.txt", "x.txt");
	SCHECK(fd == -EROFS || fd == -EACCES);
	fd = hvl_9p_open(c, "hello.txt", HVL_O_RDONLY, 0);
	SCHECK(fd >= 0);
	SCHECK(hvl_9p_ftruncate(c, fd, 0) < 0);
	SCHECK_EQ(hvl_9p_close(c, fd), 0);
	return s_fail;
}
