/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsock end to end: the real hvl-pmm (argv[1]) with one vsock device, a
 * remote in a forked process (POSIX port) and Linux services in this one.
 * Both sides run the same fixed sequence of phases:
 *
 *  1 echo remote -> Linux (port 1000); port 1001 nobody serves: ECONNREFUSED
 *  2 echo Linux -> remote through "CONNECT 2000"; "CONNECT 2999": ERR
 *  3 a stream each way at once with checksums (port 1002): 64 MiB each way,
 *    16 under sanitizers, HVL_VSOCK_BIG=1 for the issue's 1 GiB
 *  4 512 concurrent connections to the echo service
 *  5 slow Linux reader (port 1004): the remote's credit runs out, nothing lost
 *  6 slow remote reader (CONNECT 2001), same check the other way
 *  7 Linux closes mid-stream (port 1005): the remote's send fails with a reset
 *  8 the remote closes mid-stream (CONNECT 2002): Linux gets every byte, then EOF
 *  9 hostile packets from the remote (len beyond the chain, unknown op and
 *    type, spoofed source CID, fwd_cnt overflow, a connect flood): dropped
 *    or reset, counted, other connections and the PMM unaffected, PMM memory
 *    bounded; then an echo still works.
 * 10 the PMM restarts under an open connection: the remote sees the device
 *    break, re-attaches, and the new PMM's transport reset comes with open.
 * Every wait is bounded; an alarm ends a hung run.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/posix.h"
#include "hvl/vsock.h"
#include "vsock_suite.h"

#define IO_MS 30000u
#define NCONC 512u
#define NSOCKS 600u

static char dir[4096];
/* What a hung run (SIGALRM) must not leave behind. */
static volatile pid_t g_pmm = -1, g_remote = -1;

static void on_alarm(int sig)
{
	(void)sig;
	if (g_pmm > 0)
		kill(g_pmm, SIGKILL);
	if (g_remote > 0)
		kill(g_remote, SIGKILL);
	_exit(3);
}
static uint64_t stream_bytes = STREAM_DEFAULT;

static void svc_path(char *out, size_t len, unsigned port)
{
	snprintf(out, len, "%s/svc_%u", dir, port);
}

/* ================================================================ remote */

static struct hvl_vsock vs;
static struct hvl_vsock_sock socks[NSOCKS];
static uint8_t rbufs[NSOCKS * 8192u];
static union { void *p; uint64_t u; uint8_t b[HVL_VSOCK_STORAGE(256)]; } ring;
static struct vss T = { &vs, IO_MS, 0 };

#define RCHECK(c) VSS_CHECK(&T, c)

