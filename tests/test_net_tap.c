/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net over a TAP interface with lwIP on the remote: the real
 * hvl-pmm (argv[1]) with `backend = tap`, a remote in a forked process
 * running Debian's lwIP over hvl/net.h (src/remote/lwip) at 10.213.0.2,
 * and Linux on the other side of the TAP inside a network namespace of
 * this test's own (created and deleted here), at 10.213.0.1/24.
 *
 *   - `ping` from the namespace reaches the remote (lwIP's ICMP echo);
 *   - a TCP connection to the remote's echo service (port 7) gets 256 KiB
 *     back byte for byte;
 *   - a UDP datagram to port 9 tells the remote to finish.
 *
 * No packet leaves the namespace: the TAP is moved into it before it gets
 * an address.  Needs root, /dev/net/tun, ip and ping; otherwise it says
 * why and exits 77 (ctest: skipped).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/net.h"
#include "hvl/posix.h"
#include "hvl_lwip.h"

#define REMOTE_IP "10.213.0.2"
#define LINUX_CIDR "10.213.0.1/24"
#define ECHO_BYTES (256u * 1024u)
#define IO_MS 20000u

/* ------------------------------------------------------------ remote side */

static int remote_main(const char *mem)
{
	HVL_NET_DEFINE(net, 256);
	static struct hvl_lwip l;
	struct hvl_lwip_stats s;
	struct hvl_posix_remote pr;
	uint64_t end;
	int rc;

	rc = hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000);
	if (rc == 0)
		rc = hvl_net_open(&net, &pr.r, 0, &net_storage, sizeof(net_storage));
	if (rc == 0)
		rc = hvl_lwip_start(&l, &net, REMOTE_IP, "255.255.255.0", NULL);
	if (rc == 0)
		rc = hvl_lwip_echo_start(&l, 7);
	if (rc == 0)
		rc = hvl_lwip_mark_start(&l, 9);
	if (rc != 0) {
		fprintf(stderr, "remote: start failed: %d\n", rc);
		return 2;
	}
	end = h_now_ms() + 90000u;
	while (hvl_lwip_marks(&l) == 0 && h_now_ms() < end)
		usleep(10000);
	hvl_lwip_get_stats(&l, &s);
	fprintf(stderr, "remote: lwIP in %llu frames, out %llu (dropped %llu), echo %llu B in %llu conn\n",
		(unsigned long long)s.in_frames, (unsigned long long)s.out_frames,
		(unsigned long long)s.out_dropped, (unsigned long long)s.echo_bytes,
		(unsigned long long)s.echo_conns);
	rc = hvl_lwip_marks(&l) > 0 && s.echo_bytes >= ECHO_BYTES ? 0 : 1;
	hvl_lwip_stop(&l);
	(void)hvl_net_close(&net);
	hvl_posix_remote_close(&pr);
	return rc;
}

/* -------------------------------------------------------------- host side */

/* Run a command (argv) with a timeout; returns its exit status or -1. */
static int run(unsigned ms, const char *log, char *const argv[])
{
	pid_t pid = h_spawn(argv, log);

	if (pid < 0)
		return -1;
	int rc = h_wait_exit(pid, ms);

	if (rc < 0) {
		kill(pid, SIGKILL);
		(void)h_wait_exit(pid, 2000);
	}
	return rc;
}

