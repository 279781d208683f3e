/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-pmm: the Physical Machine Monitor.  Reads the static configuration,
 * lays out and publishes each region, serves the devices, and shuts down
 * cleanly on SIGINT/SIGTERM (header DOWN, devices reset, remotes woken).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "layout_out.h"
#include "pmm.h"
#include "sandbox.h"

#define HVL_PMM_VERSION "0.1.0"
#define MAX_WATCH_FD HVL_PMM_MAX_FD

struct hvl_pmm_watch {
	hvl_pmm_fd_cb cb;  /* NULL once unwatched; freed by the main loop */
	void *arg;
	int fd;
	struct hvl_pmm_watch *next_dead;
};

uint64_t hvl_pmm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int hvl_pmm_watch(struct hvl_pmm *p, int fd, uint32_t events, hvl_pmm_fd_cb cb, void *arg)
{
	struct epoll_event ev;
	struct hvl_pmm_watch *w;

	if (fd < 0 || fd >= MAX_WATCH_FD)
		return -EMFILE;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	w->fd = fd;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = w;
	pthread_mutex_lock(&p->watch_lock);
	if (p->watch[fd] != NULL || epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = p->watch[fd] != NULL ? -EEXIST : -errno;

		pthread_mutex_unlock(&p->watch_lock);
		free(w);
		return e;
	}
	p->watch[fd] = w;
	pthread_mutex_unlock(&p->watch_lock);
	return 0;
}

int hvl_pmm_rewatch(struct hvl_pmm *p, int fd, uint32_t events)
{
	struct epoll_event ev;
	int rc = -ENOENT;

	if (fd < 0 || fd >= MAX_WATCH_FD)
		return -EBADF;
	pthread_mutex_lock(&p->watch_lock);
	if (p->watch[fd] != NULL) {
		memset(&ev, 0, sizeof(ev));
		ev.events = events;
		ev.data.ptr = p->watch[fd];
		rc = epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : -errno;
	}
	pthread_mutex_unlock(&p->watch_lock);
	return rc;
}

