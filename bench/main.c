/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench: what our virtqueue costs next to the physical floor.
 *
 * Two processes (driver = "remote core", device = "PMM"), pinned to CPUs 0
 * and 1, share a memfd that each maps at a different address.  Round-trip
 * modes: raw spin ping-pong and raw futex ping-pong (the baselines), UNIX
 * socket ping-pong (what a Linux programmer would use), virtqueue
 * request/response polled and with the futex doorbell.  Throughput: one-way
 * 64-byte messages in batches with EVENT_IDX.  Idle: CPU of a PMM-style loop
 * waiting on the doorbell with no traffic, and of the real hvl-pmm with an
 * idle remote attached.  Console: a 64-byte round trip through the real
 * hvl-pmm's console (remote library -> PMM -> UNIX socket and back).
 *
 * Timing: per iteration, consecutive CLOCK_MONOTONIC stamps (one clock read
 * per round trip, same in every mode); median and p99 after a warm-up.
 * Benchmarks never fail on timing: targets print PASS/MISS only.
 *
 * This file: options, the run order, the report and its JSON.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "bench.h"

/* -------------------------------------------------------------- report */

#define NRTT 5
#define NOW  3 /* one-way variants */

struct oneway {
	const char *name;
	const char *what;
	int ok;
	double msgs_per_s, drv_sys, dev_sys; /* syscalls per message */
};

struct report {
	struct rtt r[NRTT];
	struct oneway ow[NOW];
	double idle_pct;
	uint64_t idle_wakeups;
	int idle_ok;
	struct pmm_result pmm;   /* the real hvl-pmm: idle CPU, console round trip */
	struct vsock_result vsock; /* vsock round trip and stream beside UNIX sockets (vsock.c) */
	struct blk_result blk;   /* virtio-blk sequential throughput beside a direct read (blk.c) */
	struct p9_result p9;     /* virtio-9p sequential read/write beside a direct read (p9.c) */
	struct rpmsg_result rpmsg; /* rpmsg round trips and rates via the real hvl-pmm (rpmsg.c) */
	struct net_result net;   /* virtio-net frames/s over the stream backend beside a UNIX socket (net.c) */
};

static double ratio(const struct rtt *x, const struct rtt *y)
{
	if (!x->ok || !y->ok || y->median == 0)
		return 0.0;
	return (double)x->median / (double)y->median;
}

struct target {
	const char *name;
	double value, limit;
	int le;       /* value must be <= limit (else >=) */
	int measured;
};

static const char *verdict(const struct target *t)
{
	if (!t->measured)
		return "NOT MEASURED";
	return (t->le ? t->value <= t->limit : t->value >= t->limit) ? "PASS" : "MISS";
}

/* The real-PMM lines: idle CPU and the console round trip. */
static void print_pmm(const struct bench *b, const struct report *rp)
{
	const struct pmm_result *p = &rp->pmm;
	const struct rtt *so = &rp->r[2];

	if (!p->found) {
		printf("\nidle PMM (real hvl-pmm): SKIPPED, no executable at %s (build hvl-pmm, or --pmm PATH)\n"
		       "console round trip: SKIPPED (needs hvl-pmm)\n", p->path[0] != '\0' ? p->path : "?");
		return;
	}
	if (p->idle_ok) {
		printf("\nidle PMM (real hvl-pmm, futex doorbell, heartbeat 100 ms, remote attached with its "
		       "console open, no traffic; %u ms):\n  %.3f%% of one CPU (utime+stime, /proc/PID/stat)",
		       p->idle_ms, p->idle_pct);
		if (p->idle_pct_ns >= 0.0)
			printf(", %.3f%% by per-thread schedstat", p->idle_pct_ns);
		printf("\n");
	} else {
		printf("\nidle PMM (real hvl-pmm): FAILED\n");
	}
	if (p->con.ok) {
		printf("\nconsole round trip, 64 B, %u iterations (+10%% warm-up), remote CPU 0, PMM and echo CPU 1:\n"
		       "  %-10s median %llu ns, p99 %llu ns; %.3g x the unix-socket median\n  path: %s\n",
		       b->con_iters, "console", (unsigned long long)p->con.median,
		       (unsigned long long)p->con.p99, ratio(&p->con, so), p->con.what);
	} else {
		printf("\nconsole round trip: FAILED\n");
	}
}

