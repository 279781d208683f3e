/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PMM's 9P2000.L engine driven directly (no transport), with hostile
 * input:
 *   - escapes: '..' and names with '/', symlinks to /etc, to ../.. and to a
 *     file outside, walking through symlinks, a FIFO and a socket in the
 *     export, Tlcreate over an existing symlink or FIFO, hard links (to a
 *     symlink, to a directory, under a bad name), Tmknod, and a rename race:
 *     a thread keeps swapping a directory for a symlink to the outside
 *     while the engine walks and reads through it;
 *   - malformed messages: size fields that lie, strings longer than the
 *     message, embedded NULs, unknown and R-message types, no Tversion,
 *     fid reuse, 10,000 fids against the per-attach limit, responses that
 *     do not fit, and random messages;
 *   - Tremove/Trename act on the fid's own name and inode only (ESTALE
 *     when someone else put another file there);
 *   - a read-only export refuses every modification with EROFS.
 * Nothing outside the export may change or be read; the secret stays put.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "9p_srv.h"
#include "harness.h"

static uint8_t msg[1 << 16], resp[1 << 16];
static uint32_t mlen;

static void m_begin(uint8_t type, uint16_t tag)
{
	mlen = 0;
	memset(msg, 0, 7);
	msg[4] = type;
	msg[5] = (uint8_t)tag;
	msg[6] = (uint8_t)(tag >> 8);
	mlen = 7;
}

static void m_le(uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		msg[mlen++] = (uint8_t)(v >> (8 * i));
}

static void m_str(const char *s)
{
	size_t n = strlen(s);

	m_le(n, 2);
	memcpy(msg + mlen, s, n);
	mlen += (uint32_t)n;
}

static uint32_t le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/* Finish (size field = length), serve; returns the R type, *ecode for Rlerror. */
static int xchg(struct p9_sess *s, uint32_t *ecode)
{
	uint32_t n;

	msg[0] = (uint8_t)mlen;
	msg[1] = (uint8_t)(mlen >> 8);
	msg[2] = (uint8_t)(mlen >> 16);
	msg[3] = (uint8_t)(mlen >> 24);
	n = p9_handle(s, msg, mlen, resp, sizeof(resp));
	if (n < 7 || le(resp, 4) != n)
		return -1;
	if (ecode != NULL)
		*ecode = resp[4] == HVL_9P_RLERROR ? le(resp + 7, 4) : 0;
	return resp[4];
}

static void version(struct p9_sess *s, uint32_t msize)
{
	m_begin(HVL_9P_TVERSION, HVL_9P_NOTAG);
	m_le(msize, 4);
	m_str("9P2000.L");
	CHECK_EQ(xchg(s, NULL), HVL_9P_TVERSION + 1);
}

static int attach(struct p9_sess *s, uint32_t fid, uint32_t *e)
{
	m_begin(HVL_9P_TATTACH, 1);
	m_le(fid, 4);
	m_le(HVL_9P_NOFID, 4);
	m_str("");
	m_str("");
	m_le(0, 4);
	return xchg(s, e);
}

/* Walk @n names from @fid to @newfid; returns the R type; *@nq qids. */
static int walk(struct p9_sess *s, uint32_t fid, uint32_t newfid, const char *const *names,
		unsigned n, uint32_t *e)
{
	unsigned i;
	int t;

	m_begin(HVL_9P_TWALK, 2);
	m_le(fid, 4);
	m_le(newfid, 4);
	m_le(n, 2);
	for (i = 0; i < n; i++)
		m_str(names[i]);
	t = xchg(s, e);
	if (t == HVL_9P_TWALK + 1 && e != NULL)
		*e = le(resp + 7, 2) | 0x10000u; /* nwqid, marked */
	return t;
}

static int walk1(struct p9_sess *s, uint32_t fid, uint32_t newfid, const char *name, uint32_t *e)
{
	const char *n[1] = { name };

	return walk(s, fid, newfid, n, name != NULL ? 1 : 0, e);
}

