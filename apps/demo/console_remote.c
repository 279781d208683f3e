/* SPDX-License-Identifier: BSD-3-Clause */
/* Demo, console, remote half: greet, read one line from Linux, answer it. */
#include <errno.h>
#include <string.h>

#include "demo.h"
#include "hvl/console.h"

/* Console: say hello, receive a line from Linux, answer it. */
int demo_console_remote(struct demo_remote *d, char *detail, size_t dlen)
{
	static struct hvl_console con;
	static _Alignas(HVL_CONSOLE_STORAGE_ALIGN) uint8_t storage[HVL_CONSOLE_STORAGE(1024)];
	char line[256];
	size_t n = 0;
	long r;
	int rc;

	rc = hvl_console_open(&con, &d->pr.r, 0, storage, sizeof(storage));
	if (rc != 0) {
		snprintf(detail, dlen, "open failed: %s", strerror(-rc));
		return -1;
	}
	hvl_console_printf(&con, "hello from the remote core: region '%s', %u device(s), PMM epoch %u\n",
			   d->pr.r.hdr->name, (unsigned)d->pr.r.ndev, (unsigned)d->pr.r.pmm_epoch);
	hvl_console_printf(&con, "type a line and the remote will answer it\n");
	if (hvl_console_flush(&con, d->timeout_ms) != 0) {
		snprintf(detail, dlen, "output not drained");
		hvl_console_close(&con);
		return -1;
	}
	/* Read one line from the Linux side, byte by byte as they come. */
	while (n + 1 < sizeof(line)) {
		r = hvl_console_read(&con, line + n, 1, d->timeout_ms);
		if (r <= 0) {
			snprintf(detail, dlen, "no line from Linux: %s", strerror((int)-r));
			hvl_console_close(&con);
			return -1;
		}
		if (line[n] == '\n')
			break;
		n += (size_t)r;
	}
	line[n] = '\0';
	hvl_console_printf(&con, "remote got: %s\n", line);
	rc = hvl_console_flush(&con, d->timeout_ms);
	snprintf(detail, dlen, "%s", rc == 0 ? "text both ways" : "answer not drained");
	hvl_console_close(&con);
	return rc == 0 ? 0 : -1;
}
