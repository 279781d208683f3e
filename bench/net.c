/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench net modes: virtio-net frames per second through the real
 * hvl-pmm's stream backend (QEMU `-netdev stream` framing on a UNIX
 * socket), with this process as the Linux peer on the socket and a remote
 * child (POSIX port, hvl/net.h) on the other side:
 *
 *  - remote -> Linux: the remote sends N frames (hvl_net_send), the peer
 *    reads the framed stream; timed at the peer from the first frame to
 *    the last;
 *  - Linux -> remote: the peer writes N framed frames, the remote
 *    receives them (hvl_net_recv); timed at the remote likewise;
 *  - baseline of the same run: the same framed frames between two
 *    processes over a UNIX stream socket pair.
 *
 * Frame sizes 64 B and 1514 B (a full Ethernet frame at MTU 1500).  The
 * remote runs on CPU 0, hvl-pmm and the peer on CPU 1.  Everything
 * started is stopped by PID with bounded waits; the temporary directory
 * is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "hvl/net.h"
#include "hvl/posix.h"

#define NB_IO_MS 10000u
#define NB_RBUF  (256u * 1024u)

static const uint32_t nb_sizes[2] = { 64u, 1514u };

struct nb_shared {
	int ok;
	double rx_fps[2];   /* Linux -> remote, measured at the remote */
	char err[160];
};


static void nb_frame(uint8_t *f, uint32_t len)
{
	static const uint8_t mac[12] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc };

	memcpy(f, mac, 12);
	f[12] = 0x88;
	f[13] = 0xb5;
	memset(f + 14, 0x5a, len - 14u);
}

/* A reader of the framed stream; bytes of the next phase stay buffered between calls. */
struct nb_reader {
	uint8_t buf[NB_RBUF];
	size_t have, off;
};

/*
 * Read framed frames from @fd until @n of them arrived; returns frames per
 * second from the first to the last, or -1.  Frames of other sizes than
 * @size are an error (nothing else travels on this cable).
 */
static double nb_read_frames(struct nb_reader *rd, int fd, uint64_t n, uint32_t size)
{
	uint8_t *buf = rd->buf;
	size_t have = rd->have, off = rd->off;
	uint64_t got = 0;
	int64_t t0 = 0, last = 0, stuck = now_ns() + (int64_t)NB_IO_MS * 1000000;

	while (got < n) {
		ssize_t r;

		if (have - off < 4u || have - off < 4u + size) {
			struct pollfd pf = { fd, POLLIN, 0 };

			memmove(buf, buf + off, have - off);
			have -= off;
			off = 0;
			/* Bounded: a peer that died leaves the socket open but silent. */
			if (now_ns() > stuck)
				return -1.0;
			if (poll(&pf, 1, 100) <= 0)
				continue;
			r = read(fd, buf + have, NB_RBUF - have);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				return -1.0;
			}
			have += (size_t)r;
			if (now_ns() > stuck)
				return -1.0;
			continue;
		}
		if (((uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 | (uint32_t)buf[off + 2] << 8 |
		     buf[off + 3]) != size)
			return -1.0;
		off += 4u + size;
		last = now_ns();
		if (got == 0)
			t0 = last;
		got++;
		stuck = last + (int64_t)NB_IO_MS * 1000000;
	}
	rd->have = have;
	rd->off = off;
	return n > 1 && last > t0 ? (double)(n - 1) * 1e9 / (double)(last - t0) : -1.0;
}