void hvl_pmm_unwatch(struct hvl_pmm *p, int fd)
{
	if (fd < 0 || fd >= MAX_WATCH_FD)
		return;
	pthread_mutex_lock(&p->watch_lock);
	if (p->watch[fd] != NULL) {
		(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
		/*
		 * Freed by the main loop between epoll batches: an event already
		 * fetched may still point at it, even while its own callback runs.
		 */
		p->watch[fd]->cb = NULL;
		p->watch[fd]->next_dead = p->graveyard;
		p->graveyard = p->watch[fd];
		p->watch[fd] = NULL;
	}
	pthread_mutex_unlock(&p->watch_lock);
}

static const char *level_tag(enum hvl_log_level l)
{
	switch (l) {
	case HVL_LOG_ERROR: return "error";
	case HVL_LOG_WARN: return "warn";
	case HVL_LOG_INFO: return "info";
	case HVL_LOG_DEBUG: return "debug";
	default: return "?";
	}
}

static void log_stderr(void *ctx, enum hvl_log_level level, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char line[1024];

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One write per line so lines from two threads never interleave. */
	fprintf(stderr, "hvl-pmm %02d:%02d:%02d.%03ld %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		(long)(ts.tv_nsec / 1000000), level_tag(level), line);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: hvl-pmm [OPTIONS]\n"
"The hvl-virtio Physical Machine Monitor: the device side of hypervisor-less\n"
"virtio.  Lays out shared-memory regions from a static configuration and\n"
"serves their virtio devices until SIGINT or SIGTERM.\n"
"\n"
"Configuration (docs/CONFIG.md):\n"
"  -c, --config FILE        read regions and devices from an INI file\n"
"Or, for one region, from flags:\n"
"      --file PATH          memory file of the region (e.g. /dev/shm/hvl0)\n"
"      --size SIZE          region size (K/M/G suffixes; default: as small as fits)\n"
"      --remote-base ADDR   the remote's bus address of offset 0 (default 0)\n"
"      --doorbell KIND      futex (default), eventfd or poll\n"
"      --doorbell-socket P  eventfd only: socket where the remote fetches the fds\n"
"      --heartbeat-ms N     heartbeat period (default 100)\n"
"      --device TYPE[:NAME][,KEY=VAL...]  add a device (repeatable)\n"
"      --console BACKEND[,KEY=VAL...]     shorthand for --device console,backend=...\n"
"                           backends: stdio, socket (path=), pty (path=), file (path=)\n"
"Actions:\n"
"      --print-layout       print the computed layout of every region and exit\n"
"      --emit-header FILE   write the layout as a C header for the remote's build\n"
"                           (\"-\" = standard output) and exit\n"
"Hardening:\n"
"      --sandbox MODE       after set-up: no new privileges, no capabilities, and a\n"
"                           seccomp allow-list: on (default; kill), errno, log, off\n"
"Logging:\n"
"  -l, --log-level LEVEL    error, warn, info (default) or debug\n"
"  -v, --verbose            same as --log-level debug\n"
"  -q, --quiet              same as --log-level warn\n"
"  -h, --help               this text\n"
"  -V, --version            print the version\n"
"\n"
"Examples:\n"
"  hvl-pmm --file /dev/shm/hvl0 --remote-base 0x70000000 --console stdio\n"
"  hvl-pmm -c docs/examples/demo.ini --print-layout\n");
}

enum {
	OPT_FILE = 256, OPT_SIZE, OPT_BASE, OPT_DOORBELL, OPT_DBSOCK, OPT_HB, OPT_DEVICE,
	OPT_CONSOLE, OPT_PRINT, OPT_EMIT, OPT_SANDBOX,
};

struct opts {
	const char *config;
	const char *emit;
	int print;
	int log_level;            /* -1 = from configuration */
	int sandbox;              /* -1 = from configuration */
	/* flag-built region */
	struct hvl_pmm_region_config *r;
};

/* Add "TYPE[:NAME][,k=v...]" to the flag-built region. */
static int add_device_flag(struct hvl_pmm_config *c, struct opts *o, const char *spec,
			   const char *prefix, char *err, size_t errlen)
{
	char buf[1024], *type, *name, *list;
	struct hvl_pmm_dev_config *d;

	if (o->r == NULL) {
		o->r = hvl_pmm_config_add_region(c, "rt0", err, errlen);
		if (o->r == NULL)
			return -EINVAL;
	}
	if (prefix != NULL)
		snprintf(buf, sizeof(buf), "%s,backend=%s", prefix, spec);
	else
		snprintf(buf, sizeof(buf), "%s", spec);
	type = buf;
	list = strchr(buf, ',');
	if (list != NULL)
		*list++ = '\0';
	name = strchr(type, ':');
	if (name != NULL)
		*name++ = '\0';
	d = hvl_pmm_region_add_device(o->r, type, name, err, errlen);
	if (d == NULL)
		return -EINVAL;
	if (list != NULL && *list != '\0')
		return hvl_pmm_dev_set_list(d, list, err, errlen);
	return 0;
}

static int region_flag(struct hvl_pmm_config *c, struct opts *o, const char *key,
		       const char *val, char *err, size_t errlen)
{
	if (o->r == NULL) {
		o->r = hvl_pmm_config_add_region(c, "rt0", err, errlen);
		if (o->r == NULL)
			return -EINVAL;
	}
	return hvl_pmm_region_set(o->r, key, val, err, errlen);
}

static int parse_args(int argc, char **argv, struct hvl_pmm_config *c, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "remote-base", required_argument, NULL, OPT_BASE },
		{ "doorbell", required_argument, NULL, OPT_DOORBELL },
		{ "doorbell-socket", required_argument, NULL, OPT_DBSOCK },
		{ "heartbeat-ms", required_argument, NULL, OPT_HB },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "print-layout", no_argument, NULL, OPT_PRINT },
		{ "emit-header", required_argument, NULL, OPT_EMIT },
		{ "sandbox", required_argument, NULL, OPT_SANDBOX },
		{ "log-level", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512] = "";
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "c:l:vqhV", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case OPT_FILE: rc = region_flag(c, o, "file", optarg, err, sizeof(err)); break;
		case OPT_SIZE: rc = region_flag(c, o, "size", optarg, err, sizeof(err)); break;
		case OPT_BASE: rc = region_flag(c, o, "remote_base", optarg, err, sizeof(err)); break;
		case OPT_DOORBELL: rc = region_flag(c, o, "doorbell", optarg, err, sizeof(err)); break;
		case OPT_DBSOCK:
			rc = region_flag(c, o, "doorbell_socket", optarg, err, sizeof(err));
			break;
		case OPT_HB: rc = region_flag(c, o, "heartbeat_ms", optarg, err, sizeof(err)); break;
		case OPT_DEVICE: rc = add_device_flag(c, o, optarg, NULL, err, sizeof(err)); break;
		case OPT_CONSOLE:
			rc = add_device_flag(c, o, optarg, "console", err, sizeof(err));
			break;
		case OPT_PRINT: o->print = 1; break;
		case OPT_EMIT: o->emit = optarg; break;
		case OPT_SANDBOX:
			rc = hvl_pmm_config_set(c, "sandbox", optarg, err, sizeof(err));
			o->sandbox = c->sandbox;
			break;
		case 'l':
			rc = hvl_pmm_config_set(c, "log_level", optarg, err, sizeof(err));
			o->log_level = (int)c->log_level;
			break;
		case 'v': o->log_level = HVL_LOG_DEBUG; break;
		case 'q': o->log_level = HVL_LOG_WARN; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("hvl-pmm %s\n", HVL_PMM_VERSION); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		if (rc != 0) {
			fprintf(stderr, "hvl-pmm: %s\n", err);
			return rc;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hvl-pmm: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (o->config != NULL && o->r != NULL) {
		fprintf(stderr, "hvl-pmm: --config and region/device flags are exclusive\n");
		return -EINVAL;
	}
	if (o->config != NULL) {
		rc = hvl_pmm_config_load(c, o->config, err, sizeof(err));
	} else if (o->r != NULL) {
		rc = hvl_pmm_config_finish(c, err, sizeof(err));
	} else {
		fprintf(stderr, "hvl-pmm: nothing to serve: give --config FILE or --file and devices (see --help)\n");
		return -EINVAL;
	}
	if (rc != 0) {
		fprintf(stderr, "hvl-pmm: %s\n", err);
		return rc;
	}
	return 0;
}

