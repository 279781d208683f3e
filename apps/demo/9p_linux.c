/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, 9p, Linux half: share a directory holding a file Linux wrote; once
 * the remote has listed the directory, read that file and renamed its own
 * answer into place, read the answer on Linux.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo.h"

int demo_9p_config(struct demo *d, FILE *f)
{
	char dir[PATH_MAX + 32], file[PATH_MAX + 64];
	FILE *w;

	demo_path(d, "share", dir);
	if (mkdir(dir, 0755) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s/%s", dir, DEMO_9P_IN);
	w = fopen(file, "w");
	if (w == NULL)
		return -1;
	fputs(DEMO_9P_TEXT, w);
	fclose(w);
	fprintf(f, "[device rt0.share]\ntype = 9p\npath = %s\ntag = share\n", dir);
	return 0;
}

void demo_9p_linux(struct demo *d)
{
	char dir[PATH_MAX + 32], file[PATH_MAX + 64], buf[256];
	uint64_t end = demo_now_ms() + d->timeout_s * 1000u;
	ssize_t n = -1;
	int fd;

	demo_path(d, "share", dir);
	snprintf(file, sizeof(file), "%s/%s", dir, DEMO_9P_OUT);
	/* The remote renames its answer into place only when it is complete. */
	for (;;) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			break;
		}
		if (demo_now_ms() >= end) {
			demo_row(d, "9p", 0, "the remote's result file never appeared");
			return;
		}
		usleep(10000);
	}
	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0 || strncmp(buf, "remote read ", 12) != 0) {
		demo_row(d, "9p", 0, "the result file does not hold the remote's answer");
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
	demo_say("9p: Linux reads %s: \"%s\"", DEMO_9P_OUT, buf);
	demo_row(d, "9p", 1, "remote listed the share, read Linux's file, wrote one Linux read");
}
