/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-demo: the one-command demo (make demo).  Starts hvl-pmm and a
 * simulated remote core (hvl-demo-remote) on one region file, plays the
 * Linux user on each device's Linux end, and prints a summary table with
 * one row per device.  Exits non-zero if any row failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "demo/demo.h"

struct run {
	char pmm_bin[PATH_MAX + 16];
	char rem_bin[PATH_MAX + 32];
	char dbsock[PATH_MAX + 32];
	pid_t pmm, remote;
	int remote_out;       /* read end of the remote's stdout (RESULT lines) */
};

/* The devices, in the order both halves run them. */
static const struct demo_linux_step steps[] = {
	{ "console", demo_console_config, demo_console_linux },
	{ "blk", demo_blk_config, demo_blk_linux },
	{ "rng", demo_rng_config, demo_rng_linux },
	{ "rpmsg", demo_rpmsg_config, demo_rpmsg_linux },
	{ "vsock", demo_vsock_config, demo_vsock_linux },
	{ "9p", demo_9p_config, demo_9p_linux },
	{ "net", demo_net_config, demo_net_linux },
	{ "vsockd", demo_vsockd_config, demo_vsockd_linux },
};

void demo_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("[demo] ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

uint64_t demo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void demo_row(struct demo *d, const char *name, int ok, const char *detail)
{
	unsigned i;

	for (i = 0; i < d->nrows; i++)
		if (strcmp(d->row[i].name, name) == 0)
			break;
	if (i == d->nrows) {
		if (d->nrows == DEMO_MAX_ROWS)
			return;
		d->nrows++;
		snprintf(d->row[i].name, sizeof(d->row[i].name), "%s", name);
		d->row[i].ok = ok;
	} else {
		d->row[i].ok = d->row[i].ok && ok; /* both ends must agree */
	}
	if (!ok || d->row[i].detail[0] == '\0')
		snprintf(d->row[i].detail, sizeof(d->row[i].detail), "%s", detail);
}

static int write_config(struct demo *d)
{
	FILE *f = fopen(d->config, "w");
	unsigned i;
	int rc = 0;

	if (f == NULL)
		return -errno;
	fprintf(f,
		"; written by hvl-demo\n"
		"[pmm]\n"
		"log_level = info\n"
		"[region rt0]\n"
		"file = %s\n"
		"remote_base = 0x70000000\n"
		"doorbell = %s\n",
		d->region, d->doorbell);
	if (strcmp(d->doorbell, "eventfd") == 0)
		fprintf(f, "doorbell_socket = %s\n", d->dbsock);
	fprintf(f, "heartbeat_ms = 100\n");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == 0; i++)
		rc = steps[i].config(d, f);
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

static pid_t spawn(char *const argv[], int *out_fd)
{
	int p[2] = { -1, -1 };
	pid_t pid;

	if (out_fd != NULL && pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (out_fd != NULL)
			dup2(p[1], STDOUT_FILENO);
		execv(argv[0], argv);
		fprintf(stderr, "hvl-demo: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (out_fd != NULL) {
		close(p[1]);
		*out_fd = p[0];
	}
	return pid;
}

/* Wait for @pid up to @ms; returns its exit status, or -1 on timeout. */
static int wait_exit(pid_t pid, unsigned ms)
{
	uint64_t end = demo_now_ms() + ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 || demo_now_ms() >= end)
			return -1;
		usleep(10000);
	}
}

int demo_connect_unix(const char *path, unsigned timeout_ms)
{
	uint64_t end = demo_now_ms() + timeout_ms;
	struct sockaddr_un sa;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1; /* would be truncated: another socket's name */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	for (;;) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return s;
		if (s >= 0)
			close(s);
		if (demo_now_ms() >= end)
			return -1;
		usleep(10000);
	}
}

/* Read from @fd until @needle appears (or timeout); echo lines with @prefix. */
int demo_expect(int fd, const char *needle, const char *prefix, unsigned timeout_ms,
		char *acc, size_t acclen, size_t *shown_io)
{
	uint64_t end = demo_now_ms() + timeout_ms;
	size_t have = strlen(acc), shown = *shown_io;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t t = demo_now_ms();
		char *nl;
		ssize_t n;

		/* Show complete lines as they arrive. */
		while ((nl = strchr(acc + shown, '\n')) != NULL) {
			printf("%s%.*s\n", prefix, (int)(nl - (acc + shown)), acc + shown);
			shown = (size_t)(nl - acc) + 1;
		}
		*shown_io = shown;
		fflush(stdout);
		if (strstr(acc, needle) != NULL)
			return 0;
		if (t >= end || have + 1 >= acclen)
			return -1;
		if (poll(&pfd, 1, (int)(end - t)) <= 0)
			continue;
		n = read(fd, acc + have, acclen - have - 1);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		acc[have] = '\0';
	}
}