/* JSON of the real-PMM modes (fixed ASCII strings only, nothing to escape). */
static void json_pmm(const struct report *rp, FILE *js)
{
	const struct pmm_result *p = &rp->pmm;

	fprintf(js, "  \"idle_pmm\": {\"found\": %s, \"ok\": %s, \"ms\": %u, \"cpu_percent\": %.4f, "
		    "\"cpu_percent_schedstat\": %.4f, \"heartbeat_ms\": 100, \"doorbell\": \"futex\"},\n",
		p->found ? "true" : "false", p->found && p->idle_ok ? "true" : "false", p->idle_ms, p->idle_pct,
		p->idle_pct_ns);
	fprintf(js, "  \"console\": {\"found\": %s, \"ok\": %s, \"iters\": %u, \"median_ns\": %llu, "
		    "\"p99_ns\": %llu, \"over_unix\": %.4f, \"what\": \"%s\"},\n",
		p->found ? "true" : "false", p->found && p->con.ok ? "true" : "false", p->con_iters,
		(unsigned long long)p->con.median, (unsigned long long)p->con.p99, ratio(&p->con, &rp->r[2]),
		p->con.what);
}

/* The round-trip table: the baselines every ratio of the run refers to. */
static void print_rtts(const struct report *rp)
{
	unsigned i;

	printf("\n%-12s %10s %10s  %s\n", "round trip", "median ns", "p99 ns", "what");
	for (i = 0; i < NRTT; i++) {
		if (!rp->r[i].ok)
			printf("%-12s %10s %10s  %s\n", rp->r[i].name, "FAILED", "-", rp->r[i].what);
		else
			printf("%-12s %10llu %10llu  %s\n", rp->r[i].name, (unsigned long long)rp->r[i].median,
			       (unsigned long long)rp->r[i].p99, rp->r[i].what);
	}
}