static int remote_main(const char *mem)
{
	static uint8_t buf[65536];
	struct hvl_posix_remote pr;
	struct hvl_vsock_mem m = { &ring, sizeof(ring), socks, NSOCKS, rbufs, sizeof(rbufs) };
	uint32_t peer;
	int l, s, rc;
	long n = 0;

	rc = hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000);
	if (rc != 0 || hvl_vsock_open(&vs, &pr.r, 0, &m) != 0) {
		fprintf(stderr, "remote: attach/open failed (%d)\n", rc);
		return 2;
	}
	RCHECK(hvl_vsock_cid(&vs) == 5);
	/* The PMM's transport reset event came after DRIVER_OK; open took it (§5.10.6.7). */
	RCHECK(vs.resets == 1);

	/* 1 */
	RCHECK(vss_echo_once(&T, 1000, "hello Linux") == 0);
	s = hvl_vsock_socket(&vs);
	RCHECK(hvl_vsock_connect(&vs, s, 1001, IO_MS) == -ECONNREFUSED);
	hvl_vsock_close(&vs, s);

	/* 2: echo until EOF, for one Linux client. */
	l = hvl_vsock_socket(&vs);
	RCHECK(hvl_vsock_listen(&vs, l, 2000, 4) == 0);
	s = hvl_vsock_accept(&vs, l, &peer, IO_MS);
	RCHECK(s >= 0);
	while (s >= 0 && (n = hvl_vsock_recv(&vs, s, buf, sizeof(buf), IO_MS)) > 0)
		RCHECK(vss_send_all(&T, s, buf, (size_t)n) == n);
	if (s >= 0)
		hvl_vsock_close(&vs, s);
	hvl_vsock_close(&vs, l);

	/* 3, 4 */
	vss_stream(&T, 1002, stream_bytes);
	{
		static int sd[NCONC];

		vss_concurrent(&T, 1000, sd, NCONC);
	}

	/* 5: the Linux reader is slow; send blocks on credit, loses nothing. */
	vss_send_pattern(&T, 1004, SLOW_BYTES, 33);
	/* 6: we are the slow reader, in small bites with pauses. */
	vss_slow_reader(&T, 2001, SLOW_BYTES, 44);
	/* 7: Linux closes while we send: a reset, not a hang. */
	vss_send_until_reset(&T, 1005);
	/* 8: we close mid-stream; Linux gets what was sent, then EOF. */
	vss_close_midstream(&T, 2002, MID_BYTES, 55);

	/* 9 */
	/* PMM buf_size is 32 KiB: 12 x 4 KiB to the echo port outrun its credit. */
	vss_hostile(&T, 1000, 1000, 12);

	/*
	 * 10: the PMM restarts under an open connection.  Port 1006 asks the
	 * test to restart it; the device then breaks, and after re-attaching
	 * the new PMM's transport reset event arrives with the new open.
	 */
	{
		int keep = vss_victim(&T, 1000);
		uint64_t end;

		s = hvl_vsock_socket(&vs);
		RCHECK(hvl_vsock_connect(&vs, s, 1006, IO_MS) == 0);
		/* The byte tells the test we are connected: only then does it restart the PMM. */
		RCHECK(hvl_vsock_send(&vs, s, "R", 1, IO_MS) == 1);
		end = h_now_ms() + IO_MS;
		while (!hvl_vsock_broken(&vs) && h_now_ms() < end)
			(void)hvl_vsock_poll(&vs, NULL, 0, 50);
		RCHECK(hvl_vsock_broken(&vs));
		RCHECK(hvl_vsock_send(&vs, keep, "x", 1, 0) == -EIO);
		RCHECK(hvl_posix_remote_reattach(&pr, NULL, IO_MS) == 0);
		RCHECK(hvl_vsock_open(&vs, &pr.r, 0, &m) == 0);
		RCHECK(vs.resets == 1);
		RCHECK(vss_echo_once(&T, 1000, "after the PMM restart") == 0);
	}

	/* Let the last closes finish before the device goes away. */
	(void)hvl_vsock_poll(&vs, NULL, 0, 200);
	hvl_vsock_close_dev(&vs);
	hvl_posix_remote_close(&pr);
	if (T.fail)
		fprintf(stderr, "remote: %d check(s) failed\n", T.fail);
	return T.fail ? 1 : 0;
}

/* ================================================================= Linux */

static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
		perror("listen_unix");
		exit(2);
	}
	return fd;
}

static int stop_echo; /* atomic */

/* Port 1000: echo, many clients at once, one poll loop. */
static void *echo_svc(void *arg)
{
	static struct pollfd p[2048];
	int lfd = *(int *)arg;
	unsigned n = 1, i;
	char buf[4096];

	p[0].fd = lfd;
	p[0].events = POLLIN;
	while (!__atomic_load_n(&stop_echo, __ATOMIC_ACQUIRE)) {
		if (poll(p, n, 100) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n < 2048) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (c >= 0) {
				p[n].fd = c;
				p[n].events = POLLIN;
				p[n].revents = 0;
				n++;
			}
		}
		for (i = 1; i < n; i++) {
			ssize_t r;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(p[i].fd, buf, sizeof(buf));
			if (r > 0 && h_write_all(p[i].fd, buf, (size_t)r) == 0)
				continue;
			close(p[i].fd);
			p[i] = p[--n];
			i--;
		}
	}
	for (i = 1; i < n; i++)
		close(p[i].fd);
	return NULL;
}

struct stream_job {
	int fd;
	uint64_t bytes;
	int ok;
};

static void *stream_writer(void *arg)
{
	static uint8_t b[65536];
	struct stream_job *j = arg;
	uint64_t off;

	j->ok = 1;
	for (off = 0; off < j->bytes; off += sizeof(b)) {
		size_t n = sizeof(b);

		if (n > j->bytes - off)
			n = (size_t)(j->bytes - off);
		vss_pat_fill(b, off, n, 22);
		if (h_write_all(j->fd, b, n) != 0) {
			j->ok = 0;
			break;
		}
	}
	shutdown(j->fd, SHUT_WR);
	return NULL;
}

