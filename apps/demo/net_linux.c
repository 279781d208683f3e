/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, net, Linux half.  As root with /dev/net/tun, ip and ping: a TAP
 * interface moved into a network namespace of the demo's own (10.213.0.1/24,
 * deleted afterwards), `ping` to the remote's lwIP at 10.213.0.2 and a TCP
 * echo.  Otherwise: the stream backend, with this process as a tiny peer
 * on the socket that resolves the remote by ARP and pings it with
 * hand-built frames.  Either way a UDP datagram to port 9 ends the step.
 * Only addresses inside the namespace or on the private socket are used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

#define NET_REMOTE_IP "10.213.0.2"

/* The mode picked when the configuration was written (one demo per process). */
static int use_tap;
static char tap_name[16], ns_name[32];

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

int demo_net_config(struct demo *d, FILE *f)
{
	char sock[PATH_MAX + 32];
	int fd = geteuid() == 0 ? open("/dev/net/tun", O_RDWR | O_CLOEXEC) : -1;

	/* HVL_DEMO_NET=stream forces the stream peer (what a non-root run gets). */
	use_tap = fd >= 0 && have_prog("ip") && have_prog("ping") &&
		  (getenv("HVL_DEMO_NET") == NULL || strcmp(getenv("HVL_DEMO_NET"), "stream") != 0);
	if (fd >= 0)
		close(fd);
	if (use_tap) {
		snprintf(tap_name, sizeof(tap_name), "hvld%d", (int)getpid() % 10000000);
		snprintf(ns_name, sizeof(ns_name), "hvldemo%d", (int)getpid());
		fprintf(f, "[device rt0.net0]\ntype = net\nbackend = tap\nifname = %s\n"
			"mac = 52:54:00:12:34:56\n", tap_name);
		return 0;
	}
	demo_path(d, "net.sock", sock);
	fprintf(f, "[device rt0.net0]\ntype = net\nbackend = stream\nmode = listen\npath = %s\n"
		"mac = 52:54:00:12:34:56\n", sock);
	return 0;
}

