/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Console end to end: the real hvl-pmm (argv[1]) with three consoles
 * (socket, file, pty) and a remote in a forked process using the POSIX
 * port.  Both processes map the region at different addresses.
 *
 *   socket: remote -> host all 256 byte values then 1 MiB of a pattern;
 *           host -> remote the same with another pattern; a second client
 *           is refused with one line; a result line comes back last.
 *   file:   printf output and an emergency write (emerg_wr) land in the file;
 *           a transmit chain with a writable part fails the device
 *           (NEEDS_RESET, -EIO), and close + open brings it back.
 *   pty:    a line each way through the symlinked slave.
 *
 * Every wait is bounded; an alarm ends a hung run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvl/console.h"
#include "hvl/posix.h"

#define BIG (1u << 20)          /* 1 MiB each way */
#define STREAM (256u + BIG)     /* 0..255, then the pattern */
#define IO_MS 20000u

static int failed;

#define EXPECT(c)                                                                  \
	do {                                                                       \
		if (!(c)) {                                                        \
			failed++;                                                  \
			fprintf(stderr, "%s:%d: EXPECT(%s) failed\n", __FILE__, __LINE__, #c); \
		}                                                                  \
	} while (0)

/* Stream byte @i: all 256 values first, then an xorshift pattern from @seed. */
static void make_stream(uint8_t *buf, uint32_t seed)
{
	uint32_t x = seed, i;

	for (i = 0; i < 256u; i++)
		buf[i] = (uint8_t)i;
	for (i = 256u; i < STREAM; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)(x >> 24);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------ remote side */

static int remote_write_all(struct hvl_console *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		long n = hvl_console_write(c, p + done, len - done, IO_MS);

		if (n <= 0) {
			fprintf(stderr, "remote: write: %ld after %zu bytes\n", n, done);
			return -1;
		}
		done += (size_t)n;
	}
	return hvl_console_flush(c, IO_MS) == 0 ? 0 : -1;
}

static int remote_read_all(struct hvl_console *c, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		long n = hvl_console_read(c, p + got, len - got, IO_MS);

		if (n <= 0) {
			fprintf(stderr, "remote: read: %ld after %zu bytes\n", n, got);
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

static int remote_main(const char *mem)
{
	static union { void *p; uint8_t b[HVL_CONSOLE_STORAGE(256)]; } st0, st1, st2;
	static struct hvl_console c0, c1, c2;
	static uint8_t out[STREAM], want[STREAM], in[STREAM];
	struct hvl_posix_remote pr;
	char line[32];
	int ok = 1, rc;

	rc = hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000);
	if (rc != 0) {
		fprintf(stderr, "remote: attach: %d\n", rc);
		return 2;
	}
	if (hvl_console_open(&c0, &pr.r, 0, &st0, sizeof(st0)) != 0 ||
	    hvl_console_open(&c1, &pr.r, 1, &st1, sizeof(st1)) != 0 ||
	    hvl_console_open(&c2, &pr.r, 2, &st2, sizeof(st2)) != 0) {
		fprintf(stderr, "remote: console open failed\n");
		return 2;
	}
	/* Socket console: out, then in, then a verdict line. */
	make_stream(out, 1);
	make_stream(want, 2);
	if (remote_write_all(&c0, out, STREAM) != 0)
		ok = 0;
	if (ok && remote_read_all(&c0, in, STREAM) != 0)
		ok = 0;
	if (ok && memcmp(in, want, STREAM) != 0) {
		fprintf(stderr, "remote: received stream differs\n");
		ok = 0;
	}
	hvl_console_printf(&c0, "RESULT %s\n", ok ? "ok" : "bad");
	(void)hvl_console_flush(&c0, IO_MS);

	/* File console: printf, then one character through emerg_wr (§5.3.4). */
	if (hvl_console_printf(&c1, "file-hello %d %s %#x\n", 7, "seven", 7u) <= 0 ||
	    hvl_console_flush(&c1, IO_MS) != 0 ||
	    hvl_vdev_write(&c1.vdev, HVL_MMIO_CONFIG + HVL_CONSOLE_CFG_EMERG_WR, 'E', 4) != 0)
		ok = 0;

	/*
	 * A transmit chain with a device-writable part is a request error
	 * (§5.3.6.2): the PMM sets NEEDS_RESET, calls then return -EIO, and a
	 * close (reset) plus open brings the console back.
	 */
	{
		struct hvl_sg sg = { c1.tx[0].bus, 16 };
		uint64_t end = now_ms() + IO_MS;

		if (hvl_vq_drv_add(&c1.txq, &sg, 0, 1, &c1.tx[0]) != 0)
			ok = 0;
		hvl_vdev_kick(&c1.vdev, HVL_CONSOLE_TXQ, &c1.txq);
		while (!hvl_console_broken(&c1) && now_ms() < end)
			usleep(1000);
		if (hvl_console_write(&c1, "x", 1, 0) != -EIO) {
			fprintf(stderr, "remote: bad chain not refused\n");
			ok = 0;
		}
		(void)hvl_console_close(&c1);
		if (hvl_console_open(&c1, &pr.r, 1, &st1, sizeof(st1)) != 0 ||
		    hvl_console_printf(&c1, "after-reset\n") != 12 || hvl_console_flush(&c1, IO_MS) != 0) {
			fprintf(stderr, "remote: console did not come back after reset\n");
			ok = 0;
		}
	}

	/* pty console: a line each way. */
	if (remote_write_all(&c2, "pty-hello\n", 10) != 0 ||
	    remote_read_all(&c2, line, 9) != 0 || memcmp(line, "pty-ping\n", 9) != 0)
		ok = 0;

	/* A closed console answers -EBADF, not a crash. */
	(void)hvl_console_close(&c2);
	if (hvl_console_write(&c2, "x", 1, 0) != -EBADF)
		ok = 0;
	(void)hvl_console_close(&c1);
	(void)hvl_console_close(&c0);
	hvl_posix_remote_close(&pr);
	return ok ? 0 : 1;
}

/* -------------------------------------------------------------- host side */

static int connect_unix(const char *path, unsigned timeout_ms)
{
	struct sockaddr_un sa;
	uint64_t end = now_ms() + timeout_ms;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	do {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

/* Read exactly @n bytes within @timeout_ms. */
static int read_exact(int fd, void *buf, size_t n, unsigned timeout_ms)
{
	uint8_t *p = buf;
	size_t got = 0;
	uint64_t end = now_ms() + timeout_ms;

	while (got < n) {
		struct pollfd pf = { fd, POLLIN, 0 };
		uint64_t t = now_ms();
		ssize_t r;

		if (t >= end || poll(&pf, 1, (int)(end - t)) <= 0)
			return -1;
		r = read(fd, p + got, n - got);
		if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
			return -1;
		if (r > 0)
			got += (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t n, unsigned timeout_ms)
{
	const uint8_t *p = buf;
	size_t done = 0;
	uint64_t end = now_ms() + timeout_ms;

	while (done < n) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		uint64_t t = now_ms();
		ssize_t w;

		if (t >= end || poll(&pf, 1, (int)(end - t)) <= 0)
			return -1;
		w = write(fd, p + done, n - done);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (w > 0)
			done += (size_t)w;
	}
	return 0;
}

static int file_contains(const char *path, const char *needle)
{
	static char buf[1u << 20];
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return strstr(buf, needle) != NULL;
}

static pid_t spawn_pmm(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0)
			dup2(nul, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait for @pid up to @ms; returns its exit status, 128+signal, or -1. */
static int wait_exit(pid_t pid, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	int st;

	do {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	} while (now_ms() < end);
	return -1;
}

int main(int argc, char **argv)
{
	static uint8_t got[STREAM], send_buf[STREAM], want[STREAM];
	char dir[] = "/tmp/hvl-console-XXXXXX";
	char mem[256], sock[256], outf[256], link[256], log[256], sockopt[300], fileopt[300],
	     ptyopt[300], line[64];
	pid_t pmm, remote;
	int fd, fd2, pfd, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	alarm(110); /* below the ctest timeout: a hang fails loudly */
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	snprintf(sock, sizeof(sock), "%s/con.sock", dir);
	snprintf(outf, sizeof(outf), "%s/out.txt", dir);
	snprintf(link, sizeof(link), "%s/pty", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(sockopt, sizeof(sockopt), "socket,path=%s", sock);
	snprintf(fileopt, sizeof(fileopt), "file,path=%s", outf);
	snprintf(ptyopt, sizeof(ptyopt), "pty,path=%s", link);
	{
		char *pargv[] = { argv[1], "--file", mem, "--console", sockopt, "--console", fileopt,
				  "--console", ptyopt, "-v", NULL };

		pmm = spawn_pmm(pargv, log);
	}
	fd = connect_unix(sock, 10000);
	EXPECT(fd >= 0);
	if (fd < 0)
		goto out;

	remote = fork();
	if (remote == 0)
		_exit(remote_main(mem));

	/* remote -> host: 256 byte values, then 1 MiB, byte for byte. */
	make_stream(want, 1);
	rc = read_exact(fd, got, STREAM, IO_MS);
	EXPECT(rc == 0);
	EXPECT(rc == 0 && memcmp(got, want, STREAM) == 0);

	/* One client at a time: the second gets one line and EOF. */
	fd2 = connect_unix(sock, 2000);
	EXPECT(fd2 >= 0);
	if (fd2 >= 0) {
		ssize_t n = 0, r;

		memset(line, 0, sizeof(line));
		while (n < (ssize_t)sizeof(line) - 1 && read_exact(fd2, line + n, 1, 5000) == 0) {
			if (line[n++] == '\n')
				break;
		}
		EXPECT(strstr(line, "already has a client") != NULL);
		r = read(fd2, line, 1);
		EXPECT(r == 0);
		close(fd2);
	}

	/* host -> remote: the same amount, another pattern; the remote checks it. */
	make_stream(send_buf, 2);
	EXPECT(write_all(fd, send_buf, STREAM, IO_MS) == 0);
	memset(line, 0, sizeof(line));
	EXPECT(read_exact(fd, line, 10, IO_MS) == 0);
	EXPECT(strcmp(line, "RESULT ok\n") == 0);

	/* pty: the remote's line waits in the pty until we open the slave. */
	pfd = -1;
	{
		uint64_t end = now_ms() + 5000;

		while (pfd < 0 && now_ms() < end) {
			pfd = open(link, O_RDWR | O_NOCTTY | O_CLOEXEC);
			if (pfd < 0)
				usleep(20000);
		}
	}
	EXPECT(pfd >= 0);
	if (pfd >= 0) {
		memset(line, 0, sizeof(line));
		EXPECT(read_exact(pfd, line, 10, IO_MS) == 0);
		EXPECT(strcmp(line, "pty-hello\n") == 0);
		EXPECT(write_all(pfd, "pty-ping\n", 9, IO_MS) == 0);
	}

	rc = wait_exit(remote, IO_MS);
	EXPECT(rc == 0);
	if (pfd >= 0)
		close(pfd);
	close(fd);

	EXPECT(file_contains(outf, "file-hello 7 seven 0x7\n"));
	EXPECT(file_contains(outf, "\nEafter-reset\n"));
	EXPECT(file_contains(log, "transmitq chain"));
out:
	kill(pmm, SIGTERM);
	rc = wait_exit(pmm, 10000);
	EXPECT(rc == 0);
	if (rc < 0) {
		kill(pmm, SIGKILL);
		(void)wait_exit(pmm, 5000);
	}
	EXPECT(file_contains(log, "console: in"));
	{
		struct stat st;

		/* The PMM removes its socket and the pty link on the way out. */
		EXPECT(lstat(sock, &st) != 0);
		EXPECT(lstat(link, &st) != 0);
	}
	if (failed != 0) {
		fprintf(stderr, "test_console_e2e: %d check(s) failed; PMM log in %s\n", failed, log);
		return 1;
	}
	if (getenv("HVL_TEST_KEEP") != NULL) {
		printf("test_console_e2e: ok, files kept in %s\n", dir);
		return 0;
	}
	unlink(mem);
	unlink(outf);
	unlink(log);
	rmdir(dir);
	printf("test_console_e2e: ok\n");
	return 0;
}