/* --print-layout / --emit-header: compute and show, serve nothing. */
static int layout_actions(const struct hvl_pmm_config *c, const struct opts *o)
{
	FILE *out = NULL;
	unsigned i;
	int rc = 0;

	if (o->emit != NULL) {
		out = strcmp(o->emit, "-") == 0 ? stdout : fopen(o->emit, "w");
		if (out == NULL) {
			fprintf(stderr, "hvl-pmm: cannot write %s: %s\n", o->emit, strerror(errno));
			return -errno;
		}
	}
	for (i = 0; i < c->nregions && rc == 0; i++) {
		struct hvl_layout *l = malloc(sizeof(*l)); /* large: not on the stack */
		char err[256];

		if (l == NULL)
			return -ENOMEM;
		rc = hvl_pmm_region_layout(&c->region[i], l, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "hvl-pmm: region %s: %s\n", c->region[i].name, err);
			free(l);
			break;
		}
		if (o->print)
			hvl_layout_print(stdout, c->region[i].name, l);
		if (out != NULL)
			rc = hvl_layout_emit_header(out, c->region[i].name, l);
		free(l);
	}
	if (out != NULL && out != stdout && fclose(out) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

static void free_graveyard(struct hvl_pmm *p)
{
	struct hvl_pmm_watch *w;

	pthread_mutex_lock(&p->watch_lock);
	w = p->graveyard;
	p->graveyard = NULL;
	pthread_mutex_unlock(&p->watch_lock);
	while (w != NULL) {
		struct hvl_pmm_watch *n = w->next_dead;

		free(w);
		w = n;
	}
}

static void run_loop(struct hvl_pmm *p)
{
	struct epoll_event ev[32];

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		int n, i;

		free_graveyard(p);
		n = epoll_wait(p->epfd, ev, 32, 1000);
		if (n < 0 && errno != EINTR) {
			hvl_logf(&p->log, HVL_LOG_ERROR, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct hvl_pmm_watch *w = ev[i].data.ptr;
			hvl_pmm_fd_cb cb;
			void *arg;

			if (w == NULL) {
				struct signalfd_siginfo si;

				if (read(p->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					hvl_logf(&p->log, HVL_LOG_INFO, "signal %u: shutting down",
						 si.ssi_signo);
				__atomic_store_n(&p->stop, 1u, __ATOMIC_RELEASE);
				continue;
			}
			pthread_mutex_lock(&p->watch_lock);
			cb = w->cb;
			arg = w->arg;
			pthread_mutex_unlock(&p->watch_lock);
			if (cb != NULL)
				cb(arg, ev[i].events);
		}
	}
}

int main(int argc, char **argv)
{
	struct hvl_pmm pmm;
	struct opts o;
	struct epoll_event ev;
	sigset_t ss;
	unsigned i;
	int rc;

	memset(&pmm, 0, sizeof(pmm));
	memset(&o, 0, sizeof(o));
	pthread_mutex_init(&pmm.watch_lock, NULL);
	pmm.watch = calloc(MAX_WATCH_FD, sizeof(*pmm.watch));
	if (pmm.watch == NULL)
		return 1;
	o.log_level = -1;
	o.sandbox = -1;
	hvl_pmm_config_init(&pmm.cfg);
	if (parse_args(argc, argv, &pmm.cfg, &o) != 0) {
		hvl_pmm_config_free(&pmm.cfg);
		return 2;
	}
	if (o.print || o.emit != NULL) {
		rc = layout_actions(&pmm.cfg, &o);
		hvl_pmm_config_free(&pmm.cfg);
		return rc == 0 ? 0 : 1;
	}
	pmm.log.fn = log_stderr;
	pmm.log.level = o.log_level >= 0 ? (enum hvl_log_level)o.log_level : pmm.cfg.log_level;

	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGHUP);
	/* Block before any thread exists so only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	pmm.epfd = epoll_create1(EPOLL_CLOEXEC);
	pmm.sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	if (pmm.epfd < 0 || pmm.sigfd < 0) {
		fprintf(stderr, "hvl-pmm: epoll/signalfd: %s\n", strerror(errno));
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(pmm.epfd, EPOLL_CTL_ADD, pmm.sigfd, &ev);

	hvl_logf(&pmm.log, HVL_LOG_INFO, "hvl-pmm %s starting, pid %d, %u region(s)%s%s",
		 HVL_PMM_VERSION, (int)getpid(), pmm.cfg.nregions,
		 o.config != NULL ? " from " : "", o.config != NULL ? o.config : "");
	pmm.region = calloc(pmm.cfg.nregions, sizeof(*pmm.region));
	rc = pmm.region == NULL ? -ENOMEM : 0;
	for (i = 0; i < pmm.cfg.nregions && rc == 0; i++) {
		rc = hvl_pmm_region_open(&pmm, &pmm.region[i], &pmm.cfg.region[i]);
		pmm.nregions = i + 1;
	}
	for (i = 0; i < pmm.nregions && rc == 0; i++)
		rc = hvl_pmm_region_start(&pmm.region[i]);
	/* Set-up is over: every region mapped, every backend open, every thread running. */
	if (rc == 0)
		rc = hvl_sandbox_enter((enum hvl_sandbox_mode)(o.sandbox >= 0 ? o.sandbox
									: pmm.cfg.sandbox),
				       &pmm.log);
	if (rc == 0)
		run_loop(&pmm);
	for (i = 0; i < pmm.nregions; i++)
		hvl_pmm_region_close(&pmm.region[i]);
	free(pmm.region);
	close(pmm.sigfd);
	close(pmm.epfd);
	hvl_logf(&pmm.log, rc == 0 ? HVL_LOG_INFO : HVL_LOG_ERROR, "hvl-pmm stopped%s",
		 rc == 0 ? "" : " after a start-up error");
	hvl_pmm_config_free(&pmm.cfg);
	free_graveyard(&pmm);
	for (i = 0; i < MAX_WATCH_FD; i++)
		free(pmm.watch[i]);
	free(pmm.watch);
	return rc == 0 ? 0 : 1;
}
