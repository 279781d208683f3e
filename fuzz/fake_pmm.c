/* SPDX-License-Identifier: BSD-3-Clause */
/* The fake PMM of the backend fuzz targets: see fake_pmm.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "fake_pmm.h"
#include "fuzz_util.h"

#define MAX_WATCH 8

struct fake_watch {
	int fd;
	hvl_pmm_fd_cb cb;
	void *arg;
};

/* One backend per process at a time: a static table is enough here. */
static struct fake_watch g_watch[MAX_WATCH];
static char g_dir[64];
static char g_path[8][128];
static unsigned g_npath;

uint64_t hvl_pmm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Same contract as src/pmm/config.c. */
const char *hvl_pmm_dev_opt(const struct hvl_pmm_dev_config *d, const char *key)
{
	unsigned i;

	for (i = 0; i < d->nopts; i++)
		if (strcmp(d->opt[i].key, key) == 0)
			return d->opt[i].value;
	return NULL;
}

/* Same contract as src/pmm/config.c: decimal or 0x hex, optional K/M/G (x1024^n). */
int hvl_pmm_parse_size(const char *str, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;
	unsigned shift = 0;

	if (str == NULL || str[0] < '0' || str[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(str, &end, 0);
	if (errno != 0 || end == str)
		return -EINVAL;
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || (shift != 0 && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Same contract as src/pmm/config.c: decimal or 0x hex, nothing else. */
int hvl_pmm_parse_u64(const char *str, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (str == NULL || str[0] < '0' || str[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(str, &end, 0);
	if (errno != 0 || end == str || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

/* Same contract as src/pmm/main.c: epoll_ctl's errno (EPERM for regular files). */
int hvl_pmm_watch(struct hvl_pmm *p, int fd, uint32_t events, hvl_pmm_fd_cb cb, void *arg)
{
	struct epoll_event ev;
	int i;

	for (i = 0; i < MAX_WATCH; i++)
		FZ_CHECK(g_watch[i].cb == NULL || g_watch[i].fd != fd); /* watched twice */
	for (i = 0; i < MAX_WATCH && g_watch[i].cb != NULL; i++)
		;
	FZ_CHECK(i < MAX_WATCH);
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -errno;
	g_watch[i].fd = fd;
	g_watch[i].cb = cb;
	g_watch[i].arg = arg;
	return 0;
}

int hvl_pmm_rewatch(struct hvl_pmm *p, int fd, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	return epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : -errno;
}

void hvl_pmm_unwatch(struct hvl_pmm *p, int fd)
{
	int i;

	(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
	for (i = 0; i < MAX_WATCH; i++)
		if (g_watch[i].cb != NULL && g_watch[i].fd == fd)
			memset(&g_watch[i], 0, sizeof(g_watch[i]));
}

void fake_pmm_loop_turn(struct hvl_pmm *p)
{
	struct epoll_event ev[MAX_WATCH];
	int n, i, k;

	n = epoll_wait(p->epfd, ev, MAX_WATCH, 0);
	for (i = 0; i < n; i++)
		for (k = 0; k < MAX_WATCH; k++)
			if (g_watch[k].cb != NULL && g_watch[k].fd == ev[i].data.fd) {
				g_watch[k].cb(g_watch[k].arg, ev[i].events);
				break;
			}
}

/* Format every message for real: format bugs show up under ASan. */
static void log_cb(void *ctx, enum hvl_log_level lvl, const char *fmt, va_list ap) HVL_PRINTF(3, 0);
static void log_cb(void *ctx, enum hvl_log_level lvl, const char *fmt, va_list ap)
{
	char buf[512];

	(void)ctx;
	(void)lvl;
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	if (getenv("HVL_FUZZ_DEBUG") != NULL)
		fprintf(stderr, "log: %s\n", buf);
}

void fake_pmm_init(struct hvl_pmm *p)
{
	memset(p, 0, sizeof(*p));
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	FZ_CHECK(p->epfd >= 0);
	p->log.fn = log_cb;
	p->log.level = HVL_LOG_DEBUG;
}

void fake_pmm_fini(struct hvl_pmm *p)
{
	int i;

	/* The backend's destroy must have unwatched everything it watched. */
	for (i = 0; i < MAX_WATCH; i++)
		FZ_CHECK(g_watch[i].cb == NULL);
	close(p->epfd);
}

void fake_pmm_region(struct hvl_pmm *p, struct hvl_pmm_region *rg,
		     struct hvl_pmm_region_config *rcfg, uint32_t doorbell)
{
	memset(rg, 0, sizeof(*rg));
	memset(rcfg, 0, sizeof(*rcfg));
	snprintf(rcfg->name, sizeof(rcfg->name), "fz");
	rcfg->doorbell = doorbell;
	rcfg->heartbeat_ms = HVL_PMM_DEFAULT_HEARTBEAT_MS;
	rg->pmm = p;
	rg->cfg = rcfg;
}

void fake_pmm_dev_config(struct hvl_pmm_dev_config *cfg, const char *name, ...)
{
	const char *k;
	va_list ap;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL && cfg->nopts < HVL_PMM_MAX_OPTS) {
		struct hvl_pmm_dev_opt *o = &cfg->opt[cfg->nopts++];

		snprintf(o->key, sizeof(o->key), "%s", k);
		snprintf(o->value, sizeof(o->value), "%s", va_arg(ap, const char *));
	}
	va_end(ap);
}

static void ring_cb(void *ctx)
{
	(void)ctx;
}

static int wait_cb(void *ctx, uint32_t ms)
{
	(void)ctx;
	(void)ms;
	return 0;
}

static const struct hvl_notify_ops notify_ops = { .ring = ring_cb, .wait = wait_cb };

struct hvl_notifier fake_pmm_notifier(void)
{
	struct hvl_notifier n = { &notify_ops, NULL };

	return n;
}

static void cleanup(void)
{
	unsigned i;

	for (i = 0; i < g_npath; i++)
		if (unlink(g_path[i]) != 0)
			(void)rmdir(g_path[i]); /* a directory a backend left behind */
	if (g_dir[0] != '\0')
		(void)rmdir(g_dir);
}

const char *fake_pmm_path(const char *file)
{
	unsigned i;

	if (g_dir[0] == '\0') {
		/* tmpfs when there is one: file and socket creation per run stay cheap. */
		snprintf(g_dir, sizeof(g_dir), "%s/hvl-fuzz.XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		FZ_CHECK(mkdtemp(g_dir) != NULL);
		atexit(cleanup);
	}
	for (i = 0; i < g_npath; i++)
		if (strcmp(strrchr(g_path[i], '/') + 1, file) == 0)
			return g_path[i];
	FZ_CHECK(g_npath < sizeof(g_path) / sizeof(g_path[0]));
	snprintf(g_path[g_npath], sizeof(g_path[0]), "%s/%s", g_dir, file);
	return g_path[g_npath++];
}
