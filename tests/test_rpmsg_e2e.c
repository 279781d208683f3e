/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpmsg end to end: the real hvl-pmm (argv[1]) with one rpmsg device
 * (builtin channels on, max_channels 80) and a remote in a forked process
 * using the POSIX port; both map the region at different addresses.  The
 * test process plays the Linux programs on the channel sockets.
 *
 *   echo:    N messages (10,000 by default, HVL_RPMSG_MSGS overrides) with
 *            sizes cycling 1..max, pipelined; the remote checks each and
 *            echoes it; we check length and bytes (boundaries preserved).
 *   stream:  the remote sends N messages of sizes 1..max unprompted.
 *   64 endpoints at once, each answering with its own name.
 *   oversize: the remote's send of max+1 bytes fails with -EMSGSIZE; our
 *            packet of max+1 bytes is refused (connection closed).
 *   Linux channel: created through dir/.control, bound by the remote's
 *            ns_bind callback, messages both ways, closed -> unbind.
 *   built-in echo channel (hvl-echo) from the remote.
 *   hostile remote: len larger than the buffer, len larger than the chain,
 *            unknown destination, a name that is not NUL-terminated, an
 *            announcement flood: dropped and counted (PMM stats line),
 *            other channels keep working.
 *   destroy by the remote: the socket file goes, its client reads EOF.
 *
 * Every wait is bounded; an alarm ends a hung run.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/posix.h"
#include "hvl/rpmsg.h"

#define IO_MS     10000u
#define NCH       64u
#define MAXCH     80u
#define FLOOD     50u
#define WINDOW    16u

static unsigned nmsgs = 10000u;

static uint8_t pat(unsigned seq, unsigned k)
{
	return (uint8_t)(seq * 7u + k * 13u + 1u);
}

/* ------------------------------------------------------------ remote side */

static struct {
	struct hvl_rpmsg_dev rd;
	struct hvl_rpmsg_ept echo, cmd, ch[NCH], host, becho;
	uint32_t host_dest, becho_dest;
	int host_bound, host_unbound, becho_got;
	unsigned echo_bad;
	char pending[64];
	uint32_t pending_src;
	int quit, reopen;
	void *held;          /* a receive buffer kept by hvl_rpmsg_hold_rx_buffer() */
	size_t held_len;
	uint32_t held_src;
} R;

static int echo_cb(struct hvl_rpmsg_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
	const uint8_t *p = data;
	unsigned seq = p[0], k;

	(void)priv;
	/* Byte 0 carries the sequence (mod 256); the rest follows the pattern. */
	for (k = 1; k < len; k++)
		if (p[k] != pat(seq, k)) {
			R.echo_bad++;
			break;
		}
	if (hvl_rpmsg_sendto(e, data, len, src) != (int)len)
		R.echo_bad++;
	return 0;
}

static int ch_cb(struct hvl_rpmsg_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
	char out[96];
	int n = snprintf(out, sizeof(out), "%s:%.*s", e->name, (int)len, (const char *)data);

	(void)priv;
	/* Off-channel send with our own address: the same as sendto, through the other API. */
	(void)hvl_rpmsg_send_offchannel(e, e->addr, src, out, (size_t)n);
	return 0;
}

static int cmd_cb(struct hvl_rpmsg_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
	(void)e;
	(void)priv;
	/* "hold:...": keep the buffer itself (zero-copy receive), answered from the main loop. */
	if (len > 5 && memcmp(data, "hold:", 5) == 0 && R.held == NULL &&
	    hvl_rpmsg_hold_rx_buffer(&R.rd, data) == 0) {
		R.held = data;
		R.held_len = len;
		R.held_src = src;
		return 0;
	}
	/* Commands run in the main loop, where polling is allowed. */
	if (len >= sizeof(R.pending))
		len = sizeof(R.pending) - 1;
	memcpy(R.pending, data, len);
	R.pending[len] = '\0';
	R.pending_src = src;
	return 0;
}

static int host_cb(struct hvl_rpmsg_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
	char out[96];
	int n = snprintf(out, sizeof(out), "re:%.*s", (int)len, (const char *)data);

	(void)priv;
	(void)hvl_rpmsg_sendto(e, out, (size_t)n, src);
	return 0;
}

static void host_unbind(struct hvl_rpmsg_ept *e)
{
	R.host_unbound = 1;
	hvl_rpmsg_destroy_ept(e);
}

