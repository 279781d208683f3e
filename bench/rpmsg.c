/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench rpmsg modes, against the real hvl-pmm (rpmsg device with its
 * built-in channels, option builtin = 1):
 *
 *  - round trip, 16 B and 496 B, remote -> PMM built-in "hvl-echo" -> remote:
 *    the remote library, the rings and the PMM's device thread, WITHOUT the
 *    socket bridge.  Polled (doorbell = poll: both sides spin, the remote
 *    loops hvl_rpmsg_poll(.., 0)) and with the futex doorbell (the remote
 *    sleeps in hvl_rpmsg_poll()).
 *  - one-way 16 B message rate, remote -> PMM built-in "hvl-sink" (the
 *    device thread counts and discards: again no socket bridge), polled and
 *    with the futex doorbell; timed from the first send to the flush that
 *    sees every buffer back.
 *  - through the socket bridge (futex doorbell only): the remote announces
 *    "bench", a Linux program (this process) connects to its SOCK_SEQPACKET
 *    socket; round trips of 16 B and 496 B (Linux echoes), and a one-way
 *    16 B stream remote -> Linux program.  With 2 CPUs the PMM and the
 *    Linux program share CPU 1, so a polled PMM would spin against the
 *    program it serves: the bridge runs with doorbells only.
 *
 * The remote runs in a child pinned to CPU 0; hvl-pmm and the Linux side on
 * CPU 1 (as the console mode).  Everything we start is stopped by PID with
 * bounded waits; the temporary directory is removed.
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
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "bench.h"
#include "hvl/posix.h"
#include "hvl/rpmsg.h"

#define RP_QSIZE  256u
#define RP_BIG    496u          /* the maximum payload at the default buf_size 512 */
#define RP_ATTACH 5000u
#define RP_IO_MS  5000u

/* Shared with the remote child (MAP_SHARED). */
struct rp_shared {
	int ok;
	double sink_rate;                /* msgs/s */
	double bridge_rate;
	uint64_t ow_msgs;
	char err[160];
};

struct rp_ctx {
	char dir[64], cfg[96], region[96], sockdir[96], log[96];
	pid_t pid;
};


