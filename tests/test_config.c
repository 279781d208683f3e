/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-pmm configuration: a valid two-region file, every class of error with
 * its line number, atomic replacement on error, programmatic building, and
 * an emitted header that a C compiler accepts with the expected values.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "layout_out.h"

static int failures;
static char dir[64];

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                              \
			failures++;                                                  \
		}                                                                    \
	} while (0)

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

/* Write @text to a temp INI file and return its path (static buffer). */
static const char *ini(const char *text)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/t.ini", dir);
	write_file(path, text);
	return path;
}

static const char valid[] =
	"; two regions, two devices each\n"
	"[pmm]\n"
	"log_level = debug            ; error|warn|info|debug\n"
	"\n"
	"[region rt0]\n"
	"file = /dev/shm/hvl-rt0\n"
	"size = 4M\n"
	"remote_base = 0x70000000\n"
	"doorbell = eventfd\n"
	"doorbell_socket = /tmp/hvl-rt0.sock\n"
	"heartbeat_ms = 250\n"
	"\n"
	"[region rt1]\n"
	"  # indented comments are fine\n"
	"phys = 0x80000000\n"
	"doorbell = poll\n"
	"\n"
	"[device rt0.console0]\n"
	"backend = socket\n"   /* before type: key order does not matter */
	"type = console\n"
	"queue_size = 64\n"
	"queue_size.1 = 128\n"
	"data_size = 256K\n"
	"path = /tmp/console.sock\n"
	"\n"
	"[device rt0.console1]\n"
	"type = console\n"
	"ports = 1\n"
	"\n"
	"[device rt1.blk0]\n"
	"type = blk\n"
	"queues = 2\n"
	"path = /tmp/disk.img\n"
	"readonly = 1\n"
	"\n"
	"[device rt1.rng0]\n"
	"type = rng\n"
	"data_size = 0x1000\n";