static int becho_cb(struct hvl_rpmsg_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
	(void)e;
	(void)priv;
	if (src == R.becho_dest && len == 5 && memcmp(data, "hello", 5) == 0)
		R.becho_got++;
	return 0;
}

static void ns_bind(struct hvl_rpmsg_dev *rd, const char *name, uint32_t dest)
{
	if (strcmp(name, "host-svc") == 0 && !R.host_bound) {
		if (hvl_rpmsg_create_ept(&R.host, rd, name, HVL_RPMSG_ADDR_ANY, dest, host_cb,
					 host_unbind) == 0) {
			R.host_bound = 1;
			R.host_dest = dest;
			/* Speak first: the PMM learns our address from it. */
			(void)hvl_rpmsg_send(&R.host, "hello from remote", 17);
		}
	} else if (strcmp(name, "hvl-echo") == 0) {
		R.becho_dest = dest;
	}
}

/* Post a raw message: @chain bytes of which the first 16 are a header we forge. */
static int raw_send(uint32_t src, uint32_t dst, uint32_t hlen, const void *payload, uint32_t plen,
		    uint32_t chain)
{
	struct hvl_rpmsg_dev *rd = &R.rd;
	struct hvl_rpmsg_hdr h;
	struct hvl_sg sg;
	uint32_t max;
	uint8_t *p = hvl_rpmsg_get_tx_buffer(rd, &max, IO_MS);
	int i;

	if (p == NULL)
		return -1;
	for (i = 0; i < rd->ntx; i++)
		if (p == rd->tx[i].local + HVL_RPMSG_HDR_SIZE)
			break;
	hvl_le32_put(&h.src, src);
	hvl_le32_put(&h.dst, dst);
	hvl_le32_put(&h.reserved, 0);
	hvl_le16_put(&h.len, (uint16_t)hlen);
	hvl_le16_put(&h.flags, 0);
	memcpy(p - HVL_RPMSG_HDR_SIZE, &h, sizeof(h));
	memcpy(p, payload, plen);
	rd->tx_taken[i] = 0;
	/* A chain longer than one buffer still lies inside the window (the next buffers). */
	sg.addr = rd->tx[i].bus;
	sg.len = chain;
	if (hvl_vq_drv_add(&rd->txq, &sg, 1, 0, &rd->tx[i]) != 0)
		return -1;
	hvl_vdev_kick(&rd->vdev, HVL_RPMSG_TXQ, &rd->txq);
	return 0;
}

static int raw_ns(const char *name, size_t nlen, uint32_t addr, uint32_t flags)
{
	struct hvl_rpmsg_ns_msg ns;

	memset(&ns, 0, sizeof(ns));
	memcpy(ns.name, name, nlen);
	hvl_le32_put(&ns.addr, addr);
	hvl_le32_put(&ns.flags, flags);
	return raw_send(addr, HVL_RPMSG_NS_ADDR, sizeof(ns), &ns, sizeof(ns),
			HVL_RPMSG_HDR_SIZE + sizeof(ns));
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	char out[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, sizeof(out), fmt, ap);
	va_end(ap);
	(void)hvl_rpmsg_sendto(&R.cmd, out, (size_t)n, R.pending_src);
}