static int rp_pmm_start(struct bench *b, struct rp_ctx *c, const char *exe, const char *doorbell)
{
	char text[1024];
	char *argv[4];
	FILE *f;

	c->pid = -1;
	snprintf(c->dir, sizeof c->dir, "/tmp/hvl-bench-rp-XXXXXX");
	if (mkdtemp(c->dir) == NULL) {
		c->dir[0] = '\0';
		return -1;
	}
	snprintf(c->cfg, sizeof c->cfg, "%s/pmm.ini", c->dir);
	snprintf(c->region, sizeof c->region, "%s/region", c->dir);
	snprintf(c->sockdir, sizeof c->sockdir, "%s/rp", c->dir);
	snprintf(c->log, sizeof c->log, "%s/pmm.log", c->dir);
	snprintf(text, sizeof text,
		 "; written by hvl-bench\n"
		 "[region rt0]\nfile = %s\nremote_base = 0x%llx\ndoorbell = %s\nheartbeat_ms = 100\n"
		 "[device rt0.rpmsg0]\ntype = rpmsg\ndir = %s\nbuiltin = 1\nqueue_size = %u\n",
		 c->region, (unsigned long long)BUS_BASE, doorbell, c->sockdir, RP_QSIZE);
	f = fopen(c->cfg, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	argv[0] = (char *)(uintptr_t)exe;
	argv[1] = "-c";
	argv[2] = c->cfg;
	argv[3] = NULL;
	c->pid = bench_spawn_pmm(b, argv, c->log);
	if (c->pid < 0)
		return -1;
	return 0;
}

static int rp_pmm_stop(struct rp_ctx *c, int show_log)
{
	int rc = 0;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		rc = reap(c->pid, 5000);
	}
	if (show_log || rc != 0) {
		char buf[4096];
		FILE *f = fopen(c->log, "r");

		if (f != NULL) {
			size_t n = fread(buf, 1, sizeof buf, f);

			fclose(f);
			fprintf(stderr, "hvl-bench: hvl-pmm log:\n%.*s\n", (int)n, buf);
		}
	}
	if (c->dir[0] != '\0') {
		(void)unlink(c->cfg);
		(void)unlink(c->region);
		(void)unlink(c->log);
		(void)rmdir(c->sockdir); /* the PMM removes it; only if left over */
		if (rmdir(c->dir) != 0)
			fprintf(stderr, "hvl-bench: could not remove %s: %s\n", c->dir, strerror(errno));
	}
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ the remote */

struct rp_remote {
	struct hvl_rpmsg_dev rd;
	struct hvl_rpmsg_ept echo, sink, bench;
	uint32_t echo_dest, sink_dest;
	unsigned got;              /* replies seen */
	size_t got_len;
	int linux_ready;
};

static struct rp_remote *RR;   /* the child's only instance (callbacks carry no context) */

static void rr_bind(struct hvl_rpmsg_dev *rd, const char *name, uint32_t dest)
{
	(void)rd;
	if (strcmp(name, "hvl-echo") == 0)
		RR->echo_dest = dest;
	else if (strcmp(name, "hvl-sink") == 0)
		RR->sink_dest = dest;
}

static int rr_cb(struct hvl_rpmsg_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
	(void)e;
	(void)data;
	(void)src;
	(void)priv;
	RR->got++;
	RR->got_len = len;
	return 0;
}

static int rr_bench_cb(struct hvl_rpmsg_ept *e, void *data, size_t len, uint32_t src, void *priv)
{
	(void)e;
	(void)data;
	(void)src;
	(void)priv;
	if (!RR->linux_ready) {
		RR->linux_ready = 1; /* "hi": the Linux program's address is now our peer */
		return 0;
	}
	RR->got++;
	RR->got_len = len;
	return 0;
}

/* Wait for reply number @want: spin (polled) or sleep in poll (doorbell). */
static int rr_wait(struct rp_remote *r, unsigned want, int polled)
{
	int64_t end = now_ns() + (int64_t)RP_IO_MS * 1000000LL;

	while (r->got < want) {
		int rc = hvl_rpmsg_poll(&r->rd, polled ? 0u : RP_IO_MS);

		if (rc < 0 && rc != -EAGAIN && rc != -ETIMEDOUT)
			return -1;
		if (now_ns() > end)
			return -1;
	}
	return 0;
}

/* @n round trips of @len bytes on @ept to @dst; samples after the warm-up. */
static int rr_rtt(struct bench *b, struct rp_remote *r, struct hvl_rpmsg_ept *ept, uint32_t dst,
		  size_t len, unsigned n, uint32_t *samples, int polled)
{
	static uint8_t msg[RP_BIG];
	int64_t t;
	unsigned i;

	memset(msg, 0x5a, sizeof msg);
	b->samples = samples;
	r->got = 0;
	t = now_ns();
	for (i = 0; i < n; i++) {
		if (hvl_rpmsg_sendto(ept, msg, len, dst) != (int)len || rr_wait(r, i + 1u, polled) != 0 ||
		    r->got_len != len)
			return -1;
		sample(b, i, &t);
	}
	return 0;
}

/* @n one-way messages of 16 B to @dst, timed up to the flush that sees every buffer back. */
static double rr_oneway(struct rp_remote *r, struct hvl_rpmsg_ept *ept, uint32_t dst, uint64_t n)
{
	uint8_t msg[16];
	int64_t t0, t1;
	uint64_t i;

	memset(msg, 0x11, sizeof msg);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (hvl_rpmsg_sendto(ept, msg, sizeof msg, dst) != (int)sizeof msg)
			return -1.0;
	if (hvl_rpmsg_flush(&r->rd, RP_IO_MS) != 0)
		return -1.0;
	t1 = now_ns();
	return (double)n / ((double)(t1 - t0) / 1e9);
}

static int rr_main(struct bench *b, struct rp_ctx *c, struct rp_shared *sh, uint32_t *s, unsigned n,
		   int polled)
{
	static union { void *p; uint8_t bytes[HVL_RPMSG_STORAGE(RP_QSIZE)]; } st;
	static struct rp_remote r;
	struct hvl_posix_remote p;
	unsigned warm = n / 10u, tot = n + warm;
	int64_t end;
	int rc;

	RR = &r;
	pin(b, 0);
	b->warmup = warm;
	if (hvl_posix_remote_open(&p, c->region, NULL, BUS_BASE, RP_ATTACH) != 0) {
		snprintf(sh->err, sizeof sh->err, "remote attach failed");
		return -1;
	}
	rc = hvl_rpmsg_open(&r.rd, &p.r, 0, st.bytes, sizeof st.bytes, rr_bind);
	if (rc != 0) {
		snprintf(sh->err, sizeof sh->err, "hvl_rpmsg_open: %s", strerror(-rc));
		return -1;
	}
	hvl_rpmsg_set_timeout(&r.rd, RP_IO_MS);
	end = now_ns() + (int64_t)RP_ATTACH * 1000000LL;
	while ((r.echo_dest == 0 || r.sink_dest == 0) && now_ns() < end)
		(void)hvl_rpmsg_poll(&r.rd, 100);
	if (r.echo_dest == 0 || r.sink_dest == 0 ||
	    hvl_rpmsg_create_ept(&r.echo, &r.rd, NULL, HVL_RPMSG_ADDR_ANY, r.echo_dest, rr_cb, NULL) != 0 ||
	    hvl_rpmsg_create_ept(&r.sink, &r.rd, NULL, HVL_RPMSG_ADDR_ANY, r.sink_dest, rr_cb, NULL) != 0) {
		snprintf(sh->err, sizeof sh->err, "built-in channels not announced");
		return -1;
	}
	rc = rr_rtt(b, &r, &r.echo, r.echo_dest, 16, tot, s, polled);
	if (rc == 0)
		rc = rr_rtt(b, &r, &r.echo, r.echo_dest, RP_BIG, tot, s + n, polled);
	if (rc == 0) {
		sh->sink_rate = rr_oneway(&r, &r.sink, r.sink_dest, sh->ow_msgs);
		rc = sh->sink_rate > 0 ? 0 : -1;
	}
	if (rc != 0) {
		snprintf(sh->err, sizeof sh->err, "built-in echo/sink phase failed");
		goto out;
	}
	if (polled)
		goto out;
	/* The socket bridge: announce "bench", wait for the Linux program's "hi". */
	rc = hvl_rpmsg_create_ept(&r.bench, &r.rd, "bench", HVL_RPMSG_ADDR_ANY, HVL_RPMSG_ADDR_ANY,
				  rr_bench_cb, NULL);
	end = now_ns() + (int64_t)RP_ATTACH * 1000000LL;
	while (rc == 0 && !r.linux_ready && now_ns() < end)
		(void)hvl_rpmsg_poll(&r.rd, 100);
	if (rc != 0 || !r.linux_ready) {
		snprintf(sh->err, sizeof sh->err, "no Linux program on the bench channel");
		rc = -1;
		goto out;
	}
	rc = rr_rtt(b, &r, &r.bench, r.bench.dest_addr, 16, tot, s + 2u * n, 0);
	if (rc == 0)
		rc = rr_rtt(b, &r, &r.bench, r.bench.dest_addr, RP_BIG, tot, s + 3u * n, 0);
	if (rc == 0) {
		/* "E": the Linux program stops echoing and counts the stream. */
		rc = hvl_rpmsg_send(&r.bench, "E", 1) == 1 ? 0 : -1;
		if (rc == 0) {
			sh->bridge_rate = rr_oneway(&r, &r.bench, r.bench.dest_addr, sh->ow_msgs);
			rc = sh->bridge_rate > 0 ? 0 : -1;
		}
	}
	if (rc != 0)
		snprintf(sh->err, sizeof sh->err, "socket bridge phase failed");
out:
	(void)hvl_rpmsg_flush(&r.rd, RP_IO_MS);
	(void)hvl_rpmsg_close(&r.rd);
	hvl_posix_remote_close(&p);
	return rc;
}

/* ------------------------------------------------------- the Linux side */

static int rp_connect(const char *path, pid_t remote)
{
	struct sockaddr_un sa;
	int64_t end = now_ns() + (int64_t)RP_ATTACH * 1000000LL;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	while (now_ns() < end) {
		int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
			return s;
		if (s >= 0)
			close(s);
		if (waitpid(remote, NULL, WNOHANG) != 0)
			return -1;
		usleep(2000);
	}
	return -1;
}

/* Echo packets until "E", then count @n packets of the one-way stream. */
static int linux_echo(const char *path, pid_t remote, uint64_t n)
{
	uint8_t buf[RP_BIG + 1];
	uint64_t counted = 0;
	int s = rp_connect(path, remote), counting = 0, rc = -1;

	if (s < 0)
		return -1;
	if (send(s, "hi", 2, MSG_NOSIGNAL) != 2)
		goto out;
	for (;;) {
		struct pollfd pf = { s, POLLIN, 0 };
		ssize_t r;

		if (poll(&pf, 1, (int)RP_IO_MS) <= 0)
			goto out;
		r = recv(s, buf, sizeof buf, 0);
		if (r <= 0)
			goto out;
		if (counting) {
			if (++counted == n) {
				rc = 0;
				goto out;
			}
			continue;
		}
		if (r == 1 && buf[0] == 'E') {
			counting = 1;
			continue;
		}
		if (send(s, buf, (size_t)r, MSG_NOSIGNAL) != r)
			goto out;
	}
out:
	close(s);
	return rc;
}

/* One PMM instance: @doorbell "poll" (polled) or "futex". */
static int rp_run(struct bench *b, const char *exe, int polled, struct rpmsg_result *res)
{
	unsigned n = res->iters;
	size_t bytes = sizeof(struct rp_shared) + 4u * n * sizeof(uint32_t);
	struct rp_shared *sh;
	uint32_t *s;
	struct rp_ctx c;
	char path[160];
	pid_t pid;
	int rc = -1;

	memset(&c, 0, sizeof c);
	sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	s = (uint32_t *)(sh + 1);
	sh->ow_msgs = res->ow_msgs;
	if (rp_pmm_start(b, &c, exe, polled ? "poll" : "futex") != 0)
		goto done;
	pid = fork();
	if (pid == 0)
		_exit(rr_main(b, &c, sh, s, n, polled) == 0 ? 0 : 1);
	if (pid < 0)
		goto done;
	pin(b, 1);
	rc = 0;
	if (!polled) {
		snprintf(path, sizeof path, "%s/bench", c.sockdir);
		rc = linux_echo(path, pid, sh->ow_msgs);
	}
	if (reap(pid, 4u * RP_IO_MS + 60000u) != 0)
		rc = -1;
	if (rc == 0) {
		struct rtt *e16 = polled ? &res->echo16_poll : &res->echo16_db;
		struct rtt *e496 = polled ? &res->echo496_poll : &res->echo496_db;

		summarize(s, n, e16);
		summarize(s + n, n, e496);
		e16->ok = e496->ok = 1;
		if (polled) {
			res->sink_poll = sh->sink_rate;
		} else {
			res->sink_db = sh->sink_rate;
			summarize(s + 2u * n, n, &res->bridge16);
			summarize(s + 3u * n, n, &res->bridge496);
			res->bridge16.ok = res->bridge496.ok = 1;
			res->bridge_rate = sh->bridge_rate;
		}
	} else {
		fprintf(stderr, "hvl-bench: rpmsg (%s) failed: %s\n", polled ? "polled" : "doorbell",
			sh->err[0] != '\0' ? sh->err : "Linux side");
	}
done:
	rc |= rp_pmm_stop(&c, rc != 0);
	munmap(sh, bytes);
	return rc;
}

int run_rpmsg_modes(struct bench *b, struct rpmsg_result *res)
{
	int rc;

	res->iters = b->con_iters;
	res->ow_msgs = b->msgs / 5u < 20000u ? 20000u : b->msgs / 5u;
	res->echo16_poll.name = "rpmsg-16-poll";
	res->echo496_poll.name = "rpmsg-496-poll";
	res->echo16_db.name = "rpmsg-16-db";
	res->echo496_db.name = "rpmsg-496-db";
	res->bridge16.name = "bridge-16";
	res->bridge496.name = "bridge-496";
	if (bench_find_pmm(b, res->path, sizeof res->path) != 0) {
		res->found = 0;
		return 0;
	}
	res->found = 1;
	rc = rp_run(b, res->path, 1, res);
	fprintf(stderr, "  rpmsg polled done\n");
	rc |= rp_run(b, res->path, 0, res);
	fprintf(stderr, "  rpmsg doorbell done\n");
	res->ok = rc == 0;
	return rc;
}

static double rp_ratio(const struct rtt *x, const struct rtt *y)
{
	if (!x->ok || !y->ok || y->median == 0)
		return 0.0;
	return (double)x->median / (double)y->median;
}

void print_rpmsg(const struct rpmsg_result *r, const struct rtt *spin, const struct rtt *unix_rtt,
		 const struct rtt *futex_rtt)
{
	const struct rtt *rt[6] = { &r->echo16_poll, &r->echo496_poll, &r->echo16_db, &r->echo496_db,
				    &r->bridge16, &r->bridge496 };
	static const char *what[6] = {
		"polled (doorbell=poll), remote -> PMM built-in echo -> remote, no socket bridge",
		"polled, 496 B payload (buf_size 512)",
		"futex doorbell, built-in echo, no socket bridge",
		"futex doorbell, built-in echo, 496 B",
		"futex doorbell, remote -> PMM -> SOCK_SEQPACKET -> Linux program -> back",
		"the same, 496 B",
	};
	unsigned i;

	if (!r->found) {
		printf("\nrpmsg: SKIPPED (needs hvl-pmm)\n");
		return;
	}
	printf("\nrpmsg via the real hvl-pmm, %u round trips each (+10%% warm-up); remote CPU 0, PMM CPU 1:\n",
	       r->iters);
	printf("  %-15s %10s %10s %8s %8s %8s  %s\n", "round trip", "median ns", "p99 ns", "x spin",
	       "x futex", "x unix", "what");
	for (i = 0; i < 6; i++) {
		if (!rt[i]->ok) {
			printf("  %-15s %10s  %s\n", rt[i]->name, "FAILED", what[i]);
			continue;
		}
		printf("  %-15s %10llu %10llu %8.2f %8.2f %8.2f  %s\n", rt[i]->name,
		       (unsigned long long)rt[i]->median, (unsigned long long)rt[i]->p99,
		       rp_ratio(rt[i], spin), rp_ratio(rt[i], futex_rtt), rp_ratio(rt[i], unix_rtt), what[i]);
	}
	printf("  one-way 16 B, %llu messages, timed to the flush that sees every buffer back:\n"
	       "    remote -> PMM device thread (built-in sink, no socket bridge): polled %.2f Mmsg/s, "
	       "doorbell %.2f Mmsg/s\n"
	       "    remote -> PMM -> SOCK_SEQPACKET -> Linux program (doorbell): %.2f Mmsg/s\n",
	       (unsigned long long)r->ow_msgs, r->sink_poll / 1e6, r->sink_db / 1e6, r->bridge_rate / 1e6);
	printf("  targets: polled 16 B round trip <= 3x raw spin: %.2fx %s; one-way 16 B >= 3 M msg/s "
	       "(device thread, polled): %.2f M %s\n",
	       rp_ratio(&r->echo16_poll, spin), rp_ratio(&r->echo16_poll, spin) <= 3.0 &&
	       r->echo16_poll.ok ? "PASS" : "MISS", r->sink_poll / 1e6,
	       r->sink_poll >= 3e6 ? "PASS" : "MISS");
}

void json_rpmsg(const struct rpmsg_result *r, const struct rtt *spin, FILE *js)
{
	const struct rtt *rt[6] = { &r->echo16_poll, &r->echo496_poll, &r->echo16_db, &r->echo496_db,
				    &r->bridge16, &r->bridge496 };
	unsigned i;

	fprintf(js, "  \"rpmsg\": {\"found\": %s, \"ok\": %s, \"iters\": %u, \"rtt\": [\n",
		r->found ? "true" : "false", r->found && r->ok ? "true" : "false", r->iters);
	for (i = 0; i < 6; i++)
		fprintf(js, "    {\"name\": \"%s\", \"ok\": %s, \"median_ns\": %llu, \"p99_ns\": %llu, "
			    "\"over_spin\": %.4f}%s\n",
			rt[i]->name, rt[i]->ok ? "true" : "false", (unsigned long long)rt[i]->median,
			(unsigned long long)rt[i]->p99, rp_ratio(rt[i], spin), i + 1 < 6 ? "," : "");
	fprintf(js, "  ], \"oneway_msgs\": %llu, \"oneway_sink_polled_msgs_per_s\": %.0f, "
		    "\"oneway_sink_doorbell_msgs_per_s\": %.0f, \"oneway_bridge_doorbell_msgs_per_s\": %.0f},\n",
		(unsigned long long)r->ow_msgs, r->sink_poll, r->sink_db, r->bridge_rate);
}