/* Read until EOF, checking the pattern; returns bytes or -1. Slow: pause every @pause_every. */
static int64_t read_check(int fd, uint32_t seed, unsigned pause_every)
{
	static __thread uint8_t b[65536];
	uint64_t got = 0;
	unsigned k = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, (int)IO_MS) <= 0)
			return -1;
		r = read(fd, b, pause_every ? 16384 : sizeof(b));
		if (r == 0)
			return (int64_t)got;
		if (r < 0)
			return -1;
		if (vss_pat_check(b, got, (size_t)r, seed) != 0) {
			fprintf(stderr, "linux: pattern %u differs near %llu\n", seed, (unsigned long long)got);
			return -1;
		}
		got += (uint64_t)r;
		if (pause_every && ++k % pause_every == 0)
			usleep(1000);
	}
}

/* CONNECT to a remote port through the PMM's listener; fd or -1.  @line gets the answer. */
static int pmm_connect(const char *lpath, unsigned port, char *line, size_t len)
{
	char req[64];
	size_t n = 0;
	int fd = h_connect_unix(lpath, 5000);

	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "CONNECT %u\n", port);
	if (h_write_all(fd, req, strlen(req)) != 0) {
		close(fd);
		return -1;
	}
	while (n + 1 < len && h_read_exact(fd, line + n, 1, IO_MS) == 0 && line[n] != '\n')
		n++;
	line[n] = '\0';
	return fd;
}