static void run_cmd(void)
{
	uint32_t max = hvl_rpmsg_max_payload(&R.rd);
	static uint8_t big[HVL_RPMSG_MAX_BUF_SIZE];
	char *c = R.pending;
	unsigned i, k;

	if (strncmp(c, "stream ", 7) == 0) {
		unsigned n = (unsigned)atoi(c + 7);
		int bad = 0;

		for (i = 0; i < n && !bad; i++) {
			uint32_t len = 1u + i % max;

			big[0] = (uint8_t)i;
			for (k = 1; k < len; k++)
				big[k] = pat(i & 0xFFu, k);
			if (hvl_rpmsg_sendto(&R.cmd, big, len, R.pending_src) != (int)len)
				bad = 1;
		}
		reply("stream %s", bad ? "bad" : "done");
	} else if (strcmp(c, "oversize") == 0) {
		int a = hvl_rpmsg_send(&R.echo, big, max + 1u);
		int b = hvl_rpmsg_trysendto(&R.echo, big, max + 1u, R.pending_src);
		void *z;

		/* Zero copy too: a buffer too small for max+1 refuses it. */
		z = hvl_rpmsg_get_tx_buffer(&R.rd, &k, IO_MS);
		i = (unsigned)hvl_rpmsg_sendto_nocopy(&R.cmd, z, max + 1u, R.pending_src);
		(void)hvl_rpmsg_release_tx_buffer(&R.rd, z);
		reply("oversize %s", a == -EMSGSIZE && b == -EMSGSIZE && (int)i == -EMSGSIZE && k == max
		      ? "ok" : "bad");
	} else if (strcmp(c, "hostile") == 0) {
		static const char noterm[32] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
		int rc = 0;

		rc |= raw_send(R.cmd.addr, R.pending_src, 600, big, 0, HVL_RPMSG_HDR_SIZE + 600);
		rc |= raw_send(R.cmd.addr, R.pending_src, 100, "short", 5, HVL_RPMSG_HDR_SIZE + 10);
		rc |= raw_send(R.cmd.addr, 0x7000000u, 4, "lost", 4, HVL_RPMSG_HDR_SIZE + 4);
		rc |= raw_ns(noterm, sizeof(noterm), 5000, HVL_RPMSG_NS_CREATE);
		reply("hostile %s", rc == 0 ? "done" : "bad");
	} else if (strcmp(c, "flood") == 0) {
		int rc = 0;

		for (i = 0; i < FLOOD; i++) {
			char name[16];

			snprintf(name, sizeof(name), "flood%u", i);
			rc |= raw_ns(name, strlen(name), 20000u + i, HVL_RPMSG_NS_CREATE);
		}
		reply("flood %s", rc == 0 ? "done" : "bad");
	} else if (strcmp(c, "unflood") == 0) {
		int rc = 0;

		for (i = 0; i < FLOOD; i++) {
			char name[16];

			snprintf(name, sizeof(name), "flood%u", i);
			rc |= raw_ns(name, strlen(name), 20000u + i, HVL_RPMSG_NS_DESTROY);
		}
		reply("unflood %s", rc == 0 ? "done" : "bad");
	} else if (strcmp(c, "destroy ch0") == 0) {
		hvl_rpmsg_destroy_ept(&R.ch[0]);
		reply("destroyed");
	} else if (strcmp(c, "builtin") == 0) {
		int rc = -1;

		if (R.becho_dest != 0 && hvl_rpmsg_create_ept(&R.becho, &R.rd, NULL, HVL_RPMSG_ADDR_ANY,
							    R.becho_dest, becho_cb, NULL) == 0) {
			uint64_t end = h_now_ms() + IO_MS;

			for (i = 0; i < 100; i++)
				(void)hvl_rpmsg_send(&R.becho, "hello", 5);
			while (R.becho_got < 100 && h_now_ms() < end)
				(void)hvl_rpmsg_poll(&R.rd, 100);
			rc = R.becho_got == 100 ? 0 : -1;
		}
		reply("builtin %s %d", rc == 0 ? "ok" : "bad", R.becho_got);
	} else if (strcmp(c, "stats") == 0) {
		reply("stats echo_bad=%u bound=%d unbound=%d drop_dst=%llu drop_bad=%llu", R.echo_bad,
		      R.host_bound, R.host_unbound, (unsigned long long)R.rd.drop_dst,
		      (unsigned long long)R.rd.drop_bad);
	} else if (strcmp(c, "zc") == 0) {
		/* Zero-copy send: fill the transmit buffer in place. */
		uint32_t room = 0;
		char *z = hvl_rpmsg_get_tx_buffer(&R.rd, &room, IO_MS);
		int n = z != NULL ? snprintf(z, room, "zero-copy %u", room) : -1;

		if (n < 0 || hvl_rpmsg_sendto_nocopy(&R.cmd, z, (size_t)n, R.pending_src) != n)
			reply("zc bad");
	} else if (strcmp(c, "trysend") == 0) {
		/* Hold every transmit buffer: trysend must then fail at once with -EAGAIN. */
		static void *bufs[HVL_RPMSG_TX_BUFS];
		unsigned nb = 0;
		uint32_t room;
		int r;

		(void)hvl_rpmsg_flush(&R.rd, IO_MS); /* every buffer back first */
		while (nb < HVL_RPMSG_TX_BUFS &&
		       (bufs[nb] = hvl_rpmsg_get_tx_buffer(&R.rd, &room, 0)) != NULL)
			nb++;
		r = hvl_rpmsg_trysendto(&R.cmd, "x", 1, R.pending_src);
		for (i = 0; i < nb; i++)
			(void)hvl_rpmsg_release_tx_buffer(&R.rd, bufs[i]);
		reply("trysend %s %u", r == -EAGAIN && nb == R.rd.ntx ? "ok" : "bad", nb);
	} else if (strcmp(c, "reopen") == 0) {
		R.reopen = 1;
		reply("reopening");
	} else if (strcmp(c, "quit") == 0) {
		R.quit = 1;
		reply("bye");
	} else {
		reply("unknown");
	}
	R.pending[0] = '\0';
}

