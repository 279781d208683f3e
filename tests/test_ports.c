/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OS-port conformance (STYLE.md 15): the same checks run over every port of
 * the remote library, against the real hvl-pmm (poll doorbell, which both
 * ports speak): attach, liveness, console text both ways, OS ops semantics
 * (monotonic clock, wait timeouts within bounds).
 *
 * Usage: test_ports PATH_TO_HVL_PMM
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/baremetal.h"
#include "hvl/console.h"
#include "hvl/posix.h"

#define BUS_BASE 0x40000000ull

static _Alignas(8) uint8_t storage[HVL_CONSOLE_STORAGE(256)];

/* The checks every port must pass, given an attached struct hvl_remote. */
static void conformance(const char *port, struct hvl_remote *r, int sock)
{
	struct hvl_console con;
	char msg[80], got[80];
	uint64_t t0, t1;
	size_t n;
	int rc;

	/* OS ops: a monotonic millisecond clock; waits end near their timeout. */
	t0 = hvl_remote_now(r);
	rc = hvl_remote_wait(r, 50);
	t1 = hvl_remote_now(r);
	CHECK(t1 >= t0);
	CHECK(rc == 0 || rc == -ETIMEDOUT);
	if (rc == -ETIMEDOUT)
		CHECK(t1 - t0 >= 49 && t1 - t0 < 2000);
	CHECK(hvl_remote_pmm_alive(r, 2000));

	CHECK_EQ(hvl_console_open(&con, r, 0, storage, sizeof(storage)), 0);
	n = (size_t)snprintf(msg, sizeof(msg), "hello from the %s port\n", port);
	CHECK_EQ(hvl_console_write(&con, msg, n, 3000), (long)n);
	memset(got, 0, sizeof(got));
	CHECK_EQ(h_read_exact(sock, got, n, 3000), 0);
	CHECK(memcmp(got, msg, n) == 0);
	CHECK_EQ(h_write_all(sock, "pong\n", 5), 0);
	memset(got, 0, sizeof(got));
	n = 0;
	while (n < 5) {
		long k = hvl_console_read(&con, got + n, 5 - n, 3000);

		CHECK(k > 0);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	CHECK(memcmp(got, "pong\n", 5) == 0);
	/* A read with nothing pending times out, within bounds. */
	t0 = hvl_remote_now(r);
	CHECK_EQ(hvl_console_read(&con, got, 1, 100), -ETIMEDOUT);
	t1 = hvl_remote_now(r);
	CHECK(t1 - t0 >= 99 && t1 - t0 < 3000);
	CHECK_EQ(hvl_console_close(&con), 0);
	printf("port %-9s conformant\n", port);
}

static uint64_t board_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void port_baremetal(const char *region, int sock)
{
	struct hvl_bm_board board = { board_now, NULL, NULL, NULL, NULL, NULL };
	struct hvl_bm_port port;
	struct hvl_remote_cfg cfg;
	struct hvl_remote r;
	struct stat st;
	void *mem;
	int fd = open(region, O_RDWR);

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(mem != MAP_FAILED);
	CHECK_EQ(hvl_bm_port_init(&port, mem, &board, BUS_BASE, &cfg), 0);
	CHECK_EQ(hvl_remote_attach(&r, mem, (uint64_t)st.st_size, &cfg, 5000), 0);
	conformance("baremetal", &r, sock);
	CHECK(port.rings > 0);
	hvl_remote_detach(&r);
	munmap(mem, (size_t)st.st_size);
	close(fd);
}

static void port_posix(const char *region, int sock)
{
	struct hvl_posix_remote pr;

	CHECK_EQ(hvl_posix_remote_open(&pr, region, NULL, BUS_BASE, 5000), 0);
	conformance("posix", &pr.r, sock);
	hvl_posix_remote_close(&pr);
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], cfg[PATH_MAX + 16], region[PATH_MAX + 16], log[PATH_MAX + 16];
	char sockp[PATH_MAX + 16], text[3 * PATH_MAX + 512];
	char *pargv[] = { argv[1], "-c", cfg, NULL };
	pid_t pmm;
	int sock;

	if (argc < 2) {
		fprintf(stderr, "usage: test_ports PATH_TO_HVL_PMM\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (h_tmpdir("hvl-ports", dir) != 0)
		return 1;
	snprintf(cfg, sizeof(cfg), "%s/pmm.ini", dir);
	snprintf(region, sizeof(region), "%s/region", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(sockp, sizeof(sockp), "%s/console.sock", dir);
	snprintf(text, sizeof(text),
		 "[region rt0]\nfile = %s\nremote_base = 0x%llx\ndoorbell = poll\n"
		 "[device rt0.console0]\ntype = console\nbackend = socket\npath = %s\n",
		 region, (unsigned long long)BUS_BASE, sockp);
	if (h_write_file(cfg, text) != 0)
		return 1;
	pmm = h_spawn(pargv, log);
	sock = h_connect_unix(sockp, 5000);
	CHECK(sock >= 0);
	if (sock >= 0) {
		port_posix(region, sock);
		port_baremetal(region, sock);
		close(sock);
	}
	kill(pmm, SIGTERM);
	CHECK_EQ(h_wait_exit(pmm, 5000), 0);
	if (h_failed == 0)
		h_rmtree(dir);
	else
		fprintf(stderr, "PMM log kept in %s\n", log);
	return h_finish("test_ports");
}
