/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One PMM, two regions (two remote cores), each with its own doorbell kind
 * (futex and eventfd) and its own console.  Two remote processes run at the
 * same time; each pushes a pattern of its own through its console and gets
 * a different one back, byte for byte.  Nothing may cross between regions.
 *
 * Usage: test_multi_region PATH_TO_HVL_PMM
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/console.h"
#include "hvl/posix.h"

#define NBYTES (256u * 1024u)

static uint8_t pattern(unsigned region, unsigned dir, size_t i)
{
	return (uint8_t)((i * (region == 0 ? 7u : 13u)) + dir * 101u + (i >> 9));
}

/* The remote core of region @k: send our pattern, receive Linux's. */
static int remote_main(unsigned k, const char *region, const char *dbsock)
{
	static _Alignas(8) uint8_t st[HVL_CONSOLE_STORAGE(256)];
	static uint8_t buf[4096];
	struct hvl_posix_remote pr;
	struct hvl_console con;
	size_t done = 0, i;

	if (hvl_posix_remote_open(&pr, region, dbsock, UINT64_MAX, 10000) != 0 ||
	    hvl_console_open(&con, &pr.r, 0, st, sizeof(st)) != 0)
		return 10;
	while (done < NBYTES) {
		size_t n = NBYTES - done < sizeof(buf) ? NBYTES - done : sizeof(buf);

		for (i = 0; i < n; i++)
			buf[i] = pattern(k, 0, done + i);
		if (hvl_console_write(&con, buf, n, 10000) != (long)n)
			return 11;
		done += n;
	}
	done = 0;
	while (done < NBYTES) {
		long r = hvl_console_read(&con, buf, sizeof(buf), 10000);

		if (r <= 0)
			return 12;
		for (i = 0; i < (size_t)r; i++)
			if (buf[i] != pattern(k, 1, done + i))
				return 13;
		done += (size_t)r;
	}
	if (hvl_console_flush(&con, 5000) != 0)
		return 14;
	hvl_console_close(&con);
	hvl_posix_remote_close(&pr);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], cfg[PATH_MAX + 16], log[PATH_MAX + 16], text[6 * PATH_MAX + 512];
	char reg[2][PATH_MAX + 32], sock[2][PATH_MAX + 32], dbsock[PATH_MAX + 32];
	static uint8_t buf[NBYTES];
	pid_t pmm, rem[2];
	int fd[2];
	unsigned k;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: test_multi_region PATH_TO_HVL_PMM\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (h_tmpdir("hvl-multi", dir) != 0)
		return 1;
	snprintf(cfg, sizeof(cfg), "%s/pmm.ini", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(dbsock, sizeof(dbsock), "%s/rt1-doorbell.sock", dir);
	for (k = 0; k < 2; k++) {
		snprintf(reg[k], sizeof(reg[k]), "%s/rt%u.region", dir, k);
		snprintf(sock[k], sizeof(sock[k]), "%s/rt%u-console.sock", dir, k);
	}
	snprintf(text, sizeof(text),
		 "[region rt0]\nfile = %s\nremote_base = 0x70000000\ndoorbell = futex\n"
		 "[device rt0.console0]\ntype = console\nbackend = socket\npath = %s\n"
		 "[region rt1]\nfile = %s\nremote_base = 0x20000000\ndoorbell = eventfd\n"
		 "doorbell_socket = %s\n"
		 "[device rt1.console0]\ntype = console\nbackend = socket\npath = %s\n",
		 reg[0], sock[0], reg[1], dbsock, sock[1]);
	if (h_write_file(cfg, text) != 0)
		return 1;
	{
		char *pargv[] = { argv[1], "-c", cfg, NULL };

		pmm = h_spawn(pargv, log);
	}
	for (k = 0; k < 2; k++) {
		rem[k] = fork();
		if (rem[k] == 0)
			_exit(remote_main(k, reg[k], k == 1 ? dbsock : NULL));
	}
	for (k = 0; k < 2; k++) {
		fd[k] = h_connect_unix(sock[k], 10000);
		CHECK(fd[k] >= 0);
	}
	/* Both remotes talk at once; read each stream and check it is its own. */
	for (k = 0; k < 2 && fd[0] >= 0 && fd[1] >= 0; k++) {
		size_t bad = NBYTES;

		CHECK_EQ(h_read_exact(fd[k], buf, NBYTES, 20000), 0);
		for (i = 0; i < NBYTES; i++)
			if (buf[i] != pattern(k, 0, i)) {
				bad = i;
				break;
			}
		CHECK_EQ(bad, NBYTES);
		for (i = 0; i < NBYTES; i++)
			buf[i] = pattern(k, 1, i);
		CHECK_EQ(h_write_all(fd[k], buf, NBYTES), 0);
	}
	for (k = 0; k < 2; k++) {
		CHECK_EQ(h_wait_exit(rem[k], 30000), 0);
		if (fd[k] >= 0)
			close(fd[k]);
	}
	CHECK(h_alive(pmm));
	kill(pmm, SIGTERM);
	CHECK_EQ(h_wait_exit(pmm, 5000), 0);
	CHECK(h_file_contains(log, "region rt0: ready"));
	CHECK(h_file_contains(log, "region rt1: ready"));
	CHECK(h_file_contains(log, "eventfd doorbell"));
	if (h_failed == 0) {
		h_rmtree(dir);
	} else {
		char cmd[PATH_MAX + 64];

		snprintf(cmd, sizeof(cmd), "tail -n 40 '%s' >&2", log);
		if (system(cmd) != 0)
			fprintf(stderr, "log kept in %s\n", log);
	}
	return h_finish("test_multi_region");
}