static void print_report(const struct bench *b, const struct report *rp, FILE *js)
{
	const struct rtt *spin = &rp->r[0], *fx = &rp->r[1], *so = &rp->r[2], *po = &rp->r[3], *dbl = &rp->r[4];
	const struct target tg[4] = {
		{ "polled_rtt_le_2.5x_spin", ratio(po, spin), 2.5, 1, po->ok && spin->ok },
		{ "doorbell_rtt_le_1.2x_futex", ratio(dbl, fx), 1.2, 1, dbl->ok && fx->ok },
		{ "oneway_doorbell_ge_5M_msgs_per_s", rp->ow[1].msgs_per_s / 1e6, 5.0, 0, rp->ow[1].ok },
		/* The real daemon, not the in-process loop imitation. */
		{ "idle_cpu_lt_1_percent", rp->pmm.idle_pct, 1.0, 1, rp->pmm.found && rp->pmm.idle_ok },
	};
	unsigned i;

	print_rtts(rp);
	if (dbl->ok)
		printf("%-12s doorbell syscalls (wakes + waits) per round trip: driver %.3f, device %.3f "
		       "(futex baseline: 2 per side)\n", "", dbl->drv_wakes, dbl->dev_wakes);
	printf("\nratios (median): vq-polled/spin %.3g  vq-doorbell/futex %.3g  vq-polled/unix %.3g  "
	       "vq-doorbell/unix %.3g\n",
	       ratio(po, spin), ratio(dbl, fx), ratio(po, so), ratio(dbl, so));
	printf("\none-way 64 B messages, batches of %u, queue %u, EVENT_IDX, %llu messages:\n", BATCH, QSIZE,
	       (unsigned long long)b->msgs);
	for (i = 0; i < NOW; i++) {
		if (!rp->ow[i].ok)
			printf("  %-22s FAILED  %s\n", rp->ow[i].name, rp->ow[i].what);
		else
			printf("  %-22s %6.2f Mmsg/s  syscalls/msg: driver %.5f, device %.5f  %s\n", rp->ow[i].name,
			       rp->ow[i].msgs_per_s / 1e6, rp->ow[i].drv_sys, rp->ow[i].dev_sys, rp->ow[i].what);
	}
	if (rp->idle_ok)
		printf("\nidle loop, in-process imitation of a PMM device thread (busy-poll %lld us, then doorbell wait with 100 ms timeout; %u ms): "
		       "%.3f%% of one CPU, %llu sleeps\n",
		       (long long)(b->busy_ns / 1000), b->idle_ms, rp->idle_pct, (unsigned long long)rp->idle_wakeups);
	else
		printf("\nidle: FAILED\n");
	print_pmm(b, rp);
	print_vsock(&rp->vsock, &rp->r[0], &rp->r[2]);
	print_blk(&rp->blk);
	print_p9(&rp->p9);
	print_rpmsg(&rp->rpmsg, &rp->r[0], &rp->r[2], &rp->r[1]);
	print_net(&rp->net);
	printf("\ntargets (informational, never an exit failure):\n");
	for (i = 0; i < 4; i++)
		printf("  %-34s %8.3f %s %-5.2f %s\n", tg[i].name, tg[i].value, tg[i].le ? "<=" : ">=",
		       tg[i].limit, verdict(&tg[i]));
	if (js == NULL)
		return;
	/* Hand-written JSON: every string is a fixed ASCII literal, nothing to escape. */
	fprintf(js, "{\n  \"cpus\": %d,\n  \"pinned\": %s,\n  \"iters\": %u,\n  \"rounds\": %u,\n"
		    "  \"rtt_spin_before_sleep_ns\": %lld,\n  \"busy_poll_ns\": %lld,\n  \"round_trips\": [\n",
		b->ncpu, b->ncpu >= 2 ? "true" : "false", b->iters * b->rounds, b->rounds,
		(long long)b->rtt_spin_ns, (long long)b->busy_ns);
	for (i = 0; i < NRTT; i++)
		fprintf(js, "    {\"name\": \"%s\", \"ok\": %s, \"median_ns\": %llu, \"p99_ns\": %llu, "
			    "\"what\": \"%s\"}%s\n",
			rp->r[i].name, rp->r[i].ok ? "true" : "false", (unsigned long long)rp->r[i].median,
			(unsigned long long)rp->r[i].p99, rp->r[i].what, i + 1 < NRTT ? "," : "");
	fprintf(js, "  ],\n  \"doorbell_syscalls_per_rtt\": {\"driver\": %.4f, \"device\": %.4f},\n",
		dbl->drv_wakes, dbl->dev_wakes);
	fprintf(js, "  \"ratios\": {\"vq_polled_over_spin\": %.4f, \"vq_doorbell_over_futex\": %.4f, "
		    "\"vq_polled_over_unix\": %.6f, \"vq_doorbell_over_unix\": %.4f},\n",
		ratio(po, spin), ratio(dbl, fx), ratio(po, so), ratio(dbl, so));
	fprintf(js, "  \"oneway\": {\"msgs\": %llu, \"batch\": %u, \"queue\": %u, \"variants\": [\n",
		(unsigned long long)b->msgs, BATCH, QSIZE);
	for (i = 0; i < NOW; i++)
		fprintf(js, "    {\"name\": \"%s\", \"ok\": %s, \"msgs_per_s\": %.0f, \"driver_syscalls_per_msg\": %.6f, "
			    "\"device_syscalls_per_msg\": %.6f, \"what\": \"%s\"}%s\n",
			rp->ow[i].name, rp->ow[i].ok ? "true" : "false", rp->ow[i].msgs_per_s, rp->ow[i].drv_sys,
			rp->ow[i].dev_sys, rp->ow[i].what, i + 1 < NOW ? "," : "");
	fprintf(js, "  ]},\n  \"idle\": {\"ok\": %s, \"ms\": %u, \"cpu_percent\": %.4f, \"sleeps\": %llu},\n",
		rp->idle_ok ? "true" : "false", b->idle_ms, rp->idle_pct, (unsigned long long)rp->idle_wakeups);
	json_pmm(rp, js);
	json_vsock(&rp->vsock, &rp->r[0], js);
	json_blk(&rp->blk, js);
	json_p9(&rp->p9, js);
	json_rpmsg(&rp->rpmsg, &rp->r[0], js);
	json_net(&rp->net, js);
	fprintf(js, "  \"targets\": [\n");
	for (i = 0; i < 4; i++)
		fprintf(js, "    {\"name\": \"%s\", \"value\": %.4f, \"limit\": %.2f, \"result\": \"%s\"}%s\n",
			tg[i].name, tg[i].value, tg[i].limit, verdict(&tg[i]), i + 1 < 4 ? "," : "");
	fprintf(js, "  ]\n}\n");
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hvl-bench [--quick] [--iters N] [--msgs N] [--idle-ms N] [--spin-us N]\n"
		"                 [--busy-poll-us N] [--pmm PATH] [--blk-mib N] [--p9-mib N] [--json FILE]\n"
		"                 [--only p9|vsock|rpmsg]\n"
		"  Driver and device run as two processes pinned to CPUs 0 and 1, sharing a memfd\n"
		"  that each maps at a different address.\n"
		"  --quick           short run (a few seconds; used by ctest bench_quick)\n"
		"  --iters N         measured round trips per mode (default 50000), run in %u\n"
		"                    interleaved rounds, each with a 10%% warm-up\n"
		"  --msgs N          one-way messages per variant (default 5000000)\n"
		"  --idle-ms N       idle measurement length (default 1500)\n"
		"  --spin-us N       round trips: spin up to N us before sleeping, in the futex\n"
		"                    baseline and vq-doorbell alike (default 0: sleep at once)\n"
		"  --busy-poll-us N  one-way doorbell variant and idle loop: spin up to N us on the\n"
		"                    rings before enabling notifications and sleeping (default 50)\n"
		"  --pmm PATH        hvl-pmm for the idle-PMM and console modes (default: next to\n"
		"                    this executable; skipped if missing)\n"
		"  --blk-mib N       block modes: image size in MiB (default 256, --quick 32)\n"
		"  --p9-mib N        9p modes: file size in MiB (default 64, --quick 16)\n"
		"  --json FILE       also write the results as JSON\n"
		"  --only p9         run and print the 9p modes only (about 30 s; no JSON)\n"
		"  --only vsock|rpmsg  the round-trip baselines, then that section only (no JSON)\n"
		"Environment: HVL_BENCH_P9_DATA=SIZE runs the 9p modes with another device data_size\n"
		"(e.g. 512K, to compare request-slot carvings; default 2080K).\n"
		"Timing targets print PASS/MISS; they never change the exit status.\n", 5u);
}

