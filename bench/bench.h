/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-bench internals: the shared-memory layout of the two-process modes,
 * the run context, result records and the helpers every mode uses.
 *
 * Files: main.c (options, report, JSON), common.c (clock, waits, pinning,
 * phase runner), baselines.c (spin, futex, UNIX socket), vq_modes.c
 * (virtqueue round trip, one-way, idle loop), pmm_modes.c (the real
 * hvl-pmm: idle CPU, console round trip), blk.c (virtio-blk sequential
 * throughput against a direct read of the same file).
 */
#ifndef HVL_BENCH_H
#define HVL_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "hvl/linux/doorbell.h"

/* ----------------------------------------------------------- shared layout */

#define QSIZE     1024u                /* ring entries (virtio-net's common size) */
#define MSG_LEN   64u                  /* payload of every message */
#define BATCH     64u                  /* one-way: buffers per kick */
#define BUS_BASE  0x40000000ull        /* remote's view of the window */
#define WIN_OFF   0x10000u             /* window offset in the memfd */
#define DESC_OFF  0x0000u              /* ring parts, window offsets, 4 KiB aligned */
#define AVAIL_OFF 0x4000u
#define USED_OFF  0x5000u
#define DATA_OFF  0x8000u              /* data buffers follow the rings */
#define WIN_SIZE  (DATA_OFF + 2u * QSIZE * MSG_LEN)
#define SHM_SIZE  (WIN_OFF + WIN_SIZE)
#define STOP      0xffffffffu
#define STUCK_NS  10000000000LL        /* peer silent this long: give up */

_Static_assert(DESC_OFF + 16u * QSIZE <= AVAIL_OFF, "desc table overlaps avail");
_Static_assert(AVAIL_OFF + 6u + 2u * QSIZE <= USED_OFF, "avail overlaps used");
_Static_assert(USED_OFF + 6u + 8u * QSIZE <= DATA_OFF, "used overlaps data");

/* Control page.  Every word on its own 128-byte block (adjacent-line prefetch). */
#define LINE(name) uint32_t name; uint8_t name##_pad[124]
struct ctl {
	LINE(ready);      /* device: set once initialised */
	LINE(stop);       /* driver: device must exit */
	LINE(ping);       /* spin and futex baselines */
	LINE(pong);
	struct hvl_doorbell_wire to_dev;
	struct hvl_doorbell_wire to_drv;
	/* Device results, written before exit. */
	uint64_t dev_rings, dev_syscalls, dev_msgs, dev_errors;
	uint64_t idle_cpu_ns, idle_wall_ns, idle_wakeups;
};
_Static_assert(sizeof(struct ctl) <= WIN_OFF, "control page too big");

/* One process's view of the memfd. */
struct view {
	uint8_t *base;
	struct ctl *ctl;
	uint8_t *win;
};

struct bench {
	int memfd;
	struct view v;           /* the parent's mapping */
	int ncpu;
	unsigned iters, warmup;
	uint64_t msgs;
	unsigned idle_ms;
	int64_t spin_ns;         /* spin before sleeping in the phase being run */
	int64_t rtt_spin_ns;     /* --spin-us: futex baseline and vq-doorbell alike */
	int64_t busy_ns;         /* --busy-poll-us: one-way doorbell and idle loop */
	unsigned rounds;         /* round-trip modes run interleaved, this many times */
	int mode;                /* enum vq_mode of the next virtqueue phase (set before fork) */
	int sock[2];
	uint32_t *samples;       /* ns per round trip of the current run, iters entries */
	/* Real-PMM modes (pmm_modes.c). */
	const char *pmm_path;    /* --pmm, or NULL: next to our own executable */
	unsigned pmm_idle_ms;    /* idle PMM sampling window */
	unsigned con_iters;      /* console round trips (plus 10% warm-up) */
	unsigned vs_mib;         /* vsock stream: MiB each run (1024, --quick 64) */
	unsigned blk_mib;        /* block modes: image size in MiB */
	unsigned p9_mib;         /* 9p modes: file size in MiB (64, --quick 16) */
	unsigned p9_small;       /* 9p modes: small files created (2000, --quick 200) */
	unsigned net_frames;     /* net modes: frames per size and direction (200000, --quick 20000) */
};

struct rtt {
	const char *name;
	const char *what;
	int ok;
	uint64_t median, p99;
	double drv_wakes, dev_wakes; /* wake syscalls per round trip */
};

/* Notification mode of the virtqueue phases. */
enum vq_mode { VQ_POLLED, VQ_DOORBELL };

struct vq_arg {
	enum vq_mode mode;
	uint64_t drv_rings, drv_syscalls;
	double msgs_per_s;
};

