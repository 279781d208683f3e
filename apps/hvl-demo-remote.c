/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-demo-remote: a remote core simulated by a Linux process, using only
 * the portable remote library through its POSIX port.  It attaches to the
 * region the PMM published, starts each device it was asked to exercise,
 * and reports one "RESULT <device> ok|FAILED <detail>" line per device on
 * standard output for the demo's summary table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvl/console.h"
#include "hvl/posix.h"

struct demo {
	const char *region;
	const char *dbsock;
	uint32_t timeout_ms;
	struct hvl_posix_remote pr;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: hvl-demo-remote --region FILE [OPTIONS]\n"
"A simulated remote core: attaches to an hvl-pmm region and exercises its\n"
"devices with the remote library, printing RESULT lines for hvl-demo.\n"
"\n"
"  -r, --region FILE           the region's memory file (from the PMM config)\n"
"  -s, --doorbell-socket PATH  eventfd doorbell: where to fetch the fds\n"
"  -t, --timeout-ms N          per-step timeout (default 10000)\n"
"  -h, --help                  this text\n");
}

/* Console: say hello, receive a line from Linux, answer it. */
static int demo_console(struct demo *d, char *detail, size_t dlen)
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

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "region", required_argument, NULL, 'r' },
		{ "doorbell-socket", required_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct demo d;
	char detail[200];
	int ch, rc, failed = 0;

	memset(&d, 0, sizeof(d));
	d.timeout_ms = 10000;
	while ((ch = getopt_long(argc, argv, "r:s:t:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': d.region = optarg; break;
		case 's': d.dbsock = optarg; break;
		case 't': d.timeout_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (d.region == NULL) {
		fprintf(stderr, "hvl-demo-remote: --region is required (see --help)\n");
		return 2;
	}
	rc = hvl_posix_remote_open(&d.pr, d.region, d.dbsock, UINT64_MAX, d.timeout_ms);
	if (rc != 0) {
		fprintf(stderr, "hvl-demo-remote: cannot attach to %s: %s\n", d.region, strerror(-rc));
		printf("RESULT attach FAILED %s\n", strerror(-rc));
		return 1;
	}
	fprintf(stderr, "hvl-demo-remote: attached to %s (mapped at %p, bus base 0x%llx, %u devices)\n",
		d.region, (void *)d.pr.mem, (unsigned long long)d.pr.r.bus_base, (unsigned)d.pr.r.ndev);

	rc = demo_console(&d, detail, sizeof(detail));
	printf("RESULT console %s %s\n", rc == 0 ? "ok" : "FAILED", detail);
	failed |= rc != 0;
	fflush(stdout);

	hvl_posix_remote_close(&d.pr);
	return failed ? 1 : 0;
}