static int fid_op(struct p9_sess *s, uint8_t type, uint32_t fid, uint32_t *e)
{
	m_begin(type, 3);
	m_le(fid, 4);
	return xchg(s, e);
}

static int lopen(struct p9_sess *s, uint32_t fid, uint32_t flags, uint32_t *e)
{
	m_begin(HVL_9P_TLOPEN, 4);
	m_le(fid, 4);
	m_le(flags, 4);
	return xchg(s, e);
}

static int lcreate(struct p9_sess *s, uint32_t fid, const char *name, uint32_t flags, uint32_t *e)
{
	m_begin(HVL_9P_TLCREATE, 5);
	m_le(fid, 4);
	m_str(name);
	m_le(flags, 4);
	m_le(0644, 4);
	m_le(0, 4);
	return xchg(s, e);
}

/* Tread @count at 0: returns bytes (copied into @out) or -1. */
static int readf(struct p9_sess *s, uint32_t fid, char *out, uint32_t count)
{
	uint32_t n;

	m_begin(HVL_9P_TREAD, 6);
	m_le(fid, 4);
	m_le(0, 8);
	m_le(count, 4);
	if (xchg(s, NULL) != HVL_9P_TREAD + 1)
		return -1;
	n = le(resp + 7, 4);
	memcpy(out, resp + 11, n);
	out[n] = '\0';
	return (int)n;
}

static const char *root_dir;

static void mkpath(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", root_dir, rel);
}

/* ------------------------------------------------------------ escapes */

