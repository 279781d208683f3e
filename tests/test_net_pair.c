/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two PMMs on one Ethernet segment: hvl-pmm A (argv[1]) with a net device
 * `backend = stream, mode = listen`, hvl-pmm B with `mode = connect` on
 * the same socket (started first, so it has to retry), each serving its
 * own region to its own remote.  Remote A sends one frame of every size
 * from 14 to 1518 bytes to remote B's MAC; B checks and echoes each back;
 * A checks the echoes.  Both see the link come up; when PMM A goes away,
 * B's remote sees the link go down.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/net.h"
#include "hvl/posix.h"

#define MAXF 1518u
#define IO_MS 20000u

static const uint8_t mac_a[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0b };

static void make_frame(uint8_t *f, uint32_t size, const uint8_t *dst, const uint8_t *src)
{
	uint32_t i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (i = 14; i < size; i++)
		f[i] = (uint8_t)(size * 17u + i);
}

static int wait_link(struct hvl_net *n, int want)
{
	uint64_t end = h_now_ms() + IO_MS;

	while (hvl_net_link_up(n) != want && h_now_ms() < end)
		usleep(2000);
	return hvl_net_link_up(n) == want ? 0 : -1;
}

/* @a: sender and checker; else the echoing side.  Exit code 0 = ok. */
static int remote_main(const char *mem, int a, int sync_fd)
{
	HVL_NET_DEFINE(net, 256);
	static uint8_t f[MAXF], want[MAXF];
	struct hvl_posix_remote pr;
	uint32_t size;
	uint8_t mac[6];
	char c = 0;

	if (hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000) != 0 ||
	    hvl_net_open(&net, &pr.r, 0, &net_storage, sizeof(net_storage)) != 0)
		return 2;
	hvl_net_mac(&net, mac);
	if (memcmp(mac, a ? mac_a : mac_b, 6) != 0 || wait_link(&net, 1) != 0)
		return 3;
	for (size = 14; size <= MAXF; size++) {
		long r;

		if (a) {
			make_frame(f, size, mac_b, mac_a);
			if (hvl_net_send(&net, f, size, IO_MS) != 0)
				return 4;
		}
		r = hvl_net_recv(&net, f, sizeof(f), IO_MS);
		/* Addressed to whoever receives it; the echo swaps the addresses. */
		make_frame(want, size, a ? mac_a : mac_b, a ? mac_b : mac_a);
		if (r != (long)size || memcmp(f, want, size) != 0) {
			fprintf(stderr, "remote %c: frame %u: got %ld\n", a ? 'A' : 'B', size, r);
			return 5;
		}
		if (!a) {
			make_frame(f, size, mac_a, mac_b);
			if (hvl_net_send(&net, f, size, IO_MS) != 0)
				return 6;
		}
	}
	if (!a) {
		/* Tell the test we are done, then expect the link to drop once PMM A is gone. */
		if (write(sync_fd, "d", 1) != 1 || read(sync_fd, &c, 1) != 1 || wait_link(&net, 0) != 0)
			return 7;
	}
	(void)hvl_net_close(&net);
	hvl_posix_remote_close(&pr);
	return 0;
}

/* What a hung run (SIGALRM) must not leave behind: both PMMs, both remotes. */
static volatile pid_t g_pid[4] = { -1, -1, -1, -1 };

static void on_alarm(int sig)
{
	unsigned i;

	(void)sig;
	for (i = 0; i < 4; i++)
		if (g_pid[i] > 0)
			kill(g_pid[i], SIGKILL);
	_exit(3);
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], mem_a[PATH_MAX + 16], mem_b[PATH_MAX + 16], log_a[PATH_MAX + 16],
	     log_b[PATH_MAX + 16], sock[PATH_MAX + 16], opt_a[PATH_MAX + 128], opt_b[PATH_MAX + 128];
	pid_t pa, pb, ra, rb;
	int sv[2], rc;
	char c;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	signal(SIGALRM, on_alarm);
	alarm(110);
	if (h_tmpdir("hvl-netpair", dir) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 2;
	snprintf(mem_a, sizeof(mem_a), "%s/a.mem", dir);
	snprintf(mem_b, sizeof(mem_b), "%s/b.mem", dir);
	snprintf(log_a, sizeof(log_a), "%s/a.log", dir);
	snprintf(log_b, sizeof(log_b), "%s/b.log", dir);
	snprintf(sock, sizeof(sock), "%s/seg.sock", dir);
	snprintf(opt_a, sizeof(opt_a), "net,backend=stream,mode=listen,path=%s,mac=52:54:00:00:00:0a", sock);
	snprintf(opt_b, sizeof(opt_b), "net,backend=stream,mode=connect,path=%s,mac=52:54:00:00:00:0b", sock);
	{
		/* B first: nobody listens yet, so it must retry. */
		char *argv_b[] = { argv[1], "--file", mem_b, "--device", opt_b, "-v", NULL };
		char *argv_a[] = { argv[1], "--file", mem_a, "--device", opt_a, "-v", NULL };

		pb = h_spawn(argv_b, log_b);
		g_pid[0] = pb;
		usleep(300000);
		pa = h_spawn(argv_a, log_a);
		g_pid[1] = pa;
	}
	rb = fork();
	if (rb == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* die with the test, whatever ends it */
		_exit(remote_main(mem_b, 0, sv[1]));
	}
	g_pid[2] = rb;
	ra = fork();
	if (ra == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(remote_main(mem_a, 1, -1));
	}
	g_pid[3] = ra;
	CHECK_EQ(h_wait_exit(ra, 60000), 0);
	CHECK(h_read_exact(sv[0], &c, 1, 60000) == 0);
	/* PMM A goes away: B's peer disconnects, its remote sees the link drop. */
	kill(pa, SIGTERM);
	CHECK_EQ(h_wait_exit(pa, 10000), 0);
	CHECK(write(sv[0], "x", 1) == 1);
	CHECK_EQ(h_wait_exit(rb, 30000), 0);
	kill(pb, SIGTERM);
	rc = h_wait_exit(pb, 10000);
	CHECK_EQ(rc, 0);
	if (rc < 0)
		kill(pb, SIGKILL);
	CHECK(h_file_contains(log_b, "connected to"));
	CHECK(h_file_contains(log_b, "link down"));
	CHECK(h_file_contains(log_a, "rx 1505 frames"));
	if (h_failed != 0 || getenv("HVL_TEST_KEEP") != NULL)
		fprintf(stderr, "test_net_pair: logs in %s\n", dir);
	else
		h_rmtree(dir);
	return h_finish("test_net_pair");
}
