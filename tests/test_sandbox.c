/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PMM's sandbox: (1) hvl-pmm with sandbox = on is really confined
 * (/proc: seccomp filter mode, no new privileges, no capabilities) and
 * still serves a console both ways and shuts down cleanly; (2) the same
 * filter kills a process that makes a forbidden call (execve) in "on"
 * mode, and refuses it with EPERM in "errno" mode.
 *
 * Usage: test_sandbox PATH_TO_HVL_PMM
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/console.h"
#include "hvl/posix.h"
#include "sandbox.h"

static _Alignas(8) uint8_t storage[HVL_CONSOLE_STORAGE(256)];

/* Value of "Key:" in /proc/PID/status, or "" */
static void proc_status(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':') {
			char *v = line + strlen(key) + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
		}
	fclose(f);
}

static void confined_pmm(char *pmm_bin)
{
	char dir[PATH_MAX], cfg[PATH_MAX + 16], region[PATH_MAX + 16], log[PATH_MAX + 16];
	char sock[PATH_MAX + 16], text[3 * PATH_MAX + 256], v[64], got[64];
	char *argv[] = { pmm_bin, "-c", cfg, NULL };
	struct hvl_posix_remote pr;
	struct hvl_console con;
	long n;
	pid_t pmm;
	int s;

	if (h_tmpdir("hvl-sandbox", dir) != 0)
		exit(1);
	snprintf(cfg, sizeof(cfg), "%s/pmm.ini", dir);
	snprintf(region, sizeof(region), "%s/region", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	snprintf(sock, sizeof(sock), "%s/console.sock", dir);
	snprintf(text, sizeof(text),
		 "[pmm]\nsandbox = on\n[region rt0]\nfile = %s\n"
		 "[device rt0.console0]\ntype = console\nbackend = socket\npath = %s\n", region, sock);
	if (h_write_file(cfg, text) != 0)
		exit(1);
	/*
	 * LeakSanitizer's exit-time check needs ptrace and new threads, which the
	 * sandbox forbids by design: in sanitizer builds, leave leaks to the
	 * other tests (harmless elsewhere).
	 */
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	pmm = h_spawn(argv, log);
	CHECK_EQ(hvl_posix_remote_open(&pr, region, NULL, UINT64_MAX, 5000), 0);
	s = h_connect_unix(sock, 5000);
	CHECK(s >= 0);
	/* The sandbox is in once the PMM serves; give its log line a moment. */
	{
		uint64_t end = h_now_ms() + 3000;

		while (h_now_ms() < end && !h_file_contains(log, "sandbox: on"))
			usleep(5000);
	}
	CHECK(h_file_contains(log, "sandbox: on"));
	proc_status(pmm, "Seccomp", v, sizeof(v));
	CHECK(strcmp(v, "2") == 0); /* SECCOMP_MODE_FILTER */
	proc_status(pmm, "NoNewPrivs", v, sizeof(v));
	CHECK(strcmp(v, "1") == 0);
	proc_status(pmm, "CapEff", v, sizeof(v));
	CHECK(strcmp(v, "0000000000000000") == 0);

	/* Still serves: text both ways. */
	CHECK_EQ(hvl_console_open(&con, &pr.r, 0, storage, sizeof(storage)), 0);
	CHECK_EQ(hvl_console_write(&con, "confined\n", 9, 3000), 9);
	memset(got, 0, sizeof(got));
	CHECK_EQ(h_read_exact(s, got, 9, 3000), 0);
	CHECK(memcmp(got, "confined\n", 9) == 0);
	CHECK_EQ(h_write_all(s, "ok\n", 3), 0);
	n = hvl_console_read(&con, got, 3, 3000);
	CHECK(n > 0 && got[0] == 'o');
	CHECK_EQ(hvl_console_close(&con), 0);
	hvl_posix_remote_close(&pr);
	close(s);
	/* A clean shutdown happens under the filter too. */
	kill(pmm, SIGTERM);
	CHECK_EQ(h_wait_exit(pmm, 5000), 0);
	CHECK(h_file_contains(log, "hvl-pmm stopped"));
	if (h_failed == 0)
		h_rmtree(dir);
	else
		fprintf(stderr, "PMM log kept in %s\n", log);
}

/* A child enters the sandbox in @mode, then tries execve. */
static int forbidden_call(enum hvl_sandbox_mode mode)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char *argv[] = { "/bin/true", NULL };
		char *envp[] = { NULL };

		if (hvl_sandbox_enter(mode, NULL) != 0)
			_exit(20);
		execve("/bin/true", argv, envp);
		_exit(errno == EPERM ? 21 : 22);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_sandbox PATH_TO_HVL_PMM\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	confined_pmm(argv[1]);
	CHECK_EQ(forbidden_call(HVL_SANDBOX_KILL), 128 + SIGSYS);
	CHECK_EQ(forbidden_call(HVL_SANDBOX_ERRNO), 21);
	return h_finish("test_sandbox");
}