static void test_valid(void)
{
	struct hvl_pmm_config c;
	const struct hvl_pmm_region_config *r0, *r1;
	const struct hvl_pmm_dev_config *d;
	struct hvl_layout *l = malloc(sizeof(*l));
	char err[512] = "";
	int rc;

	hvl_pmm_config_init(&c);
	rc = hvl_pmm_config_load(&c, ini(valid), err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "load: %s\n", err);
	CHECK(rc == 0);
	CHECK(c.nregions == 2);
	CHECK(c.log_level == HVL_LOG_DEBUG);
	if (rc != 0 || c.nregions != 2 || l == NULL) {
		hvl_pmm_config_free(&c);
		free(l);
		return;
	}
	r0 = &c.region[0];
	r1 = &c.region[1];
	CHECK(strcmp(r0->name, "rt0") == 0 && r0->index == 0);
	CHECK(r0->mem == HVL_PMM_MEM_FILE && strcmp(r0->file, "/dev/shm/hvl-rt0") == 0);
	CHECK(r0->size == 4u * 1024 * 1024);
	CHECK(r0->remote_base == 0x70000000u);
	CHECK(r0->doorbell == HVL_DOORBELL_EVENTFD);
	CHECK(strcmp(r0->doorbell_socket, "/tmp/hvl-rt0.sock") == 0);
	CHECK(r0->heartbeat_ms == 250);
	CHECK(r0->ndev == 2);
	CHECK(r0->line == 5);

	d = &r0->dev[0];
	CHECK(strcmp(d->name, "console0") == 0);
	CHECK(d->type == hvl_pmm_dev_type_find("console") && d->device_id == 3);
	CHECK(d->num_queues == 2);
	CHECK(d->queue_size[0] == 64 && d->queue_size[1] == 128);
	CHECK(d->data_size == 256u * 1024);
	CHECK(d->nopts == 2);
	CHECK(strcmp(hvl_pmm_dev_opt(d, "backend"), "socket") == 0);
	CHECK(strcmp(hvl_pmm_dev_opt(d, "path"), "/tmp/console.sock") == 0);
	CHECK(hvl_pmm_dev_opt(d, "type") == NULL);
	CHECK(hvl_pmm_dev_opt(d, "nope") == NULL);
	CHECK(d->line == 18);

	d = &r0->dev[1];
	CHECK(d->num_queues == 2); /* one port: receiveq, transmitq */
	CHECK(d->queue_size[1] == HVL_PMM_DEFAULT_QUEUE_SIZE && d->queue_size[2] == 0);
	CHECK(d->data_size == hvl_pmm_dev_type_find("console")->default_data_size);

	CHECK(r1->mem == HVL_PMM_MEM_PHYS && r1->phys == 0x80000000u && r1->file == NULL);
	CHECK(r1->size == 0 && r1->remote_base == 0);
	CHECK(r1->doorbell == HVL_DOORBELL_POLL && r1->doorbell_socket == NULL);
	CHECK(r1->heartbeat_ms == HVL_PMM_DEFAULT_HEARTBEAT_MS);
	CHECK(r1->ndev == 2);
	CHECK(r1->dev[0].device_id == 2 && r1->dev[0].num_queues == 2);
	CHECK(strcmp(hvl_pmm_dev_opt(&r1->dev[0], "readonly"), "1") == 0);
	CHECK(r1->dev[1].device_id == 4 && r1->dev[1].num_queues == 1);
	CHECK(r1->dev[1].data_size == 4096);

	CHECK(hvl_pmm_region_layout(r0, l, err, sizeof(err)) == 0);
	CHECK(l->region_size == 4u * 1024 * 1024 && l->remote_base == 0x70000000u);
	CHECK(l->ndev == 2 && l->dev[1].cfg.num_queues == 2);
	CHECK(strcmp(l->dev[1].cfg.name, "console1") == 0);
	CHECK(l->dev[0].queue[1].num == 128);
	CHECK(hvl_pmm_region_layout(r1, l, err, sizeof(err)) == 0);
	CHECK(l->region_size == l->dev[1].window_offset + l->dev[1].window_size);

	/* A failed load leaves the previous configuration untouched. */
	CHECK(hvl_pmm_config_load(&c, ini("[region rt9]\nfile = /x\nsize = 4Q\n"), err,
				  sizeof(err)) == -EINVAL);
	CHECK(c.nregions == 2 && strcmp(c.region[0].name, "rt0") == 0);
	CHECK(strcmp(c.region[0].dev[0].name, "console0") == 0);
	/* A missing file. */
	snprintf(err, sizeof(err), "%s/missing.ini", dir);
	CHECK(hvl_pmm_config_load(&c, err, err, sizeof(err)) == -ENOENT);
	CHECK(c.nregions == 2);

	hvl_pmm_config_free(&c);
	CHECK(c.nregions == 0 && c.region == NULL);
	free(l);
}

struct bad {
	const char *text;
	int line;           /* expected line, 0 = no line in the message */
	const char *substr; /* expected in the message */
};

#define R "[region r]\nfile = /tmp/f\n"
#define D "[device r.c]\ntype = console\n"