void demo_path(const struct demo *d, const char *leaf, char *out)
{
	snprintf(out, PATH_MAX + 32, "%s/%s", d->dir, leaf);
}

/* Collect the remote's RESULT lines: the device's remote end verdicts. */
static void read_results(struct demo *d, int fd)
{
	char buf[4096];
	size_t have = 0;
	ssize_t n;
	char *line, *save = NULL;

	while (have + 1 < sizeof(buf) && (n = read(fd, buf + have, sizeof(buf) - have - 1)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char name[16], verdict[16];
		int off = 0;

		if (sscanf(line, "RESULT %15s %15s %n", name, verdict, &off) >= 2)
			demo_row(d, name, strcmp(verdict, "ok") == 0, line + off);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: hvl-demo [OPTIONS]\n"
"Runs hvl-pmm and a simulated remote core on one region file and shows every\n"
"device working end to end, then a summary table (exit 1 if a row failed).\n"
"\n"
"  -d, --doorbell KIND   futex (default), poll or eventfd\n"
"  -t, --timeout S       per-step timeout in seconds (default 10)\n"
"  -k, --keep            keep the temporary directory (config, region, logs)\n"
"  -h, --help            this text\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "doorbell", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct demo d;
	static struct run run;
	char exe[PATH_MAX];
	ssize_t n;
	unsigned i, failed = 0;
	int ch, rc_remote, rc_pmm;

	d.doorbell = "futex";
	d.timeout_s = 10;
	while ((ch = getopt_long(argc, argv, "d:t:kh", lo, NULL)) != -1) {
		switch (ch) {
		case 'd': d.doorbell = optarg; break;
		case 't': d.timeout_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'k': d.keep = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 1;
	exe[n] = '\0';
	snprintf(d.bindir, sizeof(d.bindir), "%s", dirname(exe));
	snprintf(run.pmm_bin, sizeof(run.pmm_bin), "%s/hvl-pmm", d.bindir);
	snprintf(run.rem_bin, sizeof(run.rem_bin), "%s/hvl-demo-remote", d.bindir);
	snprintf(d.dir, sizeof(d.dir), "/tmp/hvl-demo-XXXXXX");
	if (mkdtemp(d.dir) == NULL) {
		perror("hvl-demo: mkdtemp");
		return 1;
	}
	snprintf(d.config, sizeof(d.config), "%s/demo.ini", d.dir);
	snprintf(d.region, sizeof(d.region), "%s/region", d.dir);
	demo_path(&d, "doorbell.sock", run.dbsock);
	d.dbsock = run.dbsock;
	if (write_config(&d) != 0) {
		fprintf(stderr, "hvl-demo: cannot write %s\n", d.config);
		return 1;
	}
	demo_say("working directory %s, doorbell %s", d.dir, d.doorbell);
	{
		char *pargv[] = { run.pmm_bin, "-c", d.config, NULL };

		demo_say("starting %s -c %s", run.pmm_bin, d.config);
		run.pmm = spawn(pargv, NULL);
	}
	{
		char *rargv[] = { run.rem_bin, "--region", d.region, "--doorbell-socket", run.dbsock,
				  NULL };

		demo_say("starting the simulated remote core: %s --region %s", run.rem_bin, d.region);
		run.remote = spawn(rargv, &run.remote_out);
	}
	if (run.pmm < 0 || run.remote < 0) {
		fprintf(stderr, "hvl-demo: cannot start the processes\n");
		return 1;
	}

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		steps[i].run(&d);

	rc_remote = wait_exit(run.remote, d.timeout_s * 1000u);
	if (rc_remote < 0) {
		kill(run.remote, SIGKILL);
		(void)wait_exit(run.remote, 1000);
	}
	read_results(&d, run.remote_out);
	if (rc_remote != 0)
		demo_row(&d, "remote", 0, rc_remote < 0 ? "remote process hung" : "remote process failed");
	kill(run.pmm, SIGTERM);
	rc_pmm = wait_exit(run.pmm, 5000);
	if (rc_pmm != 0) {
		kill(run.pmm, SIGKILL);
		demo_row(&d, "pmm", 0, rc_pmm < 0 ? "did not stop on SIGTERM" : "exited with an error");
	}

	printf("\n%-10s %-7s %s\n", "device", "result", "what was checked");
	printf("%-10s %-7s %s\n", "------", "------", "----------------");
	for (i = 0; i < d.nrows; i++) {
		printf("%-10s %-7s %s\n", d.row[i].name, d.row[i].ok ? "ok" : "FAILED", d.row[i].detail);
		failed += !d.row[i].ok;
	}
	if (d.nrows == 0) {
		printf("(no device reported)\n");
		failed = 1;
	}
	if (!d.keep) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "hvl-demo: could not remove %s\n", d.dir);
	} else {
		demo_say("kept %s", d.dir);
	}
	printf("\n%s\n", failed ? "demo FAILED" : "demo ok: every device works end to end");
	return failed ? 1 : 0;
}
