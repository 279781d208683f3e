/* SPDX-License-Identifier: BSD-3-Clause */
/* Test helpers (see harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

int h_passed, h_failed;

int h_finish(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, h_passed, h_failed);
	return h_failed == 0 && h_passed > 0 ? 0 : 1;
}

uint64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int h_tmpdir(const char *prefix, char *out)
{
	snprintf(out, PATH_MAX, "/tmp/%s-XXXXXX", prefix);
	return mkdtemp(out) != NULL ? 0 : -errno;
}

void h_rmtree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int h_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -errno;
}

pid_t h_spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* A test killed by its timeout must not leave its PMM running. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (log != NULL) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

			if (fd >= 0) {
				dup2(fd, STDERR_FILENO);
				dup2(fd, STDOUT_FILENO);
			}
		}
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int h_wait_exit(pid_t pid, unsigned ms)
{
	uint64_t end = h_now_ms() + ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 || h_now_ms() >= end)
			return -1;
		usleep(5000);
	}
}

int h_alive(pid_t pid)
{
	siginfo_t si;

	/* WNOWAIT: look without reaping, so h_wait_exit() still gets the status. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return 0;
	return si.si_pid == 0;
}

int h_connect_unix(const char *path, unsigned timeout_ms)
{
	uint64_t end = h_now_ms() + timeout_ms;
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
		if (h_now_ms() >= end)
			return -1;
		usleep(5000);
	}
}

int h_read_exact(int fd, void *buf, size_t n, unsigned timeout_ms)
{
	uint64_t end = h_now_ms() + timeout_ms;
	size_t have = 0;

	while (have < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t t = h_now_ms();
		ssize_t r;

		if (t >= end)
			return -1;
		if (poll(&p, 1, (int)(end - t)) <= 0)
			continue;
		r = read(fd, (char *)buf + have, n - have);
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	return 0;
}

int h_write_all(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

int h_file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}