/* Create echo and cmd (announced): at start and after a reset. */
static int remote_epts(void)
{
	if (hvl_rpmsg_create_ept(&R.echo, &R.rd, "echo", HVL_RPMSG_ADDR_ANY, HVL_RPMSG_ADDR_ANY,
				 echo_cb, NULL) != 0 ||
	    hvl_rpmsg_create_ept(&R.cmd, &R.rd, "cmd", HVL_RPMSG_ADDR_ANY, HVL_RPMSG_ADDR_ANY,
				 cmd_cb, NULL) != 0)
		return -1;
	return 0;
}

static int remote_main(const char *mem)
{
	static union { void *p; uint8_t b[HVL_RPMSG_STORAGE(256)]; } st;
	struct hvl_posix_remote pr;
	uint64_t end;
	unsigned i;
	int rc;

	rc = hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000);
	if (rc != 0) {
		fprintf(stderr, "remote: attach: %d\n", rc);
		return 2;
	}
	rc = hvl_rpmsg_open(&R.rd, &pr.r, 0, &st, sizeof(st), ns_bind);
	if (rc != 0) {
		fprintf(stderr, "remote: open: %d\n", rc);
		return 2;
	}
	hvl_rpmsg_set_timeout(&R.rd, IO_MS);
	if (remote_epts() != 0)
		return 2;
	for (i = 0; i < NCH; i++) {
		char name[8];

		snprintf(name, sizeof(name), "ch%u", i);
		if (hvl_rpmsg_create_ept(&R.ch[i], &R.rd, name, HVL_RPMSG_ADDR_ANY, HVL_RPMSG_ADDR_ANY,
					 ch_cb, NULL) != 0)
			return 2;
	}
	/* A second endpoint on an address in use is refused. */
	if (hvl_rpmsg_create_ept(&R.becho, &R.rd, NULL, R.echo.addr, HVL_RPMSG_ADDR_ANY, echo_cb,
				 NULL) != -EADDRINUSE)
		return 3;
	end = h_now_ms() + 100000u;
	while (!R.quit && h_now_ms() < end) {
		rc = hvl_rpmsg_poll(&R.rd, 200);
		if (rc < 0 && rc != -ETIMEDOUT) {
			fprintf(stderr, "remote: poll: %d\n", rc);
			return 4;
		}
		if (R.pending[0] != '\0')
			run_cmd();
		if (R.held != NULL) {
			/* Answer from the held buffer itself, then give it back. */
			if (hvl_rpmsg_sendto(&R.cmd, R.held, R.held_len, R.held_src) != (int)R.held_len ||
			    hvl_rpmsg_release_rx_buffer(&R.rd, R.held) != 0 ||
			    hvl_rpmsg_release_rx_buffer(&R.rd, R.held) != -EINVAL)
				R.echo_bad++;
			R.held = NULL;
		}
		if (R.reopen) {
			/* A reset drops every channel of ours; open again and re-announce. */
			R.reopen = 0;
			if (hvl_rpmsg_flush(&R.rd, IO_MS) != 0 || hvl_rpmsg_close(&R.rd) != 0 ||
			    hvl_rpmsg_open(&R.rd, &pr.r, 0, &st, sizeof(st), ns_bind) != 0)
				return 7;
			hvl_rpmsg_set_timeout(&R.rd, IO_MS);
			if (remote_epts() != 0)
				return 7;
		}
	}
	hvl_rpmsg_destroy_ept(&R.echo);
	if (hvl_rpmsg_flush(&R.rd, IO_MS) != 0)
		return 6;
	(void)hvl_rpmsg_close(&R.rd);
	hvl_posix_remote_close(&pr);
	return R.quit ? 0 : 5;
}