/* Enter namespace @ns in this (child) process. */
static int enter_ns(const char *ns)
{
	char p[PATH_MAX];
	int fd, rc;

	snprintf(p, sizeof(p), "/run/netns/%s", ns);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

/* In the namespace: TCP echo of ECHO_BYTES, then the UDP "done" mark. 0 = ok. */
static int linux_peer(const char *ns)
{
	static uint8_t out[ECHO_BYTES], in[ECHO_BYTES];
	struct sockaddr_in sa;
	size_t ooff = 0, ioff = 0, i;
	uint64_t end;
	int s, u, ok;

	if (enter_ns(ns) != 0)
		return 10;
	for (i = 0; i < ECHO_BYTES; i++)
		out[i] = (uint8_t)(i * 13u + (i >> 9));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(7);
	inet_pton(AF_INET, REMOTE_IP, &sa.sin_addr);
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s < 0)
		return 11;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		return 12;
	end = h_now_ms() + IO_MS;
	while (ioff < ECHO_BYTES && h_now_ms() < end) {
		struct pollfd pf = { s, POLLIN | (ooff < ECHO_BYTES ? POLLOUT : 0), 0 };

		if (poll(&pf, 1, 500) <= 0)
			continue;
		if (pf.revents & (POLLERR | POLLHUP) && !(pf.revents & POLLIN))
			return 13;
		if ((pf.revents & POLLOUT) && ooff < ECHO_BYTES) {
			ssize_t w = send(s, out + ooff, ECHO_BYTES - ooff, MSG_NOSIGNAL);

			if (w > 0)
				ooff += (size_t)w;
		}
		if (pf.revents & POLLIN) {
			ssize_t r = recv(s, in + ioff, ECHO_BYTES - ioff, 0);

			if (r <= 0 && !(r < 0 && errno == EAGAIN))
				return 14;
			if (r > 0)
				ioff += (size_t)r;
		}
	}
	ok = ioff == ECHO_BYTES && memcmp(in, out, ECHO_BYTES) == 0;
	fprintf(stderr, "linux: tcp echo %zu of %u bytes back, %s\n", ioff, ECHO_BYTES,
		ok ? "identical" : "DIFFERENT");
	close(s);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_port = htons(9);
	/* Three tries: a lost datagram must not hang the remote until its deadline. */
	for (i = 0; i < 3 && u >= 0; i++) {
		(void)sendto(u, "done", 4, 0, (struct sockaddr *)&sa, sizeof(sa));
		usleep(50000);
	}
	if (u >= 0)
		close(u);
	return ok ? 0 : 15;
}

/* What a hung run (SIGALRM) must not leave behind: the PMM, the remote, our namespace. */
static volatile pid_t g_pmm = -1, g_remote = -1;
static char g_ns[32];

static void on_alarm(int sig)
{
	pid_t p;

	(void)sig;
	if (g_pmm > 0)
		kill(g_pmm, SIGKILL);
	if (g_remote > 0)
		kill(g_remote, SIGKILL);
	/* fork and execve are async-signal-safe. */
	p = fork();
	if (p == 0) {
		char *const a[] = { "/usr/bin/env", "ip", "netns", "del", g_ns, NULL };

		execv(a[0], a);
		_exit(127);
	}
	if (p > 0)
		(void)waitpid(p, NULL, 0);
	_exit(3);
}