static const struct bad bad[] = {
	/* unknown sections and keys */
	{ "[pmm]\n[foo]\n", 2, "unknown section [foo]" },
	{ "[pmm]\n[pmm]\n", 2, "duplicate section" },
	{ "[pmm]\nlog_level = loud\n", 2, "log_level" },
	{ "[pmm]\nverbose = 1\n", 2, "unknown key 'verbose'" },
	{ R "colour = red\n", 3, "unknown key 'colour'" },
	{ R D "bakend = stdio\n", 5, "unknown key 'bakend'" },
	{ "log_level = info\n", 1, "outside any section" },
	{ R "file = /tmp/g\n", 3, "set twice" },
	/* bad numbers */
	{ R "size = 4X\n", 3, "size '4X'" },
	{ R "size = -4096\n", 3, "size" },
	{ R "size = 1000\n", 3, "multiple of 4K" },
	{ R "size = 99999999999999999999\n", 3, "size" },
	{ R "size = 17179869184G\n", 3, "size" },
	{ R "remote_base = 0x70000800\n", 3, "remote_base" },
	{ R "remote_base = 0x\n", 3, "remote_base" },
	{ R "heartbeat_ms = -1\n", 3, "heartbeat_ms" },
	{ R "heartbeat_ms = 10 ms\n", 3, "heartbeat_ms" },
	{ R "doorbell = irq\n", 3, "doorbell 'irq'" },
	{ R D "queue_size = 3\n", 5, "power of two" },
	{ R D "queue_size = 65536\n", 5, "power of two" },
	{ R D "queue_size.x = 64\n", 5, "queue_size.N" },
	{ R D "queue_size.16 = 64\n", 5, "queue_size.N" },
	{ R D "queues = 0\n", 5, "queues" },
	{ R D "data_size = 0\n", 5, "data_size" },
	{ R D "ports = 8\n", 5, "ports" },
	{ R D "queue_size.2 = 64\n", 5, "has 2 queue(s)" },
	{ R D "ports = 2\n", 5, "only 1 is supported" },
	{ R D "queues = 4\n", 5, "queues = 4" },
	/* names */
	{ R "[region r]\n", 3, "duplicate region 'r'" },
	{ "[region a.b]\n", 1, "region name" },
	{ "[region waytoolongregionname]\n", 1, "region name" },
	{ R D "[device r.c]\n", 5, "duplicate device 'r.c'" },
	{ R "[device q.c]\ntype = console\n", 3, "unknown region 'q'" },
	{ R "[device c]\n", 3, "expected [device <region>.<name>]" },
	{ R D "[device r.C]\ntype = console\n", 5, "both become C" },
	{ R "[device r.x]\ntype = floppy\n", 4, "unknown device type 'floppy'" },
	{ R "[device r.x]\nbackend = stdio\n", 3, "has no type" },
	/* region consistency */
	{ "[region r]\nsize = 4M\n", 1, "set file or phys" },
	{ R "phys = 0x80000000\n", 3, "already uses file" },
	{ R "doorbell = eventfd\n", 1, "needs doorbell_socket" },
	{ R "doorbell_socket = /tmp/s\n", 1, "only used with doorbell = eventfd" },
	{ R "size = 16K\n" D, 1, "too small" },
	/* syntax */
	{ R "size\n", 3, "syntax error" },
	{ R "[region x\n", 3, "without ']'" },
	{ R "size = 4M\n  4K\n", 4, "indented line" },
	{ "", 0, "no region configured" },
	{ "[pmm]\n", 0, "no region configured" },
};

static void test_errors(void)
{
	char err[512], want[160];
	struct hvl_pmm_config c;
	const char *path;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hvl_pmm_config_init(&c);
		err[0] = '\0';
		path = ini(bad[i].text);
		if (hvl_pmm_config_load(&c, path, err, sizeof(err)) == 0) {
			fprintf(stderr, "case %zu: loaded, expected an error:\n%s", i, bad[i].text);
			failures++;
			hvl_pmm_config_free(&c);
			continue;
		}
		CHECK(c.nregions == 0 && c.region == NULL); /* nothing applied */
		if (bad[i].line > 0)
			snprintf(want, sizeof(want), "%s:%d: ", path, bad[i].line);
		else
			snprintf(want, sizeof(want), "%s: ", path);
		if (strncmp(err, want, strlen(want)) != 0 || strstr(err, bad[i].substr) == NULL) {
			fprintf(stderr, "case %zu: got \"%s\"\n  want prefix \"%s\" and \"%s\"\n", i,
				err, want, bad[i].substr);
			failures++;
		}
	}
}

/* Things that need a loop to write: too many devices, an overlong line. */
static void test_errors_generated(void)
{
	size_t cap = 64 * 1024, len = 0;
	char *text = malloc(cap), err[512], want[160];
	struct hvl_pmm_config c;
	const char *path;
	unsigned i;

	if (text == NULL)
		return;
	len += (size_t)snprintf(text + len, cap - len, "[region r]\nfile = /tmp/f\n");
	for (i = 0; i <= HVL_MAX_DEVICES; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"[device r.d%u]\ntype = rng\nqueue_size = 1\ndata_size = 4K\n", i);
	hvl_pmm_config_init(&c);
	path = ini(text);
	CHECK(hvl_pmm_config_load(&c, path, err, sizeof(err)) == -EINVAL);
	/* Device number 56 (the 57th) starts on line 3 + 4 * 56. */
	snprintf(want, sizeof(want), "%s:%u: too many devices", path, 3u + 4u * HVL_MAX_DEVICES);
	if (strncmp(err, want, strlen(want)) != 0) {
		fprintf(stderr, "too many devices: got \"%s\", want \"%s\"\n", err, want);
		failures++;
	}

	/* Exactly the maximum is fine. */
	len = (size_t)(strstr(text, "[device r.d56]") - text);
	text[len] = '\0';
	CHECK(hvl_pmm_config_load(&c, ini(text), err, sizeof(err)) == 0);
	CHECK(c.nregions == 1 && c.region[0].ndev == HVL_MAX_DEVICES);
	hvl_pmm_config_free(&c);

	memset(text, 'x', 300);
	memcpy(text, "[region r]\nfile = /", 19);
	strcpy(text + 300, "\n");
	CHECK(hvl_pmm_config_load(&c, ini(text), err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, ":2: line longer than") != NULL);
	free(text);
}