static int parse_u(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

/* Option with a bounded numeric argument; returns 1 if it matched. */
static int opt_num(int argc, char **argv, int *i, const char *name, unsigned long long lo,
		   unsigned long long hi, unsigned long long *out)
{
	if (strcmp(argv[*i], name) != 0)
		return 0;
	if (*i + 1 >= argc || parse_u(argv[*i + 1], out) != 0 || *out < lo || *out > hi) {
		fprintf(stderr, "hvl-bench: %s needs a number in [%llu, %llu]\n", name, lo, hi);
		exit(2);
	}
	(*i)++;
	return 1;
}

int main(int argc, char **argv)
{
	static struct report rp;
	static const struct {
		const char *name, *what;
		int (*dev)(struct bench *, struct view *);
		int (*drv)(struct bench *, struct view *, void *);
		int mode;
	} rtt[NRTT] = {
		{ "spin", "raw shared-memory ping-pong, two atomic words on separate lines", spin_dev, spin_drv, 0 },
		{ "futex", "raw shared futex ping-pong: FUTEX_WAKE every time, FUTEX_WAIT", futex_dev, futex_drv, 0 },
		{ "unix-socket", "socketpair(AF_UNIX, SOCK_STREAM), 64-byte write then read", sock_dev, sock_drv, 0 },
		{ "vq-polled", "virtqueue 64 B out + 64 B in, both sides spin on the rings", rr_dev, rr_drv, VQ_POLLED },
		{ "vq-doorbell", "same, EVENT_IDX + futex doorbell: wake only a sleeping peer", rr_dev, rr_drv,
		  VQ_DOORBELL },
	};
	struct bench b;
	uint32_t *all[NRTT];
	uint64_t drv_sys = 0, dev_sys = 0;
	unsigned long long x;
	const char *json = NULL;
	unsigned total, r, m;
	FILE *js = NULL;
	int i, quick = 0, failed = 0, only_p9 = 0, only_vsock = 0, only_rpmsg = 0;

	memset(&b, 0, sizeof b);
	b.iters = 50000;
	b.msgs = 5000000;
	b.idle_ms = 1500;
	b.busy_ns = 50000;
	b.rounds = 5;
	b.pmm_idle_ms = 2000;
	b.vs_mib = 1024;
	b.blk_mib = 256;
	b.p9_mib = 64;
	b.p9_small = 2000;
	b.net_frames = 200000;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--quick") == 0) {
			quick = 1;
			b.iters = 2500;
			b.msgs = 300000;
			b.idle_ms = 300;
			b.pmm_idle_ms = 1000;
			b.vs_mib = 64;
			b.blk_mib = 32;
			b.p9_mib = 16;
			b.p9_small = 200;
			b.net_frames = 20000;
		} else if (strcmp(argv[i], "--pmm") == 0 && i + 1 < argc) {
			b.pmm_path = argv[++i];
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && strcmp(argv[i + 1], "p9") == 0) {
			only_p9 = 1;
			i++;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && strcmp(argv[i + 1], "vsock") == 0) {
			only_vsock = 1;
			i++;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && strcmp(argv[i + 1], "rpmsg") == 0) {
			only_rpmsg = 1;
			i++;
		} else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
			json = argv[++i];
		} else if (opt_num(argc, argv, &i, "--iters", 500, 100000000ull, &x)) {
			b.iters = (unsigned)x;
		} else if (opt_num(argc, argv, &i, "--msgs", 1000, 1000000000000ull, &x)) {
			b.msgs = x;
		} else if (opt_num(argc, argv, &i, "--blk-mib", 1, 65536, &x)) {
			b.blk_mib = (unsigned)x;
		} else if (opt_num(argc, argv, &i, "--p9-mib", 1, 65536, &x)) {
			b.p9_mib = (unsigned)x;
		} else if (opt_num(argc, argv, &i, "--idle-ms", 100, 60000, &x)) {
			b.idle_ms = (unsigned)x;
		} else if (opt_num(argc, argv, &i, "--spin-us", 0, 1000000, &x)) {
			b.rtt_spin_ns = (int64_t)x * 1000;
		} else if (opt_num(argc, argv, &i, "--busy-poll-us", 0, 1000000, &x)) {
			b.busy_ns = (int64_t)x * 1000;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* Per round; rounds interleave the modes so machine drift hits all alike. */
	b.iters /= b.rounds;
	b.warmup = b.iters / 10u;
	total = b.iters * b.rounds;
	/* Console round trips are ~100x slower than the ring's: a fifth as many. */
	b.con_iters = total / 5u < 100u ? 100u : total / 5u;
	b.ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (b.ncpu < 2)
		fprintf(stderr, "hvl-bench: warning: only %d CPU online, running unpinned\n", b.ncpu);
	if (only_p9) {
		failed = run_p9_modes(&b, &rp.p9) != 0;
		print_p9(&rp.p9);
		return failed ? 1 : 0;
	}
	b.memfd = memfd_create("hvl-bench", MFD_CLOEXEC);
	if (b.memfd < 0 || ftruncate(b.memfd, SHM_SIZE) != 0) {
		perror("memfd");
		return 2;
	}
	b.v = map_view(b.memfd);
	for (m = 0; m < NRTT; m++) {
		all[m] = calloc(total, sizeof all[m][0]);
		if (all[m] == NULL)
			return 2;
		rp.r[m].name = rtt[m].name;
		rp.r[m].what = rtt[m].what;
		rp.r[m].ok = 1;
	}
	printf("hvl-bench: %d CPUs%s; %u round trips per mode in %u interleaved rounds (+10%% warm-up each)%s\n",
	       b.ncpu, b.ncpu >= 2 ? ", driver pinned to CPU 0, device to CPU 1" : ", unpinned", total, b.rounds,
	       quick ? ", quick run" : "");
	printf("round trips: %s before sleeping (futex baseline and vq-doorbell alike); "
	       "spin loops use the pause hint; one clock read per round trip\n",
	       b.rtt_spin_ns > 0 ? "spin" : "no spin");

	for (r = 0; r < b.rounds; r++) {
		for (m = 0; m < NRTT; m++) {
			if (!rp.r[m].ok)
				continue;
			b.samples = all[m] + (size_t)r * b.iters;
			b.mode = rtt[m].mode;
			b.spin_ns = b.rtt_spin_ns;
			if (m == 2 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b.sock) != 0) {
				perror("socketpair");
				return 2;
			}
			struct vq_arg a = { (enum vq_mode)rtt[m].mode, 0, 0, 0 };

			rp.r[m].ok = run_phase(&b, rtt[m].dev, rtt[m].drv, &a) == 0 && b.v.ctl->dev_errors == 0;
			if (m == 2) {
				close(b.sock[0]);
				close(b.sock[1]);
			}
			if (m == 4) {
				drv_sys += a.drv_syscalls;
				dev_sys += b.v.ctl->dev_syscalls;
			}
		}
		fprintf(stderr, "  round %u/%u done\n", r + 1, b.rounds);
	}
	for (m = 0; m < NRTT; m++)
		if (rp.r[m].ok)
			summarize(all[m], total, &rp.r[m]);
	rp.r[4].drv_wakes = (double)drv_sys / (double)((b.iters + b.warmup) * b.rounds);
	rp.r[4].dev_wakes = (double)dev_sys / (double)((b.iters + b.warmup) * b.rounds);
	if (only_vsock || only_rpmsg) {
		if (only_vsock)
			failed = run_vsock_modes(&b, &rp.vsock) != 0;
		else
			failed = run_rpmsg_modes(&b, &rp.rpmsg) != 0;
		print_rtts(&rp);
		if (only_vsock)
			print_vsock(&rp.vsock, &rp.r[0], &rp.r[2]);
		else
			print_rpmsg(&rp.rpmsg, &rp.r[0], &rp.r[2], &rp.r[1]);
		for (m = 0; m < NRTT; m++)
			free(all[m]);
		return failed ? 1 : 0;
	}

	rp.ow[0].name = "polled";
	rp.ow[0].what = "(both sides spin, no notifications)";
	rp.ow[1].name = "doorbell+busy-poll";
	rp.ow[1].what = "(futex doorbell; spin --busy-poll-us before sleeping)";
	rp.ow[2].name = "doorbell, no spin";
	rp.ow[2].what = "(futex doorbell; sleep as soon as the ring is empty/full)";
	for (m = 0; m < NOW; m++) {
		struct vq_arg a = { m == 0 ? VQ_POLLED : VQ_DOORBELL, 0, 0, 0 };

		b.mode = a.mode;
		b.spin_ns = m == 1 ? b.busy_ns : 0;
		rp.ow[m].ok = run_phase(&b, ow_dev, ow_drv, &a) == 0 && b.v.ctl->dev_errors == 0 &&
			      b.v.ctl->dev_msgs == b.msgs;
		rp.ow[m].msgs_per_s = a.msgs_per_s;
		rp.ow[m].drv_sys = (double)a.drv_syscalls / (double)b.msgs;
		rp.ow[m].dev_sys = (double)b.v.ctl->dev_syscalls / (double)b.msgs;
		fprintf(stderr, "  one-way %s done\n", rp.ow[m].name);
	}
	b.spin_ns = b.busy_ns;
	rp.idle_ok = run_phase(&b, idle_dev, idle_drv, NULL) == 0 && b.v.ctl->idle_wall_ns > 0;
	if (rp.idle_ok) {
		rp.idle_pct = 100.0 * (double)b.v.ctl->idle_cpu_ns / (double)b.v.ctl->idle_wall_ns;
		rp.idle_wakeups = b.v.ctl->idle_wakeups;
	}
	/* Last: it pins this process to the PMM's CPU. */
	if (run_pmm_modes(&b, &rp.pmm) != 0)
		failed = 1;
	if (run_vsock_modes(&b, &rp.vsock) != 0)
		failed = 1;
	if (run_blk_modes(&b, &rp.blk) != 0)
		failed = 1;
	if (run_p9_modes(&b, &rp.p9) != 0)
		failed = 1;
	if (run_rpmsg_modes(&b, &rp.rpmsg) != 0)
		failed = 1;
	if (run_net_modes(&b, &rp.net) != 0)
		failed = 1;

	if (json != NULL) {
		js = fopen(json, "w");
		if (js == NULL)
			perror(json);
	}
	print_report(&b, &rp, js);
	if (js != NULL)
		fclose(js);
	for (m = 0; m < NRTT; m++) {
		failed |= !rp.r[m].ok;
		free(all[m]);
	}
	for (m = 0; m < NOW; m++)
		failed |= !rp.ow[m].ok;
	/* Only a functional failure (a side failed or data went wrong) fails the run. */
	return failed || !rp.idle_ok ? 1 : 0;
}