/* CONNECT, retrying while the remote is not listening yet. */
static int pmm_connect_retry(const char *lpath, unsigned port)
{
	uint64_t end = h_now_ms() + IO_MS;
	char line[64];

	while (h_now_ms() < end) {
		int fd = pmm_connect(lpath, port, line, sizeof(line));

		if (fd >= 0 && strncmp(line, "OK ", 3) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(20000);
	}
	return -1;
}

static int accept_one(int lfd)
{
	struct pollfd p = { lfd, POLLIN, 0 };

	if (poll(&p, 1, (int)IO_MS) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	char mem[4200], log[4200], lpath[4200], p1000[4200], p1002[4200], p1004[4200], p1005[4200],
	     p1006[4200];
	char devopt[20000], line[64], buf[256];
	pthread_t echo_t;
	pid_t pmm, remote;
	int l1000, l1002, l1004, l1005, l1006, fd, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	if (getenv("HVL_VSOCK_BIG") != NULL)
		stream_bytes = 1ull << 30;
	alarm(getenv("HVL_VSOCK_BIG") != NULL ? 1200 : 170);
	if (h_tmpdir("hvl-vsock", dir) != 0)
		return 2;
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(lpath, sizeof(lpath), "%s/vsock.sock", dir);
	svc_path(p1000, sizeof(p1000), 1000);
	svc_path(p1002, sizeof(p1002), 1002);
	svc_path(p1004, sizeof(p1004), 1004);
	svc_path(p1005, sizeof(p1005), 1005);
	svc_path(p1006, sizeof(p1006), 1006);
	l1000 = listen_unix(p1000);
	l1002 = listen_unix(p1002);
	l1004 = listen_unix(p1004);
	l1005 = listen_unix(p1005);
	l1006 = listen_unix(p1006);
	/* port 1000 via the explicit map, the others via the prefix. */
	snprintf(devopt, sizeof(devopt),
		 "vsock,cid=5,listen=%s,prefix=%s/svc,port.1000=%s,max_conn=700,buf_size=32768,"
		 "data_size=1M", lpath, dir, p1000);
	{
		char *pargv[] = { argv[1], "--file", mem, "--device", devopt, NULL };

		pmm = h_spawn(pargv, log);
	}
	pthread_create(&echo_t, NULL, echo_svc, &l1000);
	g_pmm = pmm;
	remote = fork();
	if (remote == 0) {
		/* Die with the test, whatever ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(l1000);
		_exit(remote_main(mem));
	}

	g_remote = remote;

	/* 2 */
	fd = pmm_connect_retry(lpath, 2000);
	CHECK(fd >= 0);
	if (fd >= 0) {
		static const char msg[] = "ping from Linux through the remote's echo";

		CHECK(h_write_all(fd, msg, sizeof(msg) - 1) == 0);
		CHECK(h_read_exact(fd, buf, sizeof(msg) - 1, IO_MS) == 0 &&
		      memcmp(buf, msg, sizeof(msg) - 1) == 0);
		{
			int fd2 = pmm_connect(lpath, 2999, line, sizeof(line));

			CHECK(fd2 >= 0 && strcmp(line, "ERR ECONNREFUSED") == 0);
			if (fd2 >= 0)
				close(fd2);
		}
		shutdown(fd, SHUT_WR);
		CHECK(read(fd, buf, 1) == 0);
		close(fd);
	}

	/* 3 */
	fd = accept_one(l1002);
	CHECK(fd >= 0);
	if (fd >= 0) {
		struct stream_job j = { fd, stream_bytes, 0 };
		pthread_t wt;
		uint64_t t0 = h_now_ms();
		int64_t got;

		pthread_create(&wt, NULL, stream_writer, &j);
		got = read_check(fd, 11, 0);
		pthread_join(wt, NULL);
		CHECK(j.ok);
		CHECK_EQ(got, (int64_t)stream_bytes);
		printf("stream: %llu MiB each way in %llu ms\n", (unsigned long long)(stream_bytes >> 20),
		       (unsigned long long)(h_now_ms() - t0));
		close(fd);
	}

	/* 5 (4 runs against the echo thread) */
	fd = accept_one(l1004);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ(read_check(fd, 33, 8), (int64_t)SLOW_BYTES);
		close(fd);
	}

	/* 6 */
	fd = pmm_connect_retry(lpath, 2001);
	CHECK(fd >= 0);
	if (fd >= 0) {
		static uint8_t b[65536];

		for (uint64_t off = 0; off < SLOW_BYTES; off += sizeof(b)) {
			vss_pat_fill(b, off, sizeof(b), 44);
			CHECK(h_write_all(fd, b, sizeof(b)) == 0);
		}
		shutdown(fd, SHUT_WR);
		(void)read(fd, buf, 1); /* the remote's close */
		close(fd);
	}

	/* 7 */
	fd = accept_one(l1005);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(h_read_exact(fd, buf, 100, IO_MS) == 0);
		close(fd);
	}

	/* 8 */
	fd = pmm_connect_retry(lpath, 2002);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ(read_check(fd, 55, 0), (int64_t)MID_BYTES);
		close(fd);
	}

	/* 10: restart the PMM when the remote asks (a connection to port 1006). */
	fd = accept_one(l1006);
	CHECK(fd >= 0);
	if (fd >= 0) {
		long kib = rss_kib(pmm);

		CHECK(h_read_exact(fd, buf, 1, IO_MS) == 0 && buf[0] == 'R');

		/* After the flood: 700 connections x 2 x 32 KiB would be 44 MiB; it kept none. */
		printf("pmm RSS after the flood: %ld KiB\n", kib);
		CHECK(kib > 0 && kib < 64 * 1024);
		kill(pmm, SIGTERM);
		CHECK_EQ(h_wait_exit(pmm, 10000), 0);
		close(fd);
		{
			char *pargv[] = { argv[1], "--file", mem, "--device", devopt, NULL };

			pmm = h_spawn(pargv, log);
			g_pmm = pmm;
		}
	}

	rc = h_wait_exit(remote, 150000);
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		kill(remote, SIGKILL);
		(void)h_wait_exit(remote, 5000);
	}
	CHECK(h_alive(pmm));
	__atomic_store_n(&stop_echo, 1, __ATOMIC_RELEASE);
	pthread_join(echo_t, NULL);
	kill(pmm, SIGTERM);
	rc = h_wait_exit(pmm, 10000);
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		kill(pmm, SIGKILL);
		(void)h_wait_exit(pmm, 5000);
	}
	CHECK(h_file_contains(log, "vsock: pkts in"));
	CHECK(h_file_contains(log, "bad packet from the remote"));
	CHECK(!h_file_contains(log, "NEEDS_RESET"));
	close(l1000);
	close(l1002);
	close(l1004);
	close(l1005);
	close(l1006);
	if (h_failed == 0 && getenv("HVL_TEST_KEEP") == NULL)
		h_rmtree(dir);
	else
		fprintf(stderr, "files in %s\n", dir);
	return h_finish("test_vsock_e2e");
}
