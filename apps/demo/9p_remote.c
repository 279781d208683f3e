/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, 9p, remote half: list the shared directory, read the file Linux
 * put there, write an answer under a temporary name and rename it into
 * place (so Linux never sees half a file).
 */
#include <errno.h>
#include <string.h>

#include "demo.h"
#include "hvl/9p.h"

int demo_9p_remote(struct demo_remote *d, char *detail, size_t dlen)
{
	static union { void *p; uint8_t b[HVL_9P_VIRTIO_STORAGE(1024)]; } st;
	static struct hvl_9p_virtio v;
	static struct hvl_9p c;
	struct hvl_9p_dirent de;
	char text[128], answer[200];
	int rc, fd, dd, n = 0, found = 0;
	long got;

	rc = hvl_9p_virtio_open(&v, &d->pr.r, 0, &st, sizeof(st));
	if (rc == 0)
		rc = hvl_9p_mount(&c, &v.t, "", 0, d->timeout_ms);
	if (rc != 0) {
		snprintf(detail, dlen, "open/mount failed: %s", strerror(-rc));
		if (v.is_open)
			(void)hvl_9p_virtio_close(&v);
		return -1;
	}
	dd = hvl_9p_opendir(&c, "");
	while (dd >= 0 && n < 64 && hvl_9p_readdir(&c, dd, &de) == 1) {
		n++;
		if (strcmp(de.name, DEMO_9P_IN) == 0)
			found = 1;
	}
	if (dd >= 0)
		(void)hvl_9p_closedir(&c, dd);
	fd = hvl_9p_open(&c, DEMO_9P_IN, HVL_O_RDONLY, 0);
	got = fd >= 0 ? hvl_9p_read(&c, fd, text, sizeof(text) - 1) : fd;
	if (fd >= 0)
		(void)hvl_9p_close(&c, fd);
	if (!found || got <= 0) {
		snprintf(detail, dlen, "listing %s, reading %s: %ld", found ? "ok" : "lacks the file",
			 DEMO_9P_IN, got);
		goto fail;
	}
	text[got] = '\0';
	text[strcspn(text, "\n")] = '\0';
	snprintf(answer, sizeof(answer), "remote read %ld bytes: %s\n", got, text);
	fd = hvl_9p_open(&c, DEMO_9P_OUT ".tmp", HVL_O_CREAT | HVL_O_WRONLY | HVL_O_TRUNC, 0644);
	rc = fd;
	if (fd >= 0) {
		rc = hvl_9p_write(&c, fd, answer, strlen(answer)) == (long)strlen(answer) ? 0 : -EIO;
		if (rc == 0)
			rc = hvl_9p_fsync(&c, fd);
		(void)hvl_9p_close(&c, fd);
	}
	if (rc == 0)
		rc = hvl_9p_rename(&c, DEMO_9P_OUT ".tmp", DEMO_9P_OUT);
	if (rc != 0) {
		snprintf(detail, dlen, "writing %s: %s", DEMO_9P_OUT, strerror(-rc));
		goto fail;
	}
	(void)hvl_9p_unmount(&c);
	(void)hvl_9p_virtio_close(&v);
	snprintf(detail, dlen, "tag '%s', %d entries, read \"%s\", wrote %s", v.tag, n, text,
		 DEMO_9P_OUT);
	return 0;
fail:
	(void)hvl_9p_unmount(&c);
	(void)hvl_9p_virtio_close(&v);
	return -1;
}