static void test_escapes(struct p9_sess *s)
{
	const char *bad[] = { "..", ".", "a/b", "", "/etc" };
	const char *through[] = { "etc", "passwd" };
	const char *up2[] = { "up", "tmp" };
	char buf[256];
	uint32_t e;
	unsigned i;

	for (i = 0; i < 5; i++) {
		CHECK_EQ(walk1(s, 0, 10, bad[i], &e), HVL_9P_RLERROR);
		CHECK_EQ(e, HVL_9P_EINVAL);
	}
	/* A symlink is a fid of its own, never followed: walking on stops there. */
	CHECK_EQ(walk1(s, 0, 10, "etc", &e), HVL_9P_TWALK + 1);
	CHECK_EQ(resp[9], HVL_9P_QTSYMLINK);
	CHECK_EQ(lopen(s, 10, HVL_9P_O_RDONLY, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_ELOOP);
	CHECK_EQ(fid_op(s, HVL_9P_TCLUNK, 10, &e), HVL_9P_TCLUNK + 1);
	CHECK_EQ(walk(s, 0, 10, through, 2, &e), HVL_9P_TWALK + 1);
	CHECK_EQ(e, 0x10001u); /* partial: one qid, newfid not created */
	CHECK_EQ(fid_op(s, HVL_9P_TCLUNK, 10, &e), HVL_9P_RLERROR);
	CHECK_EQ(walk(s, 0, 10, up2, 2, &e), HVL_9P_TWALK + 1);
	CHECK_EQ(e, 0x10001u);
	/* Readlink shows the text; the server never resolves it. */
	CHECK_EQ(walk1(s, 0, 11, "secretlink", &e), HVL_9P_TWALK + 1);
	CHECK_EQ(fid_op(s, HVL_9P_TREADLINK, 11, &e), HVL_9P_TREADLINK + 1);
	CHECK(memcmp(resp + 9, "../secret.txt", 13) == 0);
	CHECK_EQ(lopen(s, 11, HVL_9P_O_RDONLY, &e), HVL_9P_RLERROR);
	CHECK_EQ(lopen(s, 11, HVL_9P_O_WRONLY | HVL_9P_O_TRUNC, &e), HVL_9P_RLERROR);
	/* Setattr on a symlink (chmod/truncate would follow /proc to... no: refused). */
	m_begin(HVL_9P_TSETATTR, 7);
	m_le(11, 4);
	m_le(HVL_9P_SETATTR_SIZE | HVL_9P_SETATTR_MODE, 4);
	m_le(0777, 4);
	m_le(0, 4);
	m_le(0, 4);
	m_le(0, 8);
	m_le(0, 8);
	m_le(0, 8);
	m_le(0, 8);
	m_le(0, 8);
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	/* Hard link: to a symlink, to a directory, under a bad name: refused. */
	m_begin(HVL_9P_TLINK, 8);
	m_le(0, 4);
	m_le(11, 4);
	m_str("hl");
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EPERM);
	m_begin(HVL_9P_TLINK, 8);
	m_le(0, 4);
	m_le(0, 4);
	m_str("hl");
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(walk1(s, 0, 12, "file.txt", &e), HVL_9P_TWALK + 1);
	m_begin(HVL_9P_TLINK, 8);
	m_le(0, 4);
	m_le(12, 4);
	m_str("../hl");
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EINVAL);
	m_begin(HVL_9P_TLINK, 8);
	m_le(0, 4);
	m_le(12, 4);
	m_str("hardlink");
	CHECK_EQ(xchg(s, &e), HVL_9P_TLINK + 1); /* inside the export: fine */
	/* Devices, FIFOs and sockets never become fids, nor get opened by create. */
	CHECK_EQ(walk1(s, 0, 13, "fifo", &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EACCES);
	CHECK_EQ(walk1(s, 0, 13, "sock", &e), HVL_9P_RLERROR);
	/* A symlink to a device is only a symlink: opening it is refused. */
	CHECK_EQ(walk1(s, 0, 13, "null", &e), HVL_9P_TWALK + 1);
	CHECK_EQ(lopen(s, 13, HVL_9P_O_RDWR, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_ELOOP);
	CHECK_EQ(fid_op(s, HVL_9P_TCLUNK, 13, &e), HVL_9P_TCLUNK + 1);
	/* A real device node (only root can make one here). */
	{
		char dev[4200];

		mkpath(dev, sizeof(dev), "chardev");
		if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
			CHECK_EQ(walk1(s, 0, 13, "chardev", &e), HVL_9P_RLERROR);
			CHECK_EQ(e, HVL_9P_EACCES);
			CHECK_EQ(walk1(s, 0, 13, NULL, &e), HVL_9P_TWALK + 1);
			CHECK_EQ(lcreate(s, 13, "chardev", HVL_9P_O_RDWR, &e), HVL_9P_RLERROR);
			CHECK_EQ(e, HVL_9P_EEXIST);
			(void)fid_op(s, HVL_9P_TCLUNK, 13, &e);
		}
	}
	CHECK_EQ(walk1(s, 0, 13, NULL, &e), HVL_9P_TWALK + 1);
	CHECK_EQ(lcreate(s, 13, "fifo", HVL_9P_O_RDWR, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EEXIST);
	CHECK_EQ(lcreate(s, 13, "etc", HVL_9P_O_RDWR, &e), HVL_9P_RLERROR);
	CHECK_EQ(lcreate(s, 13, "secretlink", HVL_9P_O_WRONLY | HVL_9P_O_TRUNC, &e), HVL_9P_RLERROR);
	CHECK_EQ(lcreate(s, 13, "..", HVL_9P_O_RDWR, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EINVAL);
	m_begin(HVL_9P_TMKNOD, 9);
	m_le(13, 4);
	m_str("dev");
	m_le(020666, 4);
	m_le(1, 4);
	m_le(3, 4);
	m_le(0, 4);
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EPERM);
	/* Renames stay inside: names only, '..' refused. */
	m_begin(HVL_9P_TRENAMEAT, 10);
	m_le(0, 4);
	m_str("file.txt");
	m_le(0, 4);
	m_str("../file.txt");
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EINVAL);
	/* unlinkat of '..' */
	m_begin(HVL_9P_TUNLINKAT, 11);
	m_le(0, 4);
	m_str("..");
	m_le(HVL_9P_AT_REMOVEDIR, 4);
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	/* The file itself still reads normally through its fid. */
	CHECK_EQ(lopen(s, 12, HVL_9P_O_RDONLY, &e), HVL_9P_TLOPEN + 1);
	CHECK_EQ(readf(s, 12, buf, 100), 7);
	CHECK(strcmp(buf, "inside\n") == 0);
	for (i = 10; i <= 13; i++)
		(void)fid_op(s, HVL_9P_TCLUNK, i, &e);
}