/* Write @n framed frames of @size, several per write(). */
static int nb_write_frames(int fd, uint64_t n, uint32_t size)
{
	static uint8_t buf[NB_RBUF];
	uint32_t per = (uint32_t)(sizeof buf / (4u + size)), k; /* frames batched per write() */
	uint64_t sent = 0;

	for (k = 0; k < per; k++) {
		uint8_t *p = buf + (size_t)k * (4u + size);

		p[0] = 0;
		p[1] = 0;
		p[2] = (uint8_t)(size >> 8);
		p[3] = (uint8_t)size;
		nb_frame(p + 4, size);
	}
	while (sent < n) {
		uint64_t m = n - sent < per ? n - sent : per;
		size_t len = (size_t)m * (4u + size), done = 0;

		while (done < len) {
			ssize_t w = write(fd, buf + done, len - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			done += (size_t)w;
		}
		sent += m;
	}
	return 0;
}

/* Baseline: the same framed frames between two processes over a UNIX stream socket pair. */
static struct nb_reader rdr; /* one reader at a time: the baseline, then the PMM's socket */

static double nb_unix(struct bench *b, uint64_t n, uint32_t size)
{
	int sv[2];
	pid_t pid;
	double fps;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1.0;
	pid = fork();
	if (pid < 0)
		return -1.0;
	if (pid == 0) {
		close(sv[0]);
		pin(b, 0);
		_exit(nb_write_frames(sv[1], n, size) == 0 ? 0 : 1);
	}
	close(sv[1]);
	pin(b, 1);
	rdr.have = rdr.off = 0;
	fps = nb_read_frames(&rdr, sv[0], n, size);
	close(sv[0]);
	kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	return fps;
}

/* ------------------------------------------------------------ the remote */

static int nb_remote(struct bench *b, const char *region, struct nb_shared *sh, uint64_t n)
{
	HVL_NET_DEFINE(bnet, 256);
	static uint8_t f[1514];
	struct hvl_posix_remote pr;
	unsigned s;
	uint64_t i;
	int64_t end;
	int rc;

	pin(b, 0);
	rc = hvl_posix_remote_open(&pr, region, NULL, UINT64_MAX, 5000);
	if (rc == 0)
		rc = hvl_net_open(&bnet, &pr.r, 0, &bnet_storage, sizeof bnet_storage);
	if (rc != 0) {
		snprintf(sh->err, sizeof sh->err, "attach/open: %s", strerror(-rc));
		return 1;
	}
	end = now_ns() + (int64_t)NB_IO_MS * 1000000;
	while (hvl_net_link_up(&bnet) != 1 && now_ns() < end)
		usleep(1000);
	/* remote -> Linux: the peer times it. */
	for (s = 0; s < 2; s++) {
		nb_frame(f, nb_sizes[s]);
		for (i = 0; i < n; i++) {
			rc = hvl_net_send(&bnet, f, nb_sizes[s], NB_IO_MS);
			if (rc != 0) {
				snprintf(sh->err, sizeof sh->err, "send %llu of %u B: %s",
					 (unsigned long long)i, nb_sizes[s], strerror(-rc));
				return 1;
			}
		}
	}
	/* Linux -> remote: timed here. */
	for (s = 0; s < 2; s++) {
		int64_t t0 = 0, last = 0;

		for (i = 0; i < n; i++) {
			long r = hvl_net_recv(&bnet, f, sizeof f, NB_IO_MS);

			if (r != (long)nb_sizes[s]) {
				snprintf(sh->err, sizeof sh->err, "recv %llu of %u B: %ld",
					 (unsigned long long)i, nb_sizes[s], r);
				return 1;
			}
			last = now_ns();
			if (i == 0)
				t0 = last;
		}
		sh->rx_fps[s] = last > t0 ? (double)(n - 1) * 1e9 / (double)(last - t0) : 0.0;
	}
	sh->ok = 1;
	(void)hvl_net_close(&bnet);
	hvl_posix_remote_close(&pr);
	return 0;
}

/* ------------------------------------------------------------ the driver */

int run_net_modes(struct bench *b, struct net_result *r)
{
	char dir[] = "/tmp/hvl-bench-net-XXXXXX", region[96], sock[96], log[96], dev[256];
	struct nb_shared *sh;
	pid_t pmm, rem;
	int fd = -1, st, ok = 0;
	uint64_t n = b->net_frames;
	unsigned s;

	memset(r, 0, sizeof *r);
	r->frames = n;
	if (bench_find_pmm(b, r->path, sizeof r->path) != 0)
		return 0;
	r->found = 1;
	fprintf(stderr, "  net: UNIX socket baseline\n");
	for (s = 0; s < 2; s++)
		r->unix_fps[s] = nb_unix(b, n, nb_sizes[s]);
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(region, sizeof region, "%s/mem", dir);
	snprintf(sock, sizeof sock, "%s/net.sock", dir);
	snprintf(log, sizeof log, "%s/pmm.log", dir);
	snprintf(dev, sizeof dev, "net,backend=stream,mode=listen,path=%s,mac=52:54:00:12:34:56", sock);
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	memset(sh, 0, sizeof *sh);
	pmm = fork();
	if (pmm == 0) {
		char *argv[] = { r->path, "--file", region, "--doorbell", "futex", "--device", dev, "-q", NULL };
		int lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (lf >= 0) {
			dup2(lf, STDOUT_FILENO);
			dup2(lf, STDERR_FILENO);
		}
		pin(b, 1);
		execv(r->path, argv);
		_exit(127);
	}
	{
		struct sockaddr_un sa;
		int64_t end = now_ns() + (int64_t)NB_IO_MS * 1000000;

		memset(&sa, 0, sizeof sa);
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
		while (fd < 0 && now_ns() < end) {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
				close(fd);
				fd = -1;
				usleep(10000);
			}
		}
	}
	if (fd < 0) {
		snprintf(r->err, sizeof r->err, "cannot connect to the PMM's net socket");
		goto out;
	}
	pin(b, 1);
	rdr.have = rdr.off = 0;
	rem = fork();
	if (rem == 0)
		_exit(nb_remote(b, region, sh, n));
	fprintf(stderr, "  net: remote -> Linux\n");
	ok = 1;
	for (s = 0; s < 2 && ok; s++) {
		r->tx_fps[s] = nb_read_frames(&rdr, fd, n, nb_sizes[s]);
		ok = r->tx_fps[s] > 0.0;
	}
	fprintf(stderr, "  net: Linux -> remote\n");
	for (s = 0; s < 2 && ok; s++)
		ok = nb_write_frames(fd, n, nb_sizes[s]) == 0;
	{
		int64_t end = now_ns() + 3 * (int64_t)NB_IO_MS * 1000000;

		while (waitpid(rem, &st, WNOHANG) != rem) {
			if (now_ns() > end) {
				kill(rem, SIGKILL);
				(void)waitpid(rem, &st, 0);
				ok = 0;
				break;
			}
			usleep(10000);
		}
	}
	ok = ok && sh->ok;
	for (s = 0; s < 2; s++)
		r->rx_fps[s] = sh->rx_fps[s];
	if (!ok)
		snprintf(r->err, sizeof r->err, "%s", sh->err[0] ? sh->err : "peer side failed");
	close(fd);
out:
	kill(pmm, SIGTERM);
	{
		int64_t end = now_ns() + (int64_t)NB_IO_MS * 1000000;

		while (waitpid(pmm, &st, WNOHANG) != pmm) {
			if (now_ns() > end) {
				kill(pmm, SIGKILL);
				(void)waitpid(pmm, &st, 0);
				break;
			}
			usleep(10000);
		}
	}
	munmap(sh, sizeof *sh);
	unlink(region);
	unlink(log);
	unlink(sock);
	rmdir(dir);
	r->ok = ok;
	return ok ? 0 : -1;
}

