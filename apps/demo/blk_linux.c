/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, block, Linux half: create a 1 MiB disk image for the PMM, then,
 * once the remote has written its pattern, flushed, and written the
 * completion marker (flushed too), check the image file itself on Linux.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"

int demo_blk_config(struct demo *d, FILE *f)
{
	char img[PATH_MAX + 32];
	int fd;

	demo_path(d, "disk.img", img);
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)DEMO_BLK_IMAGE_BYTES) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	fprintf(f, "[device rt0.blk0]\ntype = blk\npath = %s\nserial = %s\n", img, DEMO_BLK_SERIAL);
	return 0;
}

/* Read @len bytes at @off of the image; 0 if all were read. */
static int read_at(const char *path, void *buf, size_t len, off_t off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

void demo_blk_linux(struct demo *d)
{
	char img[PATH_MAX + 32], marker[sizeof(DEMO_BLK_MARKER)];
	static uint8_t got[DEMO_BLK_SECTORS * 512u], want[DEMO_BLK_SECTORS * 512u];
	uint64_t end = demo_now_ms() + d->timeout_s * 1000u;

	demo_path(d, "disk.img", img);
	/* The marker sector is written (and flushed) only after the pattern was. */
	for (;;) {
		if (read_at(img, marker, sizeof(marker) - 1u, 0) == 0 &&
		    memcmp(marker, DEMO_BLK_MARKER, sizeof(marker) - 1u) == 0)
			break;
		if (demo_now_ms() >= end) {
			demo_row(d, "blk", 0, "the remote's completion marker never reached the image");
			return;
		}
		usleep(10000);
	}
	demo_blk_pattern(want, sizeof(want));
	if (read_at(img, got, sizeof(got), (off_t)DEMO_BLK_FIRST * 512) != 0 ||
	    memcmp(got, want, sizeof(want)) != 0) {
		demo_row(d, "blk", 0, "the image file does not hold the remote's pattern");
		return;
	}
	demo_say("blk: %s holds the remote's %u sectors at sector %u", img, DEMO_BLK_SECTORS,
		 DEMO_BLK_FIRST);
	demo_row(d, "blk", 1, "Linux found the flushed sectors in the image file");
}