/* Results of the real-PMM modes. */
struct pmm_result {
	int found;               /* hvl-pmm exists (else both modes are skipped) */
	char path[4096];         /* where we looked / what we ran */
	/* Idle: a remote attached with its console open, no traffic. */
	int idle_ok;
	unsigned idle_ms;
	double idle_pct;         /* utime+stime from /proc/PID/stat, % of one CPU */
	double idle_pct_ns;      /* the same from per-thread schedstat (ns resolution) */
	/* Console round trip through the PMM's device and epoll threads. */
	struct rtt con;
	unsigned con_iters;
};

/* ------------------------------------------------------ helpers (common.c) */

int64_t now_ns(void);

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static inline uint32_t ld(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void st(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* Spin until *p != old; every 64k spins check for a dead peer. */
int spin_while_eq(const uint32_t *p, uint32_t old, uint32_t *out);
long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts);
/* Futex baseline wait: optional bounded spin, then FUTEX_WAIT on the shared word. */
int futex_while_eq(struct bench *b, uint32_t *p, uint32_t old, uint32_t *out);
/* Pin the calling process to @cpu (no-op with fewer than 2 CPUs). */
void pin(struct bench *b, int cpu);
struct view map_view(int fd);
/* Sort @s and fill median and p99 of @r. */
void summarize(uint32_t *s, unsigned n, struct rtt *r);
/* Record one sample per round trip (i counts warm-up then measured). */
void sample(struct bench *b, unsigned i, int64_t *t);
/* Fork the device (CPU 1), run the driver here (CPU 0); 0 if both sides did. */
int run_phase(struct bench *b, int (*dev)(struct bench *, struct view *),
	      int (*drv)(struct bench *, struct view *, void *), void *arg);
/* Wait (bounded) for the device to say it is initialised. */
int wait_ready(struct view *v);
/* Read or write exactly @len bytes (blocking fd); 0 or -1. */
int xfer(int fd, void *buf, size_t len, int wr);
/* Wait up to @ms for @pid to exit; kill it (SIGKILL) if it does not. Exit status or -1. */
int reap(pid_t pid, unsigned ms);
/* hvl-pmm: --pmm, else next to this executable; 0 if executable, else -1. */
int bench_find_pmm(const struct bench *b, char *out, size_t len);
/* Start hvl-pmm with @argv (argv[0] = its path) on CPU 1, output to @log. */
pid_t bench_spawn_pmm(struct bench *b, char *const argv[], const char *log);

/* ------------------------------------------------------------- the modes */

/* baselines.c */
int spin_dev(struct bench *b, struct view *v);
int spin_drv(struct bench *b, struct view *v, void *arg);
int futex_dev(struct bench *b, struct view *v);
int futex_drv(struct bench *b, struct view *v, void *arg);
int sock_dev(struct bench *b, struct view *v);
int sock_drv(struct bench *b, struct view *v, void *arg);

/* vq_modes.c */
int rr_dev(struct bench *b, struct view *v);
int rr_drv(struct bench *b, struct view *v, void *arg);
int ow_dev(struct bench *b, struct view *v);
int ow_drv(struct bench *b, struct view *v, void *arg);
int idle_dev(struct bench *b, struct view *v);
int idle_drv(struct bench *b, struct view *v, void *arg);

/*
 * pmm_modes.c: start the real hvl-pmm (found next to @argv0's executable or
 * at b->pmm_path), measure its idle CPU with an idle remote attached, then
 * the console round trip.  Returns 0 if everything that ran worked (a
 * missing hvl-pmm is a skip, not a failure), -1 otherwise.
 */
int run_pmm_modes(struct bench *b, struct pmm_result *pr);

/* Block sequential throughput (blk.c): 64 KiB requests, queue depth 8. */
struct blk_result {
	int found, ok;
	char path[4096];         /* hvl-pmm used */
	unsigned req_bytes, qd;
	uint64_t bytes;          /* image size, one pass */
	double direct_read_mbs, direct_write_mbs;
	double blk_read_mbs, blk_write_mbs;           /* doorbell: sleep when nothing is used */
	double blk_read_poll_mbs, blk_write_poll_mbs; /* busy-poll before sleeping */
	double flush_ms;         /* the flush closing the write pass */
};

/*
 * blk.c: the real hvl-pmm serving a b->blk_mib MiB image; a direct pread
 * pass of the same file, then virtio-blk read and write passes.  Returns 0
 * if everything that ran worked (a missing hvl-pmm is a skip), -1 otherwise.
 */
int run_blk_modes(struct bench *b, struct blk_result *r);
void print_blk(const struct blk_result *r);
void json_blk(const struct blk_result *r, FILE *js);

/* rpmsg (rpmsg.c): round trips and one-way rates through the real hvl-pmm. */
struct rpmsg_result {
	int found, ok;
	char path[4096];
	unsigned iters;
	uint64_t ow_msgs;
	struct rtt echo16_poll, echo496_poll, echo16_db, echo496_db; /* built-in echo, no bridge */
	struct rtt bridge16, bridge496;                             /* through the socket bridge */
	double sink_poll, sink_db, bridge_rate;                     /* one-way 16 B, msgs/s */
};

/*
 * rpmsg.c: hvl-pmm with an rpmsg device (builtin = 1), polled and with the
 * futex doorbell.  Returns 0 if everything that ran worked (a missing
 * hvl-pmm is a skip), -1 otherwise.
 */
int run_rpmsg_modes(struct bench *b, struct rpmsg_result *r);
/* Report beside the baselines of the same run (spin, unix socket, futex round trips). */
void print_rpmsg(const struct rpmsg_result *r, const struct rtt *spin, const struct rtt *unix_rtt,
		 const struct rtt *futex_rtt);
void json_rpmsg(const struct rpmsg_result *r, const struct rtt *spin, FILE *js);

/* vsock (vsock.c): round trip and stream throughput through the real hvl-pmm. */
struct vsock_result {
	int found, ok;
	char path[4096];
	unsigned iters;
	uint64_t bytes;               /* stream length */
	struct rtt rtt_poll, rtt_db;  /* 64 B: remote spins / sleeps */
	double vs_mbs, unix_mbs;      /* stream MB/s, and the UNIX stream socket's of the same run */
	/* The same modes with the Linux program serving the device itself (hvl_vsockd). */
	int d_ok;
	struct rtt d_rtt_poll, d_rtt_db;
	struct rtt d_spin;            /* raw spin, measured between the polled round trips */
	double d_mbs;
};

/*
 * vsock.c: a UNIX stream socket baseline, then hvl-pmm with a vsock device
 * bridged to this process.  Returns 0 if everything that ran worked (a
 * missing hvl-pmm is a skip), -1 otherwise.
 */
int run_vsock_modes(struct bench *b, struct vsock_result *r);
void print_vsock(const struct vsock_result *r, const struct rtt *spin, const struct rtt *unix_rtt);
void json_vsock(const struct vsock_result *r, const struct rtt *spin, FILE *js);

/* 9p (p9.c): sequential read/write of one file through virtio-9p beside a direct read. */
struct p9_result {
	int found, ok;
	char path[4096];
	uint32_t msize;
	uint64_t bytes;                           /* file size */
	unsigned small_n;                         /* small files created */
	double direct_read_mbs, direct_write_mbs; /* Linux read()/write() of the same size */
	double p9_read_mbs, p9_write_mbs;         /* through hvl_9p_read/hvl_9p_write, 1 MiB calls */
	double p9_read_poll_mbs, p9_write_poll_mbs; /* the same, busy-polling before sleeping */
	double p9_read_zc_mbs;                    /* hvl_9p_read_zc: data left in shared memory */
	double fsync_ms;                          /* the 9p write's closing fsync */
	double small_p9, small_p9_poll, small_direct; /* create + write 100 B + close, per second */
	uint32_t nslots;                          /* client request slots (pieces in flight) */
	double direct_over_mbs;                   /* write() over an existing file, no O_TRUNC */
	double p9_over_mbs, p9_over_poll_mbs;     /* the same through hvl_9p_write, doorbell / busy-poll */
};

/*
 * p9.c: hvl-pmm exporting a temporary directory over virtio-9p; this
 * process is the remote.  Returns 0 if everything that ran worked (a
 * missing hvl-pmm is a skip), -1 otherwise.
 */
int run_p9_modes(struct bench *b, struct p9_result *r);
void print_p9(const struct p9_result *r);
void json_p9(const struct p9_result *r, FILE *js);

/* net (net.c): virtio-net frames per second over the stream backend beside a UNIX socket pair. */
struct net_result {
	int found, ok;
	char path[4096];
	char err[160];
	uint64_t frames;              /* per size and direction */
	double tx_fps[2], rx_fps[2];  /* remote -> Linux, Linux -> remote; 64 B and 1514 B frames */
	double unix_fps[2];           /* the same framing over a UNIX stream socket pair, same run */
};

/*
 * net.c: hvl-pmm with a net device (stream backend) and this process as the
 * Linux peer on its socket.  Returns 0 if everything that ran worked (a
 * missing hvl-pmm is a skip), -1 otherwise.
 */
int run_net_modes(struct bench *b, struct net_result *r);
void print_net(const struct net_result *r);
void json_net(const struct net_result *r, FILE *js);

#endif /* HVL_BENCH_H */
