/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-9p end to end, and against independent peers:
 *
 *   1. the real hvl-pmm (argv[1]) exports a temporary directory read-write
 *      (tag "share", also on a loopback TCP socket) and another read-only;
 *   2. a forked remote (POSIX port, its own mapping) runs the client suite
 *      (tests/p9_suite.c) over virtio-9p, the escape checks, raw malformed
 *      messages through the device, and the read-only suite;
 *   3. Linux checks what the remote wrote (size and checksum);
 *   4. the same suite runs over the PMM's TCP socket, the read-only suite
 *      over the read-only export's UNIX socket;
 *   5. the same suite runs against a real diod server (Debian's diod),
 *      started here on a loopback port and killed by PID;
 *   6. diod's own clients (diodls, diodcat, diodload) run against our socket.
 *
 * HVL_9P_BIG=bytes sets the integrity size (default 64 MiB through each of
 * virtio, our socket and diod: a few seconds, ~15 s under TSan).  Every
 * wait is bounded; an alarm ends a hung run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/9p.h"
#include "hvl/posix.h"
#include "p9_suite.h"

#define DIOD "/usr/sbin/diod"

static uint64_t big_bytes(void)
{
	const char *e = getenv("HVL_9P_BIG");

	return e != NULL ? strtoull(e, NULL, 0) : 64u << 20;
}

/* A free loopback TCP port (bound then released; a tiny race is acceptable in tests). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* ------------------------------------------------------------ remote side */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Send raw bytes through the virtio transport; returns the R type (or -errno) and ecode. */
static int raw(struct hvl_9p_virtio *v, const uint8_t *msg, uint32_t len, uint32_t *ecode)
{
	uint32_t rlen = 0, slot = 9;
	int rc;

	memcpy(v->tx[0], msg, len);
	rc = v->t.submit(v->t.ctx, 0, len, v->bufsize, 5000);
	if (rc == 0)
		rc = v->t.wait(v->t.ctx, &slot, &rlen, 5000);
	if (rc != 0)
		return rc;
	if (slot != 0 || rlen < 7 || le32(v->rx[0]) != rlen)
		return -EPROTO;
	*ecode = rlen >= 11 ? le32(v->rx[0] + 7) : 0;
	return v->rx[0][4];
}

/*
 * Slot 0 posted with bigsize room holds every response buffer: no other
 * slot may go until its answer is taken, and only slot 0 may ask for it.
 */
static void lone_slot(struct hvl_9p_virtio *v)
{
	/* Tclunk of a fid nobody has: answered Rlerror, the session unchanged. */
	static const uint8_t clunk[] = { 11, 0, 0, 0, HVL_9P_TCLUNK, 1, 0, 99, 0, 0, 0 };
	uint32_t slot = 9, rlen = 0;

	memcpy(v->tx[0], clunk, sizeof(clunk));
	memcpy(v->tx[1], clunk, sizeof(clunk));
	CHECK_EQ(v->t.submit(v->t.ctx, 1, sizeof(clunk), v->bigsize, 5000), -EBUSY);
	CHECK_EQ(v->t.submit(v->t.ctx, 0, sizeof(clunk), v->bigsize + 1u, 5000), -EINVAL);
	CHECK_EQ(v->t.submit(v->t.ctx, 0, sizeof(clunk), v->bigsize, 5000), 0);
	CHECK_EQ(v->t.submit(v->t.ctx, 1, sizeof(clunk), v->bufsize, 5000), -EBUSY);
	CHECK_EQ(v->t.wait(v->t.ctx, &slot, &rlen, 5000), 0);
	CHECK_EQ(slot, 0u);
	CHECK_EQ(v->rx[0][4], HVL_9P_TLERROR + 1u);
	/* Given back: slot 1 goes, and slot 0 may not take every buffer while it is out. */
	CHECK_EQ(v->t.submit(v->t.ctx, 1, sizeof(clunk), v->bufsize, 5000), 0);
	CHECK_EQ(v->t.submit(v->t.ctx, 0, sizeof(clunk), v->bigsize, 5000), -EBUSY);
	CHECK_EQ(v->t.wait(v->t.ctx, &slot, &rlen, 5000), 0);
	CHECK_EQ(slot, 1u);
}

/* Hostile messages through the PMM: Rlerror each time, the device keeps working. */
static void remote_malformed(struct hvl_9p_virtio *v, struct hvl_9p *c)
{
	/* Tclunk fid 5 with a size field claiming 100 bytes. */
	static const uint8_t lying[] = { 100, 0, 0, 0, 120, 1, 0, 5, 0, 0, 0 };
	/* Tmkdir whose name claims 200 bytes inside an 18-byte message. */
	static const uint8_t longstr[] = { 18, 0, 0, 0, 72, 2, 0, 1, 0, 0, 0, 200, 0, 'a', 'b', 'c', 'd', 'e' };
	static const uint8_t unknown[] = { 7, 0, 0, 0, 200, 3, 0 };
	static const uint8_t rmsg[] = { 11, 0, 0, 0, HVL_9P_RLERROR, 4, 0, 1, 0, 0, 0 };
	uint8_t walk[17] = { 17, 0, 0, 0, HVL_9P_TWALK, 5, 0, 1, 0, 0, 0 };
	uint32_t e = 0, i, ok = 0, emfile = 0;
	struct hvl_9p_stat st;

	CHECK_EQ(raw(v, lying, sizeof(lying), &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EPROTO);
	CHECK_EQ(raw(v, longstr, sizeof(longstr), &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EPROTO);
	CHECK_EQ(raw(v, unknown, sizeof(unknown), &e), HVL_9P_RLERROR);
	CHECK_EQ(e, HVL_9P_EOPNOTSUPP);
	CHECK_EQ(raw(v, rmsg, sizeof(rmsg), &e), HVL_9P_RLERROR);
	/* Fid reuse: clone the root onto itself's number, then onto the root fid 1 again. */
	walk[7] = 1;                         /* fid 1 (the client's root) */
	walk[11] = 1;                        /* newfid 1: walk in place with no names = ok */
	CHECK_EQ(raw(v, walk, sizeof(walk), &e), HVL_9P_TWALK + 1);
	walk[11] = 2;                        /* newfid 2 */
	CHECK_EQ(raw(v, walk, sizeof(walk), &e), HVL_9P_TWALK + 1);
	CHECK_EQ(raw(v, walk, sizeof(walk), &e), HVL_9P_RLERROR); /* 2 is taken */
	CHECK_EQ(e, HVL_9P_EEXIST);
	/* 10,000 fids: the per-attach limit answers EMFILE, nothing breaks. */
	for (i = 0; i < 10000; i++) {
		uint32_t nf = 100000 + i;
		int r;

		walk[11] = (uint8_t)nf;
		walk[12] = (uint8_t)(nf >> 8);
		walk[13] = (uint8_t)(nf >> 16);
		walk[14] = (uint8_t)(nf >> 24);
		r = raw(v, walk, sizeof(walk), &e);
		if (r == HVL_9P_TWALK + 1)
			ok++;
		else if (r == HVL_9P_RLERROR && e == HVL_9P_EMFILE)
			emfile++;
	}
	CHECK(ok > 0 && ok < 10000);
	CHECK_EQ(ok + emfile, 10000);
	/* Clunk them all again (fid 2 too), then the client still works. */
	for (i = 0; i < 10000; i++) {
		uint8_t cl[11] = { 11, 0, 0, 0, HVL_9P_TCLUNK, 6, 0 };
		uint32_t nf = 100000 + i;

		cl[7] = (uint8_t)nf;
		cl[8] = (uint8_t)(nf >> 8);
		cl[9] = (uint8_t)(nf >> 16);
		cl[10] = (uint8_t)(nf >> 24);
		(void)raw(v, cl, sizeof(cl), &e);
	}
	{
		uint8_t cl[11] = { 11, 0, 0, 0, HVL_9P_TCLUNK, 6, 0, 2, 0, 0, 0 };

		CHECK_EQ(raw(v, cl, sizeof(cl), &e), HVL_9P_TCLUNK + 1);
	}
	CHECK_EQ(hvl_9p_stat(c, "linux.txt", &st), 0);
}

/* Nothing outside the export is reachable through the bait Linux planted. */
static void escapes(struct hvl_9p *c, const char *label)
{
	struct hvl_9p_stat st;
	int fd;

	(void)label;
	CHECK(hvl_9p_open(c, "etc/passwd", HVL_O_RDONLY, 0) < 0);   /* symlink to /etc */
	CHECK(hvl_9p_stat(c, "etc/passwd", &st) < 0);
	CHECK(hvl_9p_open(c, "up/tmp", HVL_O_RDONLY, 0) < 0);       /* symlink to ../.. */
	CHECK_EQ(hvl_9p_open(c, "secretlink", HVL_O_RDONLY, 0), -ELOOP); /* ../secret.txt */
	CHECK(hvl_9p_open(c, "secretlink", HVL_O_WRONLY | HVL_O_TRUNC, 0) < 0);
	CHECK(hvl_9p_open(c, "secretlink", HVL_O_CREAT | HVL_O_WRONLY, 0644) < 0);
	CHECK(hvl_9p_open(c, "../secret.txt", HVL_O_RDONLY, 0) < 0);
	CHECK_EQ(hvl_9p_stat(c, "fifo", &st), -EACCES);             /* never a FIFO */
	CHECK(hvl_9p_open(c, "fifo", HVL_O_RDONLY, 0) < 0);
	CHECK(hvl_9p_rename(c, "linux.txt", "../moved.txt") < 0);
	CHECK(hvl_9p_mkdir(c, "etc/evil", 0755) < 0);
	CHECK(hvl_9p_unlink(c, "up/tmp") < 0);
	fd = hvl_9p_open(c, "linux.txt", HVL_O_RDONLY, 0);
	CHECK(fd >= 0);
	if (fd >= 0)
		CHECK_EQ(hvl_9p_close(c, fd), 0);
}

static int remote_main(const char *mem, uint64_t big)
{
	static union { void *p; uint8_t b[HVL_9P_VIRTIO_STORAGE(256)]; } st0, st1;
	static struct hvl_9p_virtio v0, v1;
	static struct hvl_9p c0, c1;
	struct hvl_posix_remote pr;
	struct hvl_9p_stat st;
	int rc, f;

	rc = hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000);
	if (rc != 0) {
		fprintf(stderr, "remote: attach: %d\n", rc);
		return 2;
	}
	rc = hvl_9p_virtio_open(&v0, &pr.r, 0, &st0, sizeof(st0));
	CHECK_EQ(rc, 0);
	if (rc != 0)
		return 2;
	CHECK(strcmp(v0.tag, "share") == 0);
	/* data_size 2080K: 4 slots of 256 KiB + 4 KiB, slot 0 alone answered across all four. */
	CHECK_EQ(v0.nslots, 4u);
	CHECK_EQ(v0.bufsize, 260u * 1024u);
	CHECK_EQ(v0.bigsize, HVL_9P_VIRTIO_BUF_MAX);
	CHECK_EQ(hvl_9p_mount(&c0, &v0.t, "", 0, 10000), 0);
	CHECK_EQ(c0.msize, HVL_9P_VIRTIO_BUF_MAX); /* the PMM's default msize is the same */
	CHECK_EQ(c0.slotmax, 260u * 1024u);
	f = p9_suite(&c0, "virtio", "virtio", big, &h_passed);
	h_failed += f;
	escapes(&c0, "virtio");
	remote_malformed(&v0, &c0);
	lone_slot(&v0);
	/* Linux reads this one after we exit. */
	{
		int fd = hvl_9p_open(&c0, "result.txt", HVL_O_CREAT | HVL_O_WRONLY | HVL_O_TRUNC, 0644);

		CHECK(fd >= 0 && hvl_9p_write(&c0, fd, "remote ok\n", 10) == 10);
		CHECK(fd >= 0 && hvl_9p_close(&c0, fd) == 0);
	}
	CHECK_EQ(hvl_9p_unmount(&c0), 0);
	/* A chain without a writable part breaks the device; close + open brings it back. */
	{
		struct hvl_sg sg = { v0.tx_bus[0], 11 };

		memcpy(v0.tx[0], (const uint8_t[]){ 11, 0, 0, 0, HVL_9P_TCLUNK, 1, 0, 1, 0, 0, 0 }, 11);
		CHECK_EQ(hvl_vq_drv_add(&v0.vq, &sg, 1, 0, &v0), 0);
		hvl_vdev_kick(&v0.vdev, HVL_9P_REQQ, &v0.vq);
		for (rc = 0; rc < 200 && !hvl_vdev_needs_reset(&v0.vdev); rc++)
			usleep(5000);
		CHECK(hvl_vdev_needs_reset(&v0.vdev));
		CHECK_EQ(hvl_9p_virtio_close(&v0), 0);
		CHECK_EQ(hvl_9p_virtio_open(&v0, &pr.r, 0, &st0, sizeof(st0)), 0);
		CHECK_EQ(hvl_9p_mount(&c0, &v0.t, "", 0, 10000), 0);
		CHECK_EQ(hvl_9p_stat(&c0, "result.txt", &st), 0);
		CHECK_EQ(hvl_9p_unmount(&c0), 0);
		CHECK_EQ(hvl_9p_virtio_close(&v0), 0);
	}
	/* The read-only export. */
	CHECK_EQ(hvl_9p_virtio_open(&v1, &pr.r, 1, &st1, sizeof(st1)), 0);
	/* The default 512K data area: 4 slots of 64 KiB, all four for a lone slot 0. */
	CHECK_EQ(v1.nslots, 4u);
	CHECK_EQ(v1.bufsize, 64u * 1024u);
	CHECK_EQ(v1.bigsize, 256u * 1024u);
	CHECK_EQ(hvl_9p_mount(&c1, &v1.t, "", 0, 10000), 0);
	CHECK_EQ(c1.msize, 256u * 1024u);
	h_failed += p9_suite_readonly(&c1, "virtio-ro", &h_passed);
	CHECK_EQ(hvl_9p_unmount(&c1), 0);
	CHECK_EQ(hvl_9p_virtio_close(&v1), 0);
	hvl_posix_remote_close(&pr);
	printf("remote: %d passed, %d failed\n", h_passed, h_failed);
	return h_failed == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ Linux side */

static uint8_t pat(uint64_t i, uint32_t seed)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull + seed;

	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (i & 7)));
}