static void test_programmatic(void)
{
	struct hvl_pmm_region_config *r;
	struct hvl_pmm_dev_config *d, *d2;
	struct hvl_pmm_config c;
	char err[512] = "";
	uint64_t v;

	hvl_pmm_config_init(&c);
	CHECK(c.log_level == HVL_LOG_INFO);
	CHECK(hvl_pmm_config_finish(&c, err, sizeof(err)) == -EINVAL); /* no region */
	r = hvl_pmm_config_add_region(&c, "rt0", err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(hvl_pmm_config_add_region(&c, "rt0", err, sizeof(err)) == NULL);
	r = hvl_pmm_config_region(&c, "rt0");
	CHECK(r->doorbell == HVL_DOORBELL_FUTEX && r->heartbeat_ms == 100);
	CHECK(hvl_pmm_region_set(r, "file", "/dev/shm/x", err, sizeof(err)) == 0);
	d = hvl_pmm_region_add_device(r, "console", NULL, err, sizeof(err));
	CHECK(d != NULL && strcmp(d->name, "console0") == 0);
	CHECK(hvl_pmm_dev_set(d, "backend", "stdio", err, sizeof(err)) == 0);
	CHECK(hvl_pmm_dev_set(d, "backend", "pty", err, sizeof(err)) == 0); /* replaces */
	CHECK(d->nopts == 1 && strcmp(hvl_pmm_dev_opt(d, "backend"), "pty") == 0);
	d2 = hvl_pmm_region_add_device(r, "console", NULL, err, sizeof(err));
	CHECK(d2 != NULL && strcmp(d2->name, "console1") == 0);
	CHECK(hvl_pmm_region_add_device(r, "floppy", NULL, err, sizeof(err)) == NULL);
	CHECK(hvl_pmm_region_add_device(r, NULL, NULL, err, sizeof(err)) == NULL);
	d2 = hvl_pmm_region_add_device(r, NULL, "late", err, sizeof(err));
	CHECK(d2 != NULL);
	if (d2 == NULL)
		return;
	CHECK(hvl_pmm_dev_set_list(d2, "type=vsock,queue_size=16,data_size=8K,cid=3", err,
				   sizeof(err)) == 0);
	CHECK(hvl_pmm_dev_set_list(d2, "oops", err, sizeof(err)) == -EINVAL);
	CHECK(hvl_pmm_dev_set_list(d2, "queue_size=5", err, sizeof(err)) == -EINVAL);
	CHECK(hvl_pmm_config_finish(&c, err, sizeof(err)) == 0);
	d2 = &c.region[0].dev[2];
	CHECK(d2->device_id == 19 && d2->num_queues == 3 && d2->queue_size[2] == 16);
	CHECK(d2->data_size == 8192 && strcmp(hvl_pmm_dev_opt(d2, "cid"), "3") == 0);
	/* Messages without a file carry no file:line prefix. */
	CHECK(hvl_pmm_region_set(r, "size", "8K", err, sizeof(err)) == 0);
	CHECK(hvl_pmm_config_finish(&c, err, sizeof(err)) == -ENOSPC);
	CHECK(strncmp(err, "region 'rt0': ", 14) == 0);
	hvl_pmm_config_free(&c);

	CHECK(hvl_pmm_parse_size("4K", &v) == 0 && v == 4096);
	CHECK(hvl_pmm_parse_size("0x10m", &v) == 0 && v == 16u * 1024 * 1024);
	CHECK(hvl_pmm_parse_size("1G", &v) == 0 && v == 1024u * 1024 * 1024);
	CHECK(hvl_pmm_parse_size("010", &v) == 0 && v == 10);
	CHECK(hvl_pmm_parse_size("16777216T", &v) == -EINVAL);
	CHECK(hvl_pmm_parse_size("17179869184G", &v) == -EINVAL);
	CHECK(hvl_pmm_parse_size("", &v) == -EINVAL);
	CHECK(hvl_pmm_parse_size(" 1", &v) == -EINVAL);
	CHECK(hvl_pmm_parse_size("+1", &v) == -EINVAL);
	CHECK(hvl_pmm_parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	CHECK(hvl_pmm_parse_u64("18446744073709551616", &v) == -EINVAL);
	CHECK(hvl_pmm_parse_u64("1K", &v) == -EINVAL);
}

/* The emitted header must compile and carry the layout's values. */
static void test_emit_compiles(void)
{
	char err[512] = "", hdr[128], src[128], cmd[512];
	struct hvl_layout *l = malloc(sizeof(*l));
	const struct hvl_layout_dev *d;
	struct hvl_pmm_config c;
	FILE *f;
	int rc;

	hvl_pmm_config_init(&c);
	if (l == NULL || hvl_pmm_config_load(&c, ini(valid), err, sizeof(err)) != 0 ||
	    hvl_pmm_region_layout(&c.region[0], l, err, sizeof(err)) != 0) {
		fprintf(stderr, "emit: setup failed: %s\n", err);
		failures++;
		goto out;
	}
	snprintf(hdr, sizeof(hdr), "%s/hvl_rt0_layout.h", dir);
	f = fopen(hdr, "w");
	CHECK(f != NULL);
	if (f == NULL)
		goto out;
	CHECK(hvl_layout_emit_header(f, c.region[0].name, l) == 0);
	fclose(f);

	if (system("command -v cc >/dev/null 2>&1") != 0) {
		printf("test_config: cc not found, skipping the emitted-header compile check\n");
		goto out;
	}
	d = &l->dev[1];
	snprintf(src, sizeof(src), "%s/use.c", dir);
	f = fopen(src, "w");
	CHECK(f != NULL);
	if (f == NULL)
		goto out;
	fprintf(f,
		"#include \"hvl_rt0_layout.h\"\n"
		"#include \"hvl_rt0_layout.h\" /* guard */\n"
		"_Static_assert(HVL_RT0_SIZE == 0x400000ULL, \"size\");\n"
		"_Static_assert(HVL_RT0_REMOTE_BASE == 0x70000000ULL, \"base\");\n"
		"_Static_assert(HVL_RT0_DEVICES == 2, \"devices\");\n"
		"_Static_assert(HVL_RT0_CONSOLE0_DEVICE_ID == 3, \"id\");\n"
		"_Static_assert(HVL_RT0_CONSOLE0_REGS == 0x70001000ULL, \"regs\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_QUEUES == 2, \"queues\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_WINDOW == 0x%" PRIx64 "ULL, \"window\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_WINDOW_SIZE == %" PRIu64 "ULL, \"wsize\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_DATA == 0x%" PRIx64 "ULL, \"data\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_DATA_SIZE == %" PRIu64 "ULL, \"dsize\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_Q1_NUM == 256, \"num\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_Q1_DESC == 0x%" PRIx64 "ULL, \"desc\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_Q1_AVAIL == 0x%" PRIx64 "ULL, \"avail\");\n"
		"_Static_assert(HVL_RT0_CONSOLE1_Q1_USED == 0x%" PRIx64 "ULL, \"used\");\n"
		"int main(void) { return 0; }\n",
		0x70000000u + d->window_offset, d->window_size, 0x70000000u + d->data_offset,
		d->data_size, 0x70000000u + d->queue[1].desc, 0x70000000u + d->queue[1].avail,
		0x70000000u + d->queue[1].used);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cc -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I%s %s",
		 dir, src);
	rc = system(cmd);
	if (rc != 0) {
		fprintf(stderr, "emitted header did not compile: %s\n", cmd);
		failures++;
	}
out:
	hvl_pmm_config_free(&c);
	free(l);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/hvl-test-config-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_valid();
	test_errors();
	test_errors_generated();
	test_programmatic();
	test_emit_compiles();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	if (failures != 0) {
		fprintf(stderr, "test_config: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_config: ok\n");
	return 0;
}