static int have_prog(const char *name)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
	char p[PATH_MAX];
	unsigned i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dirs[i], name);
		if (access(p, X_OK) == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], mem[PATH_MAX + 16], log[PATH_MAX + 16], cmdlog[PATH_MAX + 16],
	     opt[256], ns[32], tap[16];
	pid_t pmm = -1, remote = -1, peer;
	int fd, rc;

	if (argc == 3 && strcmp(argv[1], "--remote") == 0)
		return remote_main(argv[2]); /* the remote alone, e.g. under a debugger */
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	if (geteuid() != 0) {
		printf("test_net_tap: SKIP: needs root (TAP device and a network namespace)\n");
		return 77;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("test_net_tap: SKIP: /dev/net/tun unusable: %s\n", strerror(errno));
		return 77;
	}
	close(fd);
	if (!have_prog("ip") || !have_prog("ping")) {
		printf("test_net_tap: SKIP: needs ip (iproute2) and ping (iputils-ping)\n");
		return 77;
	}
	if (h_tmpdir("hvl-tap", dir) != 0)
		return 2;
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(cmdlog, sizeof(cmdlog), "%s/cmd.log", dir);
	snprintf(ns, sizeof(ns), "hvlnet%d", (int)getpid());
	memcpy(g_ns, ns, sizeof(g_ns));
	signal(SIGALRM, on_alarm);
	alarm(110);
	snprintf(tap, sizeof(tap), "hvlt%d", (int)getpid() % 10000000);
	snprintf(opt, sizeof(opt), "net,backend=tap,ifname=%s,mac=52:54:00:12:34:56", tap);
	rc = run(10000, cmdlog, (char *[]){ "/usr/bin/env", "ip", "netns", "add", ns, NULL });
	CHECK_EQ(rc, 0);
	if (rc != 0)
		goto out;
	{
		char *pargv[] = { argv[1], "--file", mem, "--device", opt, "-v", NULL };

		pmm = h_spawn(pargv, log);
		g_pmm = pmm;
	}
	/* The TAP exists once the PMM logged it; then it moves into our namespace. */
	{
		uint64_t end = h_now_ms() + 10000u;

		while (!h_file_contains(log, "backend tap") && h_now_ms() < end)
			usleep(20000);
	}
	CHECK_EQ(run(10000, cmdlog, (char *[]){ "/usr/bin/env", "ip", "link", "set", tap, "netns", ns, NULL }), 0);
	CHECK_EQ(run(10000, cmdlog, (char *[]){ "/usr/bin/env", "ip", "-n", ns, "addr", "add", LINUX_CIDR,
						"dev", tap, NULL }), 0);
	CHECK_EQ(run(10000, cmdlog, (char *[]){ "/usr/bin/env", "ip", "-n", ns, "link", "set", tap, "up", NULL }), 0);
	CHECK_EQ(run(10000, cmdlog, (char *[]){ "/usr/bin/env", "ip", "-n", ns, "link", "set", "lo", "up", NULL }), 0);

	remote = fork();
	if (remote == 0) {
		/* Die with the test, whatever ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* HVL_TEST_REMOTE_WRAP="valgrind -q" (say) runs the remote under a tool. */
		const char *wrap = getenv("HVL_TEST_REMOTE_WRAP");

		if (wrap != NULL) {
			char cmd[PATH_MAX * 2];

			snprintf(cmd, sizeof(cmd), "%s /proc/%d/exe --remote %s", wrap, (int)getppid(), mem);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		}
		_exit(remote_main(mem));
	}
	g_remote = remote;

	/* ping: three answers within 20 s (the first waits for ARP and lwIP's start). */
	rc = run(30000, cmdlog, (char *[]){ "/usr/bin/env", "ip", "netns", "exec", ns, "ping", "-n", "-c", "3",
					   "-i", "0.2", "-w", "20", REMOTE_IP, NULL });
	CHECK_EQ(rc, 0);
	peer = fork();
	if (peer == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(linux_peer(ns));
	}
	CHECK_EQ(h_wait_exit(peer, 60000), 0);
	rc = h_wait_exit(remote, 30000);
	CHECK_EQ(rc, 0);
	if (rc < 0)
		kill(remote, SIGKILL);
out:
	if (pmm > 0) {
		kill(pmm, SIGTERM);
		rc = h_wait_exit(pmm, 10000);
		CHECK_EQ(rc, 0);
		if (rc < 0) {
			kill(pmm, SIGKILL);
			(void)h_wait_exit(pmm, 5000);
		}
	}
	CHECK_EQ(run(10000, cmdlog, (char *[]){ "/usr/bin/env", "ip", "netns", "del", ns, NULL }), 0);
	CHECK(h_file_contains(log, "dropped rx zero 0 runt 0 oversize 0"));
	if (h_failed != 0 || getenv("HVL_TEST_KEEP") != NULL)
		fprintf(stderr, "test_net_tap: logs in %s\n", dir);
	else
		h_rmtree(dir);
	return h_finish("test_net_tap");
}