/* The file the suite left: right size, right bytes. */
static int check_big(const char *path, uint64_t size)
{
	static uint8_t buf[1 << 16];
	struct stat sb;
	uint64_t off = 0;
	int fd = open(path, O_RDONLY), ok = 1;

	if (fd < 0 || fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (ok && off < size) {
		ssize_t n = read(fd, buf, sizeof(buf)), i;

		if (n <= 0)
			break;
		for (i = 0; i < n && ok; i++)
			ok = buf[i] == pat(off + (uint64_t)i, 7);
		off += (uint64_t)n;
	}
	close(fd);
	return ok && off == size;
}

/* Run one of diod's clients, output into @out; returns its exit status. */
static int run_tool(char *const argv[], const char *out)
{
	pid_t pid = h_spawn(argv, out);

	return pid > 0 ? h_wait_exit(pid, 30000) : -1;
}

static void socket_suite(const char *addr, const char *aname, const char *label, const char *base,
			 uint64_t big, int esc)
{
	struct p9_sock_tp tp;
	static struct hvl_9p c;
	int rc = p9_sock_tp_open(&tp, addr, 256u * 1024u, 10000);

	CHECK_EQ(rc, 0);
	if (rc != 0)
		return;
	rc = hvl_9p_mount(&c, &tp.t, aname, (uint32_t)geteuid(), 10000);
	CHECK_EQ(rc, 0);
	if (rc == 0) {
		h_failed += p9_suite(&c, label, base, big, &h_passed);
		if (esc)
			escapes(&c, label);
		CHECK_EQ(hvl_9p_unmount(&c), 0);
	}
	p9_sock_tp_close(&tp);
}

int main(int argc, char **argv)
{
	char dir[4096], exp[4200], ro[4200], mem[4200], log[4200], p[4400], opt0[4400], opt1[8500],
	     addr[64], daddr[64], dexp[4200], dlog[4200], out[4400], rosock[4200];
	uint64_t big = big_bytes();
	pid_t pmm, remote;
	int port, dport, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	alarm(110);
	if (h_tmpdir("hvl-9p", dir) != 0)
		return 2;
	snprintf(exp, sizeof(exp), "%s/exp", dir);
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	snprintf(dexp, sizeof(dexp), "%s/diodexp", dir);
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(dlog, sizeof(dlog), "%s/diod.log", dir);
	mkdir(exp, 0755);
	mkdir(ro, 0755);
	mkdir(dexp, 0755);
	/* Bait: what a remote must never reach through the export. */
	snprintf(p, sizeof(p), "%s/secret.txt", dir);
	h_write_file(p, "secret\n");
	snprintf(p, sizeof(p), "%s/etc", exp);
	CHECK(symlink("/etc", p) == 0);
	snprintf(p, sizeof(p), "%s/up", exp);
	CHECK(symlink("../..", p) == 0);
	snprintf(p, sizeof(p), "%s/secretlink", exp);
	CHECK(symlink("../secret.txt", p) == 0);
	snprintf(p, sizeof(p), "%s/fifo", exp);
	CHECK(mkfifo(p, 0600) == 0);
	snprintf(p, sizeof(p), "%s/linux.txt", exp);
	h_write_file(p, "written by linux\n");
	snprintf(p, sizeof(p), "%s/hello.txt", ro);
	h_write_file(p, "hello from linux\n");
	/* diodload's I/O mode reads "zero" and writes "null" of the export. */
	snprintf(p, sizeof(p), "%s/zero", exp);
	h_write_file(p, "0000000000000000");
	snprintf(p, sizeof(p), "%s/null", exp);
	h_write_file(p, "");

	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	snprintf(opt0, sizeof(opt0), "9p:share,path=%s,listen=tcp:127.0.0.1:%d,max_fids=256,data_size=2080K", exp, port);
	snprintf(rosock, sizeof(rosock), "%s/ro.sock", dir);
	snprintf(opt1, sizeof(opt1), "9p:ro,path=%s,readonly=1,listen=unix:%s", ro, rosock);
	{
		/*
		 * With the seccomp sandbox on: serving 9p must need no call outside
		 * it.  Not under ASan/TSan, whose runtimes make calls of their own
		 * (LeakSanitizer's exit-time tracer is killed by the filter).
		 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
		char *pargv[] = { argv[1], "--file", mem, "--device", opt0, "--device", opt1, "-v", NULL };
#else
		char *pargv[] = { argv[1], "--file", mem, "--device", opt0, "--device", opt1, "-v",
				  "--sandbox", "on", NULL };
#endif

		pmm = h_spawn(pargv, log);
	}
	CHECK(pmm > 0);

	/* 2. The remote over virtio-9p. */
	remote = fork();
	if (remote == 0) {
		int code;

		h_passed = h_failed = 0;
		code = remote_main(mem, big);
		(void)fflush(stdout); /* _exit drops what stdio still holds: the remote's lines */
		_exit(code);
	}
	rc = h_wait_exit(remote, 90000);
	CHECK_EQ(rc, 0);

	/* 3. Linux reads what the remote wrote. */
	snprintf(p, sizeof(p), "%s/virtio/big", exp);
	CHECK(check_big(p, big));
	snprintf(p, sizeof(p), "%s/result.txt", exp);
	CHECK(h_file_contains(p, "remote ok"));
	snprintf(p, sizeof(p), "%s/secret.txt", dir);
	CHECK(h_file_contains(p, "secret\n"));

	/* 4. The same suite over the PMM's socket. */
	socket_suite(addr, "", "pmm-socket", "sock", big, 1);
	snprintf(p, sizeof(p), "%s/sock/big", exp);
	CHECK(check_big(p, big));

	/* The read-only export over its UNIX socket. */
	{
		struct p9_sock_tp tp;
		static struct hvl_9p c;

		CHECK_EQ(p9_sock_tp_open(&tp, rosock, 64u * 1024u, 10000), 0);
		if (tp.fd >= 0) {
			CHECK_EQ(hvl_9p_mount(&c, &tp.t, "", 0, 10000), 0);
			h_failed += p9_suite_readonly(&c, "unix-ro", &h_passed);
			CHECK_EQ(hvl_9p_unmount(&c), 0);
		}
		p9_sock_tp_close(&tp);
	}

	/* 6. diod's clients against our socket. */
	if (access(DIOD, X_OK) == 0) {
		char *ls[] = { "/usr/sbin/diodls", "-s", addr, "-a", "share", NULL };
		char *cat[] = { "/usr/sbin/diodcat", "-s", addr, "-a", "share", "linux.txt", NULL };
		char *cat2[] = { "/usr/sbin/diodcat", "-s", addr, "-a", "share", "etc/passwd", NULL };
		char *load[] = { "/usr/sbin/diodload", "-s", addr, "-r", "1", "-n", "2", NULL };
		char *loadg[] = { "/usr/sbin/diodload", "-s", addr, "-r", "1", "-n", "2", "-g", NULL };

		snprintf(out, sizeof(out), "%s/diodls.out", dir);
		CHECK_EQ(run_tool(ls, out), 0);
		CHECK(h_file_contains(out, "linux.txt"));
		CHECK(h_file_contains(out, "result.txt"));
		snprintf(out, sizeof(out), "%s/diodcat.out", dir);
		CHECK_EQ(run_tool(cat, out), 0);
		CHECK(h_file_contains(out, "written by linux"));
		snprintf(out, sizeof(out), "%s/diodcat2.out", dir);
		CHECK(run_tool(cat2, out) != 0);
		CHECK(!h_file_contains(out, "root:"));
		snprintf(out, sizeof(out), "%s/diodload.out", dir);
		CHECK_EQ(run_tool(load, out), 0);
		snprintf(out, sizeof(out), "%s/diodload-g.out", dir);
		CHECK_EQ(run_tool(loadg, out), 0);
	} else {
		printf("test_9p_e2e: %s not installed: diod checks skipped (scripts/deps.sh)\n", DIOD);
	}

	kill(pmm, SIGTERM);
	rc = h_wait_exit(pmm, 10000);
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		kill(pmm, SIGKILL);
		(void)h_wait_exit(pmm, 5000);
	}
	CHECK(h_file_contains(log, "9p: "));

	/* 5. The same client suite against a real diod server. */
	if (access(DIOD, X_OK) == 0) {
		pid_t diod;

		dport = free_port();
		snprintf(daddr, sizeof(daddr), "127.0.0.1:%d", dport);
		{
			char *dargv[] = { DIOD, "-f", "-n", "-l", daddr, "-e", dexp, "-L", "stderr", NULL };

			diod = h_spawn(dargv, dlog);
		}
		CHECK(diod > 0);
		socket_suite(daddr, dexp, "diod", "sock", big, 0);
		snprintf(p, sizeof(p), "%s/sock/big", dexp);
		CHECK(check_big(p, big));
		if (diod > 0) {
			kill(diod, SIGTERM);
			if (h_wait_exit(diod, 10000) < 0) {
				kill(diod, SIGKILL);
				(void)h_wait_exit(diod, 5000);
			}
		}
	}
	if (h_failed != 0 || getenv("HVL_TEST_KEEP") != NULL)
		fprintf(stderr, "test_9p_e2e: files kept in %s\n", dir);
	else
		h_rmtree(dir);
	return h_finish("test_9p_e2e");
}
