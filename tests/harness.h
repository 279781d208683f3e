/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers for tests that run the real hvl-pmm binary against a remote in
 * another process (or in the test itself): temporary directories, config
 * files, spawning, UNIX sockets with timeouts.  Every wait is bounded.
 */
#ifndef HVL_TESTS_HARNESS_H
#define HVL_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

extern int h_passed, h_failed;

#define CHECK(c) do { if (c) h_passed++; else { h_failed++; \
	fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ == b_) h_passed++; else { h_failed++; fprintf(stderr, \
	"%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); } } while (0)

/* Print the closing line ("name: N passed, M failed") and return the exit code. */
int h_finish(const char *name);

uint64_t h_now_ms(void);
/* Make a fresh directory /tmp/<prefix>-XXXXXX into @out (PATH_MAX). */
int h_tmpdir(const char *prefix, char *out);
/* Remove the directory tree (best effort). */
void h_rmtree(const char *dir);
int h_write_file(const char *path, const char *text);
/* Start @argv with stderr (and stdout) appended to @log (NULL = inherit). */
pid_t h_spawn(char *const argv[], const char *log);
/* Wait for exit up to @ms: exit status, 128+signal, or -1 on timeout. */
int h_wait_exit(pid_t pid, unsigned ms);
/* Is the process still running (not exited, not a zombie we reaped)? */
int h_alive(pid_t pid);
/* Connect to a UNIX stream socket, retrying until @timeout_ms. */
int h_connect_unix(const char *path, unsigned timeout_ms);
/* Read exactly @n bytes within @timeout_ms; returns 0 or -1. */
int h_read_exact(int fd, void *buf, size_t n, unsigned timeout_ms);
int h_write_all(int fd, const void *buf, size_t n);
/* Does file @path contain @needle? */
int h_file_contains(const char *path, const char *needle);

#endif /* HVL_TESTS_HARNESS_H */