/* -------------------------------------------------------------- Linux side */

static char dir[256];

static int sp_connect(const char *leaf, unsigned timeout_ms)
{
	struct sockaddr_un sa;
	uint64_t end = h_now_ms() + timeout_ms;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(dir) + strlen(leaf) + 5 > sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, dir, strlen(dir));
	memcpy(sa.sun_path + strlen(dir), "/rp/", 4);
	memcpy(sa.sun_path + strlen(dir) + 4, leaf, strlen(leaf) + 1);
	do {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(10000);
	} while (h_now_ms() < end);
	return -1;
}

/* One packet within @ms: its length, 0 at EOF, -1 on timeout/error. */
static ssize_t sp_recv(int fd, void *buf, size_t len, unsigned ms)
{
	struct pollfd pf = { fd, POLLIN, 0 };

	if (poll(&pf, 1, (int)ms) <= 0)
		return -1;
	return recv(fd, buf, len, 0);
}

/* Send a command on the cmd channel and wait for the reply starting with @want. */
static int command(int fd, const char *c, const char *want, char *out, size_t outlen)
{
	ssize_t n;

	if (send(fd, c, strlen(c), MSG_NOSIGNAL) != (ssize_t)strlen(c))
		return -1;
	n = sp_recv(fd, out, outlen - 1, 30000);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	return strncmp(out, want, strlen(want)) == 0 ? 0 : -1;
}

static int echo_check(int fd, uint32_t max, unsigned n)
{
	static uint8_t buf[HVL_RPMSG_MAX_BUF_SIZE], got[HVL_RPMSG_MAX_BUF_SIZE];
	unsigned sent = 0, recvd = 0, k;

	while (recvd < n) {
		while (sent < n && sent - recvd < WINDOW) {
			uint32_t len = 1u + sent % max;

			buf[0] = (uint8_t)sent;
			for (k = 1; k < len; k++)
				buf[k] = pat(sent & 0xFFu, k);
			if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
				return -1;
			sent++;
		}
		{
			uint32_t len = 1u + recvd % max;
			ssize_t r = sp_recv(fd, got, sizeof(got), IO_MS);

			if (r != (ssize_t)len || got[0] != (uint8_t)recvd)
				return -2;
			for (k = 1; k < len; k++)
				if (got[k] != pat(recvd & 0xFFu, k))
					return -3;
			recvd++;
		}
	}
	return 0;
}

/* The PMM's closing stats line: "<key> N" after @key. */
static long long stat_of(const char *log, const char *key)
{
	static char buf[1u << 20];
	FILE *f = fopen(log, "r");
	size_t n;
	const char *p;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "rpmsg: to Linux");
	if (p == NULL || (p = strstr(p, key)) == NULL)
		return -1;
	return atoll(p + strlen(key));
}