/* Run a command quietly with a timeout (optionally in the namespace first); exit status or -1. */
static int run_cmd(unsigned ms, char *const argv[])
{
	uint64_t end = demo_now_ms() + ms;
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (nul >= 0) {
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	do {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(10000);
	} while (demo_now_ms() < end);
	kill(pid, SIGKILL);
	(void)waitpid(pid, &st, 0);
	return -1;
}

/* In a child inside the namespace: TCP echo of a few KiB, then the done mark.  0 = ok. */
static int tap_peer(unsigned ms)
{
	static uint8_t out[16384], in[16384];
	struct sockaddr_in sa;
	size_t got = 0, i;
	char p[PATH_MAX];
	uint64_t end = demo_now_ms() + ms;
	int fd, s, u, ok;

	snprintf(p, sizeof(p), "/run/netns/%s", ns_name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
		return 10;
	close(fd);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7u);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(7);
	inet_pton(AF_INET, NET_REMOTE_IP, &sa.sin_addr);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 11;
	if (write(s, out, sizeof(out)) != (ssize_t)sizeof(out))
		return 12;
	while (got < sizeof(in) && demo_now_ms() < end) {
		struct pollfd pf = { s, POLLIN, 0 };
		ssize_t r;

		if (poll(&pf, 1, 200) <= 0)
			continue;
		r = read(s, in + got, sizeof(in) - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	ok = got == sizeof(in) && memcmp(in, out, sizeof(in)) == 0;
	close(s);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_port = htons(9);
	for (i = 0; i < 3 && u >= 0; i++) {
		(void)sendto(u, "done", 4, 0, (struct sockaddr *)&sa, sizeof(sa));
		usleep(50000);
	}
	return ok ? 0 : 13;
}

static void net_tap_linux(struct demo *d)
{
	unsigned ms = d->timeout_s * 1000u;
	char ping_detail[64];
	int rc, prc = -1, erc = -1;
	pid_t pid;

	if (run_cmd(ms, (char *[]){ "ip", "netns", "add", ns_name, NULL }) != 0) {
		demo_row(d, "net", 0, "ip netns add failed");
		return;
	}
	rc = run_cmd(ms, (char *[]){ "ip", "link", "set", tap_name, "netns", ns_name, NULL });
	if (rc == 0)
		rc = run_cmd(ms, (char *[]){ "ip", "-n", ns_name, "addr", "add", "10.213.0.1/24", "dev",
					     tap_name, NULL });
	if (rc == 0)
		rc = run_cmd(ms, (char *[]){ "ip", "-n", ns_name, "link", "set", tap_name, "up", NULL });
	if (rc == 0) {
		demo_say("net: TAP %s in namespace %s, 10.213.0.1/24; pinging the remote's lwIP at %s",
			 tap_name, ns_name, NET_REMOTE_IP);
		prc = run_cmd(ms * 2u, (char *[]){ "ip", "netns", "exec", ns_name, "ping", "-n", "-c", "3",
						   "-i", "0.2", "-w", "20", NET_REMOTE_IP, NULL });
		pid = fork();
		if (pid == 0)
			_exit(tap_peer(ms));
		if (pid > 0) {
			int st;

			/* tap_peer is bounded by its own deadline. */
			if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
				erc = WEXITSTATUS(st);
		}
	}
	(void)run_cmd(ms, (char *[]){ "ip", "netns", "del", ns_name, NULL });
	snprintf(ping_detail, sizeof(ping_detail), "%s", prc == 0 ? "3/3 pings" : "ping FAILED");
	if (rc != 0)
		demo_row(d, "net", 0, "setting up the TAP in the namespace failed");
	else
		demo_row(d, "net", prc == 0 && erc == 0,
			 prc == 0 && erc == 0 ? "TAP in a private netns: 3/3 pings and a 16 KiB TCP echo "
						"answered by lwIP on the remote"
					      : erc == 0 ? ping_detail : "TCP echo FAILED");
}

/* ---- stream mode: a tiny peer speaking Ethernet/ARP/IPv4 by hand ---- */

static const uint8_t peer_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t peer_ip[4] = { 10, 213, 0, 1 }, remote_ip[4] = { 10, 213, 0, 2 };

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static int send_frame(int s, const uint8_t *f, uint32_t len)
{
	uint8_t pre[4] = { 0, 0, (uint8_t)(len >> 8), (uint8_t)len };

	return write(s, pre, 4) == 4 && write(s, f, len) == (ssize_t)len ? 0 : -1;
}

/* Receive one framed frame within @ms; length or -1. */
static long recv_frame(int s, uint8_t *f, size_t cap, unsigned ms)
{
	uint64_t end = demo_now_ms() + ms;
	uint8_t pre[4];
	size_t got = 0, len = 0;
	int stage = 0;

	while (demo_now_ms() < end) {
		struct pollfd pf = { s, POLLIN, 0 };
		ssize_t r;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		r = stage == 0 ? read(s, pre + got, 4 - got) : read(s, f + got, len - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		if (stage == 0 && got == 4) {
			len = (size_t)pre[2] << 8 | pre[3];
			if (pre[0] || pre[1] || len > cap)
				return -1;
			stage = 1;
			got = 0;
		}
		if (stage == 1 && got == len)
			return (long)len;
	}
	return -1;
}

/* An IPv4 packet to the remote: 20-byte header, @proto, @payload. */
static uint32_t ip_frame(uint8_t *f, const uint8_t *dmac, uint8_t proto, const uint8_t *pl, uint32_t plen)
{
	uint8_t *ip = f + 14;
	uint16_t c;

	memcpy(f, dmac, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + plen) >> 8);
	ip[3] = (uint8_t)(20 + plen);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, peer_ip, 4);
	memcpy(ip + 16, remote_ip, 4);
	c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	memcpy(ip + 20, pl, plen);
	return 14 + 20 + plen;
}

static void net_stream_linux(struct demo *d)
{
	static uint8_t f[2048], r[2048];
	char sock[PATH_MAX + 32];
	uint8_t rmac[6], icmp[40];
	uint64_t end;
	unsigned ms = d->timeout_s * 1000u, i, pongs = 0;
	int s, arp = 0;
	long n;

	demo_path(d, "net.sock", sock);
	s = demo_connect_unix(sock, ms);
	if (s < 0) {
		demo_row(d, "net", 0, "cannot connect to the net stream socket");
		return;
	}
	demo_say("net: stream peer on %s; ARP and ping to the remote's lwIP at %s", sock, NET_REMOTE_IP);
	/* ARP who-has 10.213.0.2, repeated until lwIP is up and answers. */
	end = demo_now_ms() + 2u * ms;
	while (!arp && demo_now_ms() < end) {
		memset(f, 0, 42);
		memset(f, 0xff, 6);
		memcpy(f + 6, peer_mac, 6);
		f[12] = 0x08; f[13] = 0x06;              /* ARP */
		f[15] = 1; f[16] = 0x08; f[18] = 6; f[19] = 4; f[21] = 1; /* Ethernet/IPv4 request */
		memcpy(f + 22, peer_mac, 6);
		memcpy(f + 28, peer_ip, 4);
		memcpy(f + 38, remote_ip, 4);
		if (send_frame(s, f, 42) != 0)
			break;
		while ((n = recv_frame(s, r, sizeof(r), 200)) > 0) {
			if (n >= 42 && r[12] == 0x08 && r[13] == 0x06 && r[21] == 2 &&
			    memcmp(r + 28, remote_ip, 4) == 0) {
				memcpy(rmac, r + 22, 6);
				arp = 1;
				break;
			}
		}
	}
	/* Three ICMP echo requests; each reply must carry our id, seq and data. */
	for (i = 0; arp && i < 3; i++) {
		uint16_t c;

		memset(icmp, 0, sizeof(icmp));
		icmp[0] = 8;
		icmp[4] = 0x12; icmp[5] = 0x34;
		icmp[7] = (uint8_t)(i + 1);
		memcpy(icmp + 8, "hvl-virtio net demo ping payload", 32);
		c = csum(icmp, sizeof(icmp));
		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
		if (send_frame(s, f, ip_frame(f, rmac, 1, icmp, sizeof(icmp))) != 0)
			break;
		while ((n = recv_frame(s, r, sizeof(r), ms)) > 0) {
			if (n >= 14 + 20 + 40 && r[12] == 0x08 && r[13] == 0x00 && r[23] == 1 &&
			    r[34] == 0 && memcmp(r + 38, icmp + 4, 36) == 0) {
				pongs++;
				break;
			}
		}
	}
	/* UDP "done" to port 9 (checksum 0: none, allowed over IPv4). */
	{
		uint8_t udp[12] = { 0x30, 0x39, 0, 9, 0, 12, 0, 0, 'd', 'o', 'n', 'e' };

		if (arp)
			for (i = 0; i < 3; i++)
				(void)send_frame(s, f, ip_frame(f, rmac, 17, udp, sizeof(udp)));
	}
	close(s);
	demo_row(d, "net", arp && pongs == 3,
		 arp && pongs == 3 ? "stream peer: ARP resolved, 3/3 ICMP echoes answered by lwIP on the remote"
				   : arp ? "ICMP echo not answered" : "ARP not answered");
}

void demo_net_linux(struct demo *d)
{
	if (use_tap)
		net_tap_linux(d);
	else
		net_stream_linux(d);
}