/* Tremove and Trename: by the fid's own name in its parent, never another inode. */
static void test_remove_rename(struct p9_sess *s)
{
	char q[4200];
	struct stat st;
	uint32_t e;

	CHECK_EQ(walk1(s, 0, 40, NULL, &e), HVL_9P_TWALK + 1);
	CHECK_EQ(lcreate(s, 40, "gone.txt", HVL_9P_O_RDWR, &e), HVL_9P_TLCREATE + 1);
	mkpath(q, sizeof(q), "gone.txt");
	CHECK(stat(q, &st) == 0);
	CHECK_EQ(fid_op(s, HVL_9P_TREMOVE, 40, &e), HVL_9P_TREMOVE + 1);
	CHECK(stat(q, &st) != 0);
	CHECK_EQ(fid_op(s, HVL_9P_TCLUNK, 40, &e), HVL_9P_RLERROR); /* Tremove clunked it */
	/* The root cannot be removed; Tremove still clunks the fid. */
	CHECK_EQ(walk1(s, 0, 41, NULL, &e), HVL_9P_TWALK + 1);
	CHECK_EQ(fid_op(s, HVL_9P_TREMOVE, 41, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EBUSY);
	/* Trename moves the walked file into another directory under a new name. */
	mkpath(q, sizeof(q), "mv.txt");
	h_write_file(q, "move me\n");
	mkpath(q, sizeof(q), "mvdir");
	mkdir(q, 0755);
	CHECK_EQ(walk1(s, 0, 42, "mv.txt", &e), HVL_9P_TWALK + 1);
	CHECK_EQ(walk1(s, 0, 43, "mvdir", &e), HVL_9P_TWALK + 1);
	m_begin(HVL_9P_TRENAME, 12);
	m_le(42, 4);
	m_le(43, 4);
	m_str("..");
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EINVAL);
	m_begin(HVL_9P_TRENAME, 12);
	m_le(42, 4);
	m_le(43, 4);
	m_str("moved.txt");
	CHECK_EQ(xchg(s, &e), HVL_9P_TRENAME + 1);
	mkpath(q, sizeof(q), "mvdir/moved.txt");
	CHECK(h_file_contains(q, "move me"));
	/* Someone else renames it away and puts another file there: ESTALE, untouched. */
	{
		char q2[4200];

		mkpath(q2, sizeof(q2), "mvdir/elsewhere.txt");
		CHECK(rename(q, q2) == 0);
		h_write_file(q, "not mine\n");
		CHECK_EQ(fid_op(s, HVL_9P_TREMOVE, 42, &e), HVL_9P_RLERROR);
		CHECK_EQ(e, HVL_9P_ESTALE);
		CHECK(h_file_contains(q, "not mine"));
		CHECK(h_file_contains(q2, "move me"));
	}
	(void)fid_op(s, HVL_9P_TCLUNK, 43, &e);
}

/* ------------------------------------------------------------ rename race */

static int race_stop; /* atomic */

/* Swap "swap" between a real directory and a symlink to the outside, forever. */
static void *racer(void *arg)
{
	char d[4096], tmp[4096], out[4096];
	unsigned long n = 0;

	(void)arg;
	mkpath(d, sizeof(d), "swap");
	mkpath(tmp, sizeof(tmp), "swap.real");
	snprintf(out, sizeof(out), "%s/../outside", root_dir);
	while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
		if (rename(d, tmp) == 0) {
			(void)symlink(out, d);
			(void)unlink(d);
			(void)rename(tmp, d);
		}
		n++;
		/* Leave the real directory in place for a moment: on a loaded
		 * machine the walker must still win the race sometimes. */
		if ((n & 7u) == 0u)
			usleep(50);
	}
	return (void *)n;
}