int main(int argc, char **argv)
{
	static uint8_t got[HVL_RPMSG_MAX_BUF_SIZE];
	char mem[300], log[300], rpdir[300], devopt[400], path[400], line[256];
	const uint32_t max = HVL_RPMSG_DEFAULT_BUF_SIZE - HVL_RPMSG_HDR_SIZE;
	int echo = -1, cmd = -1, chfd[NCH], hfd = -1, rc;
	pid_t pmm, remote;
	unsigned i;
	struct stat stb;
	uint64_t t0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	if (getenv("HVL_RPMSG_MSGS") != NULL)
		nmsgs = (unsigned)atoi(getenv("HVL_RPMSG_MSGS"));
	alarm(110);
	signal(SIGPIPE, SIG_IGN);
	if (h_tmpdir("hvl-rpmsg", dir) != 0)
		return 2;
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(rpdir, sizeof(rpdir), "%s/rp", dir);
	snprintf(devopt, sizeof(devopt), "rpmsg,dir=%s,max_channels=%u,builtin=1", rpdir, MAXCH);
	{
		char *pargv[] = { argv[1], "--file", mem, "--device", devopt, "-v", NULL };

		pmm = h_spawn(pargv, log);
	}
	remote = fork();
	if (remote == 0)
		_exit(remote_main(mem));
	for (i = 0; i < NCH; i++)
		chfd[i] = -1;

	/* 1. echo: N messages of sizes 1..max, both directions, boundaries kept. */
	echo = sp_connect("echo", IO_MS);
	CHECK(echo >= 0);
	if (echo < 0)
		goto out;
	t0 = h_now_ms();
	rc = echo_check(echo, max, nmsgs);
	CHECK_EQ(rc, 0);
	printf("test_rpmsg_e2e: %u echoed messages in %llu ms\n", nmsgs,
	       (unsigned long long)(h_now_ms() - t0));

	/* 2. stream from the remote, unprompted. */
	cmd = sp_connect("cmd", IO_MS);
	CHECK(cmd >= 0);
	if (cmd < 0)
		goto out;
	snprintf(line, sizeof(line), "stream %u", nmsgs);
	CHECK(send(cmd, line, strlen(line), 0) > 0);
	for (i = 0; i < nmsgs; i++) {
		uint32_t len = 1u + i % max, k;
		ssize_t r = sp_recv(cmd, got, sizeof(got), IO_MS);
		int ok = r == (ssize_t)len && got[0] == (uint8_t)i;

		for (k = 1; ok && k < len; k++)
			ok = got[k] == pat(i & 0xFFu, k);
		if (!ok) {
			fprintf(stderr, "stream message %u: %zd bytes, bad\n", i, r);
			CHECK(0);
			break;
		}
	}
	CHECK(sp_recv(cmd, line, sizeof(line) - 1, IO_MS) == 11 && memcmp(line, "stream done", 11) == 0);

	/* 3. 64 endpoints at once. */
	for (i = 0; i < NCH; i++) {
		char name[8];

		snprintf(name, sizeof(name), "ch%u", i);
		chfd[i] = sp_connect(name, IO_MS);
		CHECK(chfd[i] >= 0);
	}
	for (i = 0; i < NCH; i++) {
		char msg[16];

		snprintf(msg, sizeof(msg), "x%u", i);
		if (chfd[i] >= 0)
			CHECK(send(chfd[i], msg, strlen(msg), 0) > 0);
	}
	for (i = 0; i < NCH; i++) {
		char want[32];
		ssize_t r;

		if (chfd[i] < 0)
			continue;
		snprintf(want, sizeof(want), "ch%u:x%u", i, i);
		r = sp_recv(chfd[i], line, sizeof(line) - 1, IO_MS);
		CHECK(r == (ssize_t)strlen(want) && memcmp(line, want, (size_t)r) == 0);
	}

	/* 4. oversize both ways. */
	CHECK(command(cmd, "oversize", "oversize ok", line, sizeof(line)) == 0);
	memset(got, 'o', sizeof(got));
	CHECK(send(echo, got, max + 1u, MSG_NOSIGNAL) == (ssize_t)(max + 1u));
	CHECK(sp_recv(echo, line, sizeof(line), IO_MS) == 0); /* refused: EOF */
	CHECK(send(echo, got, 1, MSG_NOSIGNAL) < 0 && errno == EPIPE);
	close(echo);
	echo = sp_connect("echo", IO_MS);
	CHECK(echo >= 0 && echo_check(echo, max, 100) == 0);

	/* 5. a channel made by a Linux program. */
	hfd = sp_connect(".control", IO_MS);
	CHECK(hfd >= 0);
	if (hfd >= 0) {
		ssize_t r;

		CHECK(send(hfd, "host-svc", 8, 0) == 8);
		r = sp_recv(hfd, line, sizeof(line) - 1, IO_MS);
		CHECK(r == 17 && memcmp(line, "hello from remote", 17) == 0);
		CHECK(send(hfd, "ping", 4, 0) == 4);
		r = sp_recv(hfd, line, sizeof(line) - 1, IO_MS);
		CHECK(r == 7 && memcmp(line, "re:ping", 7) == 0);
		close(hfd);
		hfd = -1;
	}
	/* A second Linux channel with a name in use is refused (EOF). */
	hfd = sp_connect(".control", IO_MS);
	if (hfd >= 0) {
		CHECK(send(hfd, "echo", 4, 0) == 4);
		CHECK(sp_recv(hfd, line, sizeof(line), IO_MS) == 0);
		close(hfd);
		hfd = -1;
	}

	/* 6. the built-in echo channel of the PMM. */
	CHECK(command(cmd, "builtin", "builtin ok", line, sizeof(line)) == 0);

	/* 7. hostile messages, then a flood of announcements; the others carry on. */
	CHECK(command(cmd, "hostile", "hostile done", line, sizeof(line)) == 0);
	CHECK(command(cmd, "flood", "flood done", line, sizeof(line)) == 0);
	CHECK(echo >= 0 && echo_check(echo, max, 200) == 0);
	if (chfd[1] >= 0) {
		ssize_t r;

		CHECK(send(chfd[1], "after", 5, 0) == 5);
		r = sp_recv(chfd[1], line, sizeof(line) - 1, IO_MS);
		CHECK(r == 9 && memcmp(line, "ch1:after", 9) == 0);
	}
	CHECK(command(cmd, "unflood", "unflood done", line, sizeof(line)) == 0);

	/* 8. destroyed by the remote: file gone, client at EOF. */
	CHECK(command(cmd, "destroy ch0", "destroyed", line, sizeof(line)) == 0);
	if (chfd[0] >= 0)
		CHECK(sp_recv(chfd[0], line, sizeof(line), IO_MS) == 0);
	snprintf(path, sizeof(path), "%s/ch0", rpdir);
	CHECK(lstat(path, &stb) != 0);

	/* 9. zero copy: a transmit buffer filled in place, a receive buffer held and answered. */
	CHECK(command(cmd, "zc", "zero-copy 496", line, sizeof(line)) == 0);
	CHECK(command(cmd, "hold:abc", "hold:abc", line, sizeof(line)) == 0);
	CHECK(command(cmd, "trysend", "trysend ok", line, sizeof(line)) == 0);

	/* 10. the remote's view: nothing bad received, the Linux channel was unbound. */
	CHECK(command(cmd, "stats", "stats echo_bad=0 bound=1 unbound=1 drop_dst=0 drop_bad=0", line,
		      sizeof(line)) == 0);
	if (strncmp(line, "stats", 5) == 0)
		printf("test_rpmsg_e2e: remote %s\n", line);
	/* 11. a reset drops the remote's channels (EOF), a reopen announces them again. */
	CHECK(command(cmd, "reopen", "reopening", line, sizeof(line)) == 0);
	CHECK(sp_recv(cmd, line, sizeof(line), IO_MS) == 0);
	CHECK(sp_recv(echo, line, sizeof(line), IO_MS) == 0);
	close(cmd);
	close(echo);
	echo = sp_connect("echo", IO_MS);
	cmd = sp_connect("cmd", IO_MS);
	CHECK(echo >= 0 && cmd >= 0);
	if (echo >= 0)
		CHECK(echo_check(echo, max, 100) == 0);
	CHECK(cmd >= 0 && command(cmd, "quit", "bye", line, sizeof(line)) == 0);
	CHECK_EQ(h_wait_exit(remote, IO_MS), 0);
out:
	if (echo >= 0)
		close(echo);
	if (cmd >= 0)
		close(cmd);
	for (i = 0; i < NCH; i++)
		if (chfd[i] >= 0)
			close(chfd[i]);
	kill(remote, SIGKILL);
	(void)h_wait_exit(remote, 2000);
	kill(pmm, SIGTERM);
	rc = h_wait_exit(pmm, 10000);
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		kill(pmm, SIGKILL);
		(void)h_wait_exit(pmm, 5000);
	}
	/* Dropped and counted (the PMM's closing statistics). */
	CHECK_EQ(stat_of(log, "oversize "), 1);
	CHECK_EQ(stat_of(log, "len "), 1);
	CHECK_EQ(stat_of(log, "unknown dst "), 1);
	/* The bad name, and the destroys of the 38 refused flood names. */
	CHECK_EQ(stat_of(log, "ns "), 1 + FLOOD - (MAXCH - 68u));
	/* 2 built-ins + echo + cmd + 64 + host-svc gone = 68 of 80: 12 accepted. */
	CHECK_EQ(stat_of(log, "ns refused "), FLOOD - (MAXCH - 68u));
	CHECK_EQ(stat_of(log, "Linux oversize "), 1);
	CHECK(lstat(rpdir, &stb) != 0); /* sockets and the directory removed */
	if (h_failed != 0 || getenv("HVL_TEST_KEEP") != NULL)
		fprintf(stderr, "test_rpmsg_e2e: files kept in %s\n", dir);
	else
		h_rmtree(dir);
	return h_finish("test_rpmsg_e2e");
}
