/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The demo's device steps.  Each device has two halves that run in the same
 * order on both sides: a Linux half in hvl-demo (writes its configuration
 * section, then plays the Linux user on the device's Linux end) and a remote
 * half in hvl-demo-remote (drives the device through the remote library and
 * reports "RESULT <name> ok|FAILED <detail>").  Adding a device = one
 * <name>_linux.c, one <name>_remote.c, and a line in each table
 * (apps/hvl-demo.c, apps/hvl-demo-remote.c).
 */
#ifndef HVL_DEMO_H
#define HVL_DEMO_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hvl/posix.h"

#define DEMO_MAX_ROWS 16

struct demo_row {
	char name[16];
	int ok;
	char detail[160];
};

/* Linux side (hvl-demo). */
struct demo {
	char bindir[PATH_MAX];
	char dir[PATH_MAX];              /* temporary directory for sockets, files */
	char config[PATH_MAX + 16];
	char region[PATH_MAX + 16];
	const char *doorbell;
	const char *dbsock;
	unsigned timeout_s;
	int keep;
	struct demo_row row[DEMO_MAX_ROWS];
	unsigned nrows;
};

struct demo_linux_step {
	const char *name;
	/* Write this device's [device rt0.<name>] section(s).  Returns 0 or -errno. */
	int (*config)(struct demo *d, FILE *f);
	/* Play the Linux end; record the verdict with demo_row(). */
	void (*run)(struct demo *d);
};

/* Remote side (hvl-demo-remote). */
struct demo_remote {
	struct hvl_posix_remote pr;
	uint32_t timeout_ms;
	const char *region;              /* the PMM's region file */
};

struct demo_remote_step {
	const char *name;
	/* Drive the device; 0 = ok.  @detail says what was checked or what failed. */
	int (*run)(struct demo_remote *d, char *detail, size_t dlen);
};

/* Helpers for the Linux halves (apps/hvl-demo.c). */
void demo_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void demo_row(struct demo *d, const char *name, int ok, const char *detail);
uint64_t demo_now_ms(void);
/* Build "<dir>/<leaf>" into @out (PATH_MAX + 32 bytes). */
void demo_path(const struct demo *d, const char *leaf, char *out);
int demo_connect_unix(const char *path, unsigned timeout_ms);
/*
 * Read from @fd into @acc until @needle appears or @timeout_ms passes,
 * printing each complete line once with @prefix (*@shown tracks what was
 * printed).  Returns 0 when found.
 */
int demo_expect(int fd, const char *needle, const char *prefix, unsigned timeout_ms,
		char *acc, size_t acclen, size_t *shown);

/* The devices. */
int demo_console_config(struct demo *d, FILE *f);
void demo_console_linux(struct demo *d);
int demo_console_remote(struct demo_remote *d, char *detail, size_t dlen);

/* Block: the remote writes DEMO_BLK_SECTORS sectors of demo_blk_pattern()
 * at DEMO_BLK_FIRST, flushes, then writes and flushes DEMO_BLK_MARKER at
 * sector 0; Linux then checks the image file. */
#define DEMO_BLK_IMAGE_BYTES (1024u * 1024u)
#define DEMO_BLK_FIRST       8u
#define DEMO_BLK_SECTORS     16u
#define DEMO_BLK_MARKER      "HVL-DEMO-BLK-DONE"
#define DEMO_BLK_SERIAL      "hvl-demo-disk"
static inline void demo_blk_pattern(uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)((i / 512u) * 31u + (i % 512u) * 7u + 1u);
}
int demo_blk_config(struct demo *d, FILE *f);
void demo_blk_linux(struct demo *d);
int demo_blk_remote(struct demo_remote *d, char *detail, size_t dlen);

/* Entropy: the remote reads 64 bytes twice; they must differ. */
int demo_rng_config(struct demo *d, FILE *f);
void demo_rng_linux(struct demo *d);
int demo_rng_remote(struct demo_remote *d, char *detail, size_t dlen);

/* rpmsg: the remote announces "echo"; Linux sends messages up to the maximum payload. */
#define DEMO_RPMSG_MAX 496u  /* default buf_size 512 minus the 16-byte header */
int demo_rpmsg_config(struct demo *d, FILE *f);
void demo_rpmsg_linux(struct demo *d);
int demo_rpmsg_remote(struct demo_remote *d, char *detail, size_t dlen);

/* vsock: the remote uses a Linux echo service on host port DEMO_VSOCK_ECHO_PORT,
 * then a Linux client reaches the remote's service on DEMO_VSOCK_SVC_PORT. */
#define DEMO_VSOCK_CID       3u
#define DEMO_VSOCK_ECHO_PORT 1234u
#define DEMO_VSOCK_SVC_PORT  5000u
int demo_vsock_config(struct demo *d, FILE *f);
void demo_vsock_linux(struct demo *d);
int demo_vsock_remote(struct demo_remote *d, char *detail, size_t dlen);
/* vsockd: hvl-demo serves a vsock device itself on a second region,
 * "<region>.vsockd" (no PMM); the remote attaches to it too and uses the
 * echo service on DEMO_VSOCKD_PORT. */
#define DEMO_VSOCKD_CID  4u
#define DEMO_VSOCKD_PORT 7000u
int demo_vsockd_config(struct demo *d, FILE *f);
void demo_vsockd_linux(struct demo *d);
int demo_vsockd_remote(struct demo_remote *d, char *detail, size_t dlen);

/* 9p: Linux shares a directory with DEMO_9P_IN; the remote lists it, reads
 * that file and renames its answer into DEMO_9P_OUT, which Linux reads. */
#define DEMO_9P_IN   "from-linux.txt"
#define DEMO_9P_OUT  "from-remote.txt"
#define DEMO_9P_TEXT "hello from the Linux side of the share\n"
int demo_9p_config(struct demo *d, FILE *f);
void demo_9p_linux(struct demo *d);
int demo_9p_remote(struct demo_remote *d, char *detail, size_t dlen);

int demo_net_config(struct demo *d, FILE *f);
void demo_net_linux(struct demo *d);
int demo_net_remote(struct demo_remote *d, char *detail, size_t dlen);

#endif /* HVL_DEMO_H */