void print_net(const struct net_result *r)
{
	unsigned s;

	if (!r->found) {
		printf("\nnet: SKIPPED (needs hvl-pmm)\n");
		return;
	}
	if (!r->ok) {
		printf("\nnet: FAILED (%s)\n", r->err);
		return;
	}
	printf("\nnet (real hvl-pmm, stream backend = QEMU -netdev stream framing on a UNIX socket, futex doorbell;\n"
	       "     remote CPU 0, PMM and Linux peer CPU 1), %llu frames each:\n", (unsigned long long)r->frames);
	for (s = 0; s < 2; s++)
		printf("  %4u B frames: remote -> Linux %.0f frames/s (%.3g x), Linux -> remote %.0f frames/s "
		       "(%.3g x) of a UNIX socket pair with the same framing, %.0f frames/s\n",
		       nb_sizes[s], r->tx_fps[s], r->unix_fps[s] > 0 ? r->tx_fps[s] / r->unix_fps[s] : 0.0,
		       r->rx_fps[s], r->unix_fps[s] > 0 ? r->rx_fps[s] / r->unix_fps[s] : 0.0, r->unix_fps[s]);
}

void json_net(const struct net_result *r, FILE *js)
{
	fprintf(js, "  \"net\": {\"found\": %s, \"ok\": %s, \"frames\": %llu, "
		    "\"remote_to_linux_fps\": {\"64\": %.0f, \"1514\": %.0f}, "
		    "\"linux_to_remote_fps\": {\"64\": %.0f, \"1514\": %.0f}, "
		    "\"unix_socket_fps\": {\"64\": %.0f, \"1514\": %.0f}},\n",
		r->found ? "true" : "false", r->ok ? "true" : "false", (unsigned long long)r->frames,
		r->tx_fps[0], r->tx_fps[1], r->rx_fps[0], r->rx_fps[1], r->unix_fps[0], r->unix_fps[1]);
}