static void test_rename_race(struct p9_sess *s)
{
	const char *names[] = { "swap", "passwd" };
	pthread_t th;
	char buf[256];
	unsigned i, reads = 0, leaks = 0;
	uint32_t e;

	__atomic_store_n(&race_stop, 0, __ATOMIC_RELEASE);
	pthread_create(&th, NULL, racer, NULL);
	uint64_t end = h_now_ms() + 5000;

	for (i = 0; reads < 100 && (i < 20000 || (reads == 0 && h_now_ms() < end)); i++) {
		if (walk(s, 0, 20, names, 2, &e) != HVL_9P_TWALK + 1 || e != 0x10002u)
			continue;
		if (lopen(s, 20, HVL_9P_O_RDONLY, &e) == HVL_9P_TLOPEN + 1 && readf(s, 20, buf, 100) > 0) {
			reads++;
			if (strcmp(buf, "inside\n") != 0)
				leaks++;
		}
		(void)fid_op(s, HVL_9P_TCLUNK, 20, &e);
	}
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	printf("rename race: %u reads through the swapped directory, %u outside\n", reads, leaks);
	CHECK(reads > 0);
	CHECK_EQ(leaks, 0);
}

/* ------------------------------------------------------------ malformed */

static void test_malformed(struct p9_sess *s)
{
	uint32_t e, n, i, ok = 0, emfile = 0;

	/* Size field larger than what arrived, and smaller than a header. */
	m_begin(HVL_9P_TCLUNK, 7);
	m_le(0, 4);
	msg[0] = 200;
	n = p9_handle(s, msg, mlen, resp, sizeof(resp));
	CHECK(n == 11 && resp[4] == HVL_9P_RLERROR && le(resp + 7, 4) == HVL_9P_EPROTO);
	msg[0] = 3;
	n = p9_handle(s, msg, mlen, resp, sizeof(resp));
	CHECK(n == 11 && resp[4] == HVL_9P_RLERROR);
	/* Fewer than 7 bytes, or no room for even an Rlerror: nothing (the transport fails). */
	CHECK_EQ(p9_handle(s, msg, 5, resp, sizeof(resp)), 0);
	CHECK_EQ(p9_handle(s, msg, mlen, resp, 8), 0);
	/* Body shorter than its fields. */
	m_begin(HVL_9P_TWALK, 8);
	m_le(0, 4);
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EPROTO);
	/* A string longer than the message. */
	m_begin(HVL_9P_TWALK, 9);
	m_le(0, 4);
	m_le(30, 4);
	m_le(1, 2);
	m_le(60000, 2);
	m_le(0x41414141, 4);
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EPROTO);
	/* A name with a NUL inside. */
	m_begin(HVL_9P_TWALK, 9);
	m_le(0, 4);
	m_le(30, 4);
	m_le(1, 2);
	m_le(3, 2);
	msg[mlen++] = 'a';
	msg[mlen++] = 0;
	msg[mlen++] = 'b';
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	/* 17 names. */
	m_begin(HVL_9P_TWALK, 9);
	m_le(0, 4);
	m_le(30, 4);
	m_le(17, 2);
	for (i = 0; i < 17; i++)
		m_str("x");
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EINVAL);
	/* Unknown types, R-messages, legacy 9P2000 types. */
	m_begin(200, 10);
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EOPNOTSUPP);
	m_begin(HVL_9P_TWALK + 1, 10);
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	m_begin(112 /* Topen */, 10);
	m_le(0, 4);
	m_le(0, 1);
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	/* xattrwalk: not supported, said so. */
	m_begin(HVL_9P_TXATTRWALK, 10);
	m_le(0, 4);
	m_le(40, 4);
	m_str("user.x");
	CHECK_EQ(xchg(s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EOPNOTSUPP);
	/* Fid reuse. */
	CHECK_EQ(attach(s, 0, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EEXIST);
	CHECK_EQ(walk1(s, 0, 30, NULL, &e), HVL_9P_TWALK + 1);
	CHECK_EQ(walk1(s, 0, 30, NULL, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EEXIST);
	CHECK_EQ(attach(s, HVL_9P_NOFID, &e), HVL_9P_RLERROR);
	/* Operations on fids that do not exist. */
	CHECK_EQ(lopen(s, 999, 0, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EBADF);
	CHECK_EQ(readf(s, 30, (char[8]){0}, 4), -1); /* not opened */
	/* 10,000 fids: up to the limit, then EMFILE; the session stays usable. */
	for (i = 0; i < 10000; i++) {
		int t = walk1(s, 0, 1000 + i, NULL, &e);

		if (t == HVL_9P_TWALK + 1)
			ok++;
		else if (t == HVL_9P_RLERROR && e == HVL_9P_EMFILE)
			emfile++;
	}
	CHECK_EQ(ok + emfile, 10000);
	CHECK_EQ(ok, 64 - 2); /* max_fids 64: the root and fid 30 hold two */
	for (i = 0; i < 10000; i++)
		(void)fid_op(s, HVL_9P_TCLUNK, 1000 + i, &e);
	CHECK_EQ(s->nfids, 2);
	/* Tread larger than the response space: clamped, never past it. */
	CHECK_EQ(walk1(s, 0, 31, "file.txt", &e), HVL_9P_TWALK + 1);
	CHECK_EQ(lopen(s, 31, 0, &e), HVL_9P_TLOPEN + 1);
	m_begin(HVL_9P_TREAD, 11);
	m_le(31, 4);
	m_le(0, 8);
	m_le(0xffffffffu, 4);
	msg[0] = (uint8_t)mlen;
	memset(resp, 0xee, sizeof(resp));
	n = p9_handle(s, msg, mlen, resp, 14);
	CHECK_EQ(n, 14);
	CHECK_EQ(le(resp + 7, 4), 3);
	CHECK_EQ(resp[14], 0xee);
	(void)fid_op(s, HVL_9P_TCLUNK, 31, &e);
	/* Random garbage with plausible headers: always an answer, never a crash. */
	srand(12345);
	for (i = 0; i < 20000; i++) {
		uint32_t len = 7u + (uint32_t)(rand() % 64), k;

		for (k = 0; k < len; k++)
			msg[k] = (uint8_t)rand();
		msg[0] = (uint8_t)len;
		msg[1] = msg[2] = msg[3] = 0;
		if (msg[4] == HVL_9P_TVERSION)
			msg[4] = HVL_9P_TCLUNK;
		n = p9_handle(s, msg, len, resp, sizeof(resp));
		if (n < 7)
			break;
	}
	CHECK_EQ(i, 20000);
	p9_sess_clunk_all(s);
}

/* Version negotiation and the rule that it comes first. */
static void test_version(const struct p9_export *ex)
{
	struct p9_sess s;
	uint32_t e;

	CHECK_EQ(p9_sess_init(&s, ex), 0);
	CHECK_EQ(attach(&s, 0, &e), HVL_9P_RLERROR); /* before Tversion */
	m_begin(HVL_9P_TVERSION, HVL_9P_NOTAG);
	m_le(1u << 30, 4);
	m_str("9P2000.L");
	CHECK_EQ(xchg(&s, NULL), HVL_9P_TVERSION + 1);
	CHECK_EQ(le(resp + 7, 4), ex->msize_max);
	m_begin(HVL_9P_TVERSION, HVL_9P_NOTAG);
	m_le(8192, 4);
	m_str("9P2000");
	CHECK_EQ(xchg(&s, NULL), HVL_9P_TVERSION + 1);
	CHECK(memcmp(resp + 13, "unknown", 7) == 0);
	CHECK_EQ(attach(&s, 0, &e), HVL_9P_RLERROR);
	m_begin(HVL_9P_TVERSION, HVL_9P_NOTAG);
	m_le(100, 4);
	m_str("9P2000.L");
	CHECK_EQ(xchg(&s, NULL), HVL_9P_TVERSION + 1);
	CHECK(memcmp(resp + 13, "unknown", 7) == 0); /* msize below 4096 */
	p9_sess_destroy(&s);
}

static void test_readonly(const struct p9_export *ex)
{
	struct p9_sess s;
	uint32_t e;

	CHECK_EQ(p9_sess_init(&s, ex), 0);
	version(&s, 65536);
	CHECK_EQ(attach(&s, 0, &e), HVL_9P_TATTACH + 1);
	CHECK_EQ(walk1(&s, 0, 1, NULL, &e), HVL_9P_TWALK + 1);
	CHECK_EQ(lcreate(&s, 1, "new", HVL_9P_O_RDWR, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EROFS);
	CHECK_EQ(walk1(&s, 0, 2, "file.txt", &e), HVL_9P_TWALK + 1);
	CHECK_EQ(lopen(&s, 2, HVL_9P_O_WRONLY, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EROFS);
	CHECK_EQ(lopen(&s, 2, HVL_9P_O_RDONLY | HVL_9P_O_TRUNC, &e), HVL_9P_RLERROR);
	CHECK_EQ(lopen(&s, 2, HVL_9P_O_RDONLY, &e), HVL_9P_TLOPEN + 1);
	m_begin(HVL_9P_TMKDIR, 3);
	m_le(0, 4);
	m_str("d");
	m_le(0755, 4);
	m_le(0, 4);
	CHECK_EQ(xchg(&s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EROFS);
	m_begin(HVL_9P_TUNLINKAT, 3);
	m_le(0, 4);
	m_str("file.txt");
	m_le(0, 4);
	CHECK_EQ(xchg(&s, &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EROFS);
	p9_sess_destroy(&s);
}

/*
 * p9_handle_write: a Twrite whose data stays outside the private header
 * copy (the virtio transport's path).  The data written is the tail's; a
 * count past the tail, or any other message with bytes in a tail, is EPROTO.
 */
static void test_split_write(struct p9_sess *s)
{
	static const char data[] = "split write data";
	uint32_t e = 0, n, fid = 40;
	char got[64];

	version(s, 65536); /* a fresh session: fid 0 the root again */
	CHECK_EQ(attach(s, 0, &e), HVL_9P_TATTACH + 1);
	CHECK_EQ(walk1(s, 0, fid, NULL, &e), HVL_9P_TWALK + 1);
	CHECK_EQ(lcreate(s, fid, "split.txt", HVL_9P_O_RDWR, &e), HVL_9P_TLCREATE + 1);
	m_begin(HVL_9P_TWRITE, 11);
	m_le(fid, 4);
	m_le(0, 8);
	m_le(sizeof(data) - 1, 4);
	CHECK_EQ(mlen, HVL_9P_TWRITE_HDR);
	n = HVL_9P_TWRITE_HDR + (uint32_t)sizeof(data) - 1;
	msg[0] = (uint8_t)n;
	n = p9_handle_write(s, msg, mlen, (const uint8_t *)data, sizeof(data) - 1, resp, sizeof(resp));
	CHECK(n == 11 && resp[4] == HVL_9P_TWRITE + 1 && le(resp + 7, 4) == sizeof(data) - 1);
	CHECK_EQ(readf(s, fid, got, sizeof(got) - 1), (int)sizeof(data) - 1);
	CHECK(strcmp(got, data) == 0);
	/* A count beyond the bytes that arrived. */
	m_begin(HVL_9P_TWRITE, 12);
	m_le(fid, 4);
	m_le(0, 8);
	m_le(100, 4);
	msg[0] = (uint8_t)(HVL_9P_TWRITE_HDR + 5);
	n = p9_handle_write(s, msg, mlen, (const uint8_t *)data, 5, resp, sizeof(resp));
	CHECK(n == 11 && resp[4] == HVL_9P_RLERROR && le(resp + 7, 4) == HVL_9P_EPROTO);
	/* A size claiming more than header + tail. */
	msg[0] = (uint8_t)(HVL_9P_TWRITE_HDR + 6);
	n = p9_handle_write(s, msg, mlen, (const uint8_t *)data, 5, resp, sizeof(resp));
	CHECK(n == 11 && resp[4] == HVL_9P_RLERROR && le(resp + 7, 4) == HVL_9P_EPROTO);
	/* Not a Twrite, but bytes in the tail: refused. */
	m_begin(HVL_9P_TCLUNK, 13);
	msg[0] = 11;
	n = p9_handle_write(s, msg, mlen, (const uint8_t *)"\x28\0\0\0", 4, resp, sizeof(resp));
	CHECK(n == 11 && resp[4] == HVL_9P_RLERROR && le(resp + 7, 4) == HVL_9P_EPROTO);
	CHECK_EQ(fid_op(s, HVL_9P_TCLUNK, fid, &e), HVL_9P_TCLUNK + 1);
}

int main(void)
{
	char dir[4096], p[4200], q[4200];
	struct p9_export ex, rox;
	struct p9_sess s;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	uint32_t e;
	int fd;

	alarm(100);
	if (h_tmpdir("hvl-9pe", dir) != 0)
		return 2;
	snprintf(p, sizeof(p), "%s/exp", dir);
	mkdir(p, 0755);
	snprintf(q, sizeof(q), "%s/outside", dir);
	mkdir(q, 0755);
	snprintf(q, sizeof(q), "%s/outside/passwd", dir);
	h_write_file(q, "OUTSIDE\n");
	snprintf(q, sizeof(q), "%s/secret.txt", dir);
	h_write_file(q, "secret\n");
	root_dir = strdup(p);
	mkpath(q, sizeof(q), "file.txt");
	h_write_file(q, "inside\n");
	mkpath(q, sizeof(q), "swap");
	mkdir(q, 0755);
	mkpath(q, sizeof(q), "swap/passwd");
	h_write_file(q, "inside\n");
	mkpath(q, sizeof(q), "etc");
	CHECK(symlink("/etc", q) == 0);
	mkpath(q, sizeof(q), "up");
	CHECK(symlink("../..", q) == 0);
	mkpath(q, sizeof(q), "secretlink");
	CHECK(symlink("../secret.txt", q) == 0);
	mkpath(q, sizeof(q), "null");
	CHECK(symlink("/dev/null", q) == 0);
	mkpath(q, sizeof(q), "fifo");
	CHECK(mkfifo(q, 0600) == 0);
	mkpath(a.sun_path, sizeof(a.sun_path), "sock");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);

	ex.rootfd = open(root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ex.readonly = 0;
	ex.max_fids = 64;
	ex.msize_max = 65536;
	rox = ex;
	rox.readonly = 1;

	test_version(&ex);
	CHECK_EQ(p9_sess_init(&s, &ex), 0);
	version(&s, 65536);
	CHECK_EQ(attach(&s, 0, &e), HVL_9P_TATTACH + 1);
	test_escapes(&s);
	test_remove_rename(&s);
	test_rename_race(&s);
	test_malformed(&s);
	test_split_write(&s);
	p9_sess_destroy(&s);
	test_readonly(&rox);

	/* Nothing outside changed. */
	snprintf(q, sizeof(q), "%s/secret.txt", dir);
	CHECK(h_file_contains(q, "secret\n"));
	CHECK(stat(q, &st) == 0 && st.st_size == 7 && st.st_nlink == 1);
	snprintf(q, sizeof(q), "%s/outside/passwd", dir);
	CHECK(h_file_contains(q, "OUTSIDE\n"));
	if (fd >= 0)
		close(fd);
	close(ex.rootfd);
	if (h_failed == 0)
		h_rmtree(dir);
	return h_finish("test_9p_engine");
}
