/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-demo-remote: a remote core simulated by a Linux process, using only
 * the portable remote library through its POSIX port.  It attaches to the
 * region the PMM published, runs each device's remote half of the demo (in
 * the order of the table below, the same order as hvl-demo's Linux halves)
 * and reports one "RESULT <device> ok|FAILED <detail>" line per device on
 * standard output for the demo's summary table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"

static const struct demo_remote_step steps[] = {
	{ "console", demo_console_remote },
	{ "blk", demo_blk_remote },
	{ "rng", demo_rng_remote },
	{ "rpmsg", demo_rpmsg_remote },
	{ "vsock", demo_vsock_remote },
	{ "9p", demo_9p_remote },
	{ "net", demo_net_remote },
	{ "vsockd", demo_vsockd_remote },
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
"  -o, --only NAME             run only this device's step (repeatable)\n"
"  -h, --help                  this text\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "region", required_argument, NULL, 'r' },
		{ "doorbell-socket", required_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct demo_remote d;
	const char *region = NULL, *dbsock = NULL, *only[8];
	unsigned nonly = 0, i, j;
	char detail[200];
	int ch, rc, failed = 0;

	d.timeout_ms = 10000;
	while ((ch = getopt_long(argc, argv, "r:s:t:o:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': region = optarg; break;
		case 's': dbsock = optarg; break;
		case 't': d.timeout_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'o':
			if (nonly < 8)
				only[nonly++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (region == NULL) {
		fprintf(stderr, "hvl-demo-remote: --region is required (see --help)\n");
		return 2;
	}
	d.region = region;
	rc = hvl_posix_remote_open(&d.pr, region, dbsock, UINT64_MAX, d.timeout_ms);
	if (rc != 0) {
		fprintf(stderr, "hvl-demo-remote: cannot attach to %s: %s\n", region, strerror(-rc));
		printf("RESULT attach FAILED %s\n", strerror(-rc));
		return 1;
	}
	fprintf(stderr, "hvl-demo-remote: attached to %s (mapped at %p, bus base 0x%llx, %u devices)\n",
		region, (void *)d.pr.mem, (unsigned long long)d.pr.r.bus_base, (unsigned)d.pr.r.ndev);

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int wanted = nonly == 0;

		for (j = 0; j < nonly; j++)
			wanted |= strcmp(only[j], steps[i].name) == 0;
		if (!wanted)
			continue;
		detail[0] = '\0';
		rc = steps[i].run(&d, detail, sizeof(detail));
		printf("RESULT %s %s %s\n", steps[i].name, rc == 0 ? "ok" : "FAILED", detail);
		fflush(stdout);
		failed |= rc != 0;
	}
	hvl_posix_remote_close(&d.pr);
	return failed ? 1 : 0;
}
