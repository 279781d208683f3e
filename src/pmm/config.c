/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-pmm configuration: setters shared by the INI loader and by
 * programmatic building, the final cross-checks, and the INI loader on top
 * of libinih.  docs/CONFIG.md is the user-facing description.
 *
 * The loader builds into a private struct and replaces the caller's only
 * when the whole file parsed and checked, so an error never leaves a
 * half-applied configuration behind.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "sandbox.h"

#define QSIZE_MAX    32768u
#define HEARTBEAT_MAX 3600000u /* one hour; a slower heartbeat detects nothing */
#define KIB          1024u

static void seterr(char *err, size_t errlen, const char *fmt, ...) HVL_PRINTF(3, 4);
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ type table */

/* Console: one rx/tx pair per port; more than one port needs the control
 * queues of VIRTIO_CONSOLE_F_MULTIPORT (virtio 1.2 §5.3.2). */
static const char *const console_opts[] = { "backend", "path", "ports", NULL };
/* Block: the disk image, read-only flag and GET_ID serial (virtio 1.2 §5.2). */
static const char *const blk_opts[] = { "path", "readonly", "serial", NULL };
/* Entropy: nothing to configure (§5.4 has no config space). */
static const char *const rng_opts[] = { NULL };
/* Net: TAP or stream backend, its address, MAC and MTU (virtio 1.2 §5.1.4). */
static const char *const net_opts[] = { "backend", "ifname", "path", "mode", "mac", "mtu", NULL };

/* vsock: the remote's CID, the UNIX sockets it is bridged to, limits
 * (virtio 1.2 §5.10); a key ending in '.' takes any suffix ("port.1234"). */
static const char *const vsock_opts[] = { "cid", "listen", "prefix", "port.", "max_conn",
					  "buf_size", NULL };

/* 9p: the exported directory, mount tag, limits, optional socket (docs/CONFIG.md). */
static const char *const p9_opts[] = { "path", "tag", "readonly", "max_fids", "msize", "listen",
				       NULL };

/* rpmsg: the socket directory, buffer size, channel bound, built-in test channels. */
static const char *const rpmsg_opts[] = { "dir", "buf_size", "max_channels", "builtin", NULL };

static const struct hvl_pmm_dev_type dev_types[] = {
	/* name      id  queues data area                opts (NULL = any, backend pending) */
	{ "console", 3,  2,     64u * KIB,               console_opts },
	{ "net",     1,  2,     512u * KIB,              net_opts },
	{ "blk",     2,  1,     1024u * KIB,             blk_opts },
	{ "rng",     4,  1,     16u * KIB,               rng_opts },
	{ "9p",      9,  1,     512u * KIB,              p9_opts },
	{ "vsock",   19, 3,     256u * KIB,              vsock_opts },
	{ "rpmsg",   7,  2,     256u * KIB,              rpmsg_opts },
};
#define NTYPES (sizeof(dev_types) / sizeof(dev_types[0]))

const struct hvl_pmm_dev_type *hvl_pmm_dev_type_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NTYPES; i++)
		if (strcmp(dev_types[i].name, name) == 0)
			return &dev_types[i];
	return NULL;
}

const struct hvl_pmm_dev_type *hvl_pmm_dev_type_by_id(uint32_t device_id)
{
	size_t i;

	for (i = 0; i < NTYPES; i++)
		if (dev_types[i].device_id == device_id)
			return &dev_types[i];
	return NULL;
}

/* ------------------------------------------------------------ values */

/* Digits only: strtoull alone would accept "-1", " 5" and "+5". */
static int parse_num(const char *s, uint64_t *out, const char **end)
{
	unsigned long long v;
	char *e;
	int base = 10;

	if (s == NULL)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		if (!isxdigit((unsigned char)s[2]))
			return -EINVAL;
	} else if (!isdigit((unsigned char)s[0])) {
		return -EINVAL;
	}
	errno = 0;
	/* Base 10 explicitly: "010" is ten, not an octal eight. */
	v = strtoull(s, &e, base);
	if (errno != 0 || e == s)
		return -EINVAL;
	*out = (uint64_t)v;
	*end = e;
	return 0;
}

int hvl_pmm_parse_u64(const char *s, uint64_t *out)
{
	const char *e;
	uint64_t v;

	if (parse_num(s, &v, &e) != 0 || *e != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int hvl_pmm_parse_size(const char *s, uint64_t *out)
{
	const char *e;
	uint64_t v, mul = 1;

	if (parse_num(s, &v, &e) != 0)
		return -EINVAL;
	switch (*e) {
	case '\0': break;
	case 'k': case 'K': mul = KIB; e++; break;
	case 'm': case 'M': mul = (uint64_t)KIB * KIB; e++; break;
	case 'g': case 'G': mul = (uint64_t)KIB * KIB * KIB; e++; break;
	default: return -EINVAL;
	}
	if (*e != '\0' || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

/* Region and device names end up in C macro names and section headers. */
static int check_name(const char *what, const char *name, size_t max, char *err, size_t errlen)
{
	size_t i, n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n >= max) {
		seterr(err, errlen, "%s name '%s' must be 1..%zu characters", what,
		       name != NULL ? name : "", max - 1);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!isalnum(ch) && ch != '_' && ch != '-') {
			seterr(err, errlen, "%s name '%s': only letters, digits, '_' and '-' are allowed",
			       what, name);
			return -EINVAL;
		}
	}
	return 0;
}

static int set_str(char **dst, const char *value, const char *key, char *err, size_t errlen)
{
	char *s;

	if (value[0] == '\0') {
		seterr(err, errlen, "%s: empty value", key);
		return -EINVAL;
	}
	s = strdup(value);
	if (s == NULL) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(*dst);
	*dst = s;
	return 0;
}

/* ------------------------------------------------------------ [pmm] */

static const char *const level_names[] = { "error", "warn", "info", "debug" };

const char *hvl_pmm_log_level_name(enum hvl_log_level level)
{
	unsigned i = (unsigned)level;

	return i < 4u ? level_names[i] : "?";
}

const char *hvl_pmm_doorbell_name(uint32_t doorbell)
{
	switch (doorbell) {
	case HVL_DOORBELL_POLL: return "poll";
	case HVL_DOORBELL_FUTEX: return "futex";
	case HVL_DOORBELL_EVENTFD: return "eventfd";
	case HVL_DOORBELL_MAILBOX: return "mailbox";
	default: return "?";
	}
}

void hvl_pmm_config_init(struct hvl_pmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = HVL_LOG_INFO;
	c->sandbox = HVL_SANDBOX_DEFAULT;
}

void hvl_pmm_config_free(struct hvl_pmm_config *c)
{
	unsigned i;

	for (i = 0; i < c->nregions; i++) {
		free(c->region[i].file);
		free(c->region[i].doorbell_socket);
		free(c->region[i].dev);
	}
	free(c->region);
	free(c->path);
	hvl_pmm_config_init(c);
}

int hvl_pmm_config_set(struct hvl_pmm_config *c, const char *key, const char *value,
		       char *err, size_t errlen)
{
	unsigned i;

	if (strcmp(key, "sandbox") == 0) {
		enum hvl_sandbox_mode m;

		if (hvl_sandbox_parse(value, &m) != 0) {
			seterr(err, errlen, "sandbox '%s': expected off, log, errno or on", value);
			return -EINVAL;
		}
		c->sandbox = (int)m;
		return 0;
	}
	if (strcmp(key, "log_level") != 0) {
		seterr(err, errlen, "unknown key '%s' in [pmm] (known: log_level, sandbox)", key);
		return -EINVAL;
	}
	for (i = 0; i < 4u; i++) {
		if (strcmp(value, level_names[i]) == 0) {
			c->log_level = (enum hvl_log_level)i;
			return 0;
		}
	}
	seterr(err, errlen, "log_level '%s': expected error, warn, info or debug", value);
	return -EINVAL;
}

/* ------------------------------------------------------------ regions */

struct hvl_pmm_region_config *hvl_pmm_config_region(struct hvl_pmm_config *c, const char *name)
{
	unsigned i;

	for (i = 0; i < c->nregions; i++)
		if (strcmp(c->region[i].name, name) == 0)
			return &c->region[i];
	return NULL;
}

struct hvl_pmm_region_config *hvl_pmm_config_add_region(struct hvl_pmm_config *c,
							 const char *name,
							 char *err, size_t errlen)
{
	struct hvl_pmm_region_config *arr, *r;

	if (check_name("region", name, HVL_PMM_REGION_NAME_MAX, err, errlen) != 0)
		return NULL;
	if (hvl_pmm_config_region(c, name) != NULL) {
		seterr(err, errlen, "duplicate region '%s'", name);
		return NULL;
	}
	if (c->nregions >= HVL_PMM_MAX_REGIONS) {
		seterr(err, errlen, "too many regions (at most %u)", HVL_PMM_MAX_REGIONS);
		return NULL;
	}
	arr = realloc(c->region, (c->nregions + 1u) * sizeof(*arr));
	if (arr == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	c->region = arr;
	r = &arr[c->nregions];
	memset(r, 0, sizeof(*r));
	strcpy(r->name, name); /* length checked above */
	r->index = c->nregions;
	r->doorbell = HVL_DOORBELL_FUTEX;
	r->heartbeat_ms = HVL_PMM_DEFAULT_HEARTBEAT_MS;
	c->nregions++;
	return r;
}

int hvl_pmm_region_set(struct hvl_pmm_region_config *r, const char *key, const char *value,
		       char *err, size_t errlen)
{
	uint64_t v;

	if (strcmp(key, "file") == 0) {
		if (r->mem == HVL_PMM_MEM_PHYS) {
			seterr(err, errlen, "file: region '%s' already uses phys (choose one)", r->name);
			return -EINVAL;
		}
		if (set_str(&r->file, value, key, err, errlen) != 0)
			return -EINVAL;
		r->mem = HVL_PMM_MEM_FILE;
		return 0;
	}
	if (strcmp(key, "phys") == 0) {
		if (r->mem == HVL_PMM_MEM_FILE) {
			seterr(err, errlen, "phys: region '%s' already uses file (choose one)", r->name);
			return -EINVAL;
		}
		if (hvl_pmm_parse_u64(value, &v) != 0 || (v & (HVL_PAGE_SIZE - 1u)) != 0) {
			seterr(err, errlen, "phys '%s': expected a %u-byte aligned address",
			       value, HVL_PAGE_SIZE);
			return -EINVAL;
		}
		r->phys = v;
		r->mem = HVL_PMM_MEM_PHYS;
		return 0;
	}
	if (strcmp(key, "size") == 0) {
		if (strcmp(value, "auto") == 0) {
			v = 0;
		} else if (hvl_pmm_parse_size(value, &v) != 0 || (v & (HVL_PAGE_SIZE - 1u)) != 0) {
			/* Memory files and reserved memory are mapped in pages. */
			seterr(err, errlen, "size '%s': expected auto, 0 or a multiple of 4K (suffix K, M or G)",
			       value);
			return -EINVAL;
		}
		r->size = v;
		return 0;
	}
	if (strcmp(key, "remote_base") == 0) {
		if (hvl_pmm_parse_u64(value, &v) != 0 || (v & (HVL_PAGE_SIZE - 1u)) != 0) {
			seterr(err, errlen, "remote_base '%s': expected a %u-byte aligned address",
			       value, HVL_PAGE_SIZE);
			return -EINVAL;
		}
		r->remote_base = v;
		return 0;
	}
	if (strcmp(key, "doorbell") == 0) {
		if (strcmp(value, "futex") == 0)
			r->doorbell = HVL_DOORBELL_FUTEX;
		else if (strcmp(value, "eventfd") == 0)
			r->doorbell = HVL_DOORBELL_EVENTFD;
		else if (strcmp(value, "poll") == 0)
			r->doorbell = HVL_DOORBELL_POLL;
		else {
			seterr(err, errlen, "doorbell '%s': expected futex, eventfd or poll", value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "doorbell_socket") == 0)
		return set_str(&r->doorbell_socket, value, key, err, errlen) != 0 ? -EINVAL : 0;
	if (strcmp(key, "heartbeat_ms") == 0) {
		if (hvl_pmm_parse_u64(value, &v) != 0 || v > HEARTBEAT_MAX) {
			seterr(err, errlen, "heartbeat_ms '%s': expected 0..%u", value, HEARTBEAT_MAX);
			return -EINVAL;
		}
		r->heartbeat_ms = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "fault_drop_doorbell_pct") == 0) {
		/* Fault injection for tests: drop this share of our doorbell rings. */
		if (hvl_pmm_parse_u64(value, &v) != 0 || v > 100u) {
			seterr(err, errlen, "fault_drop_doorbell_pct '%s': expected 0..100", value);
			return -EINVAL;
		}
		r->fault_drop_pct = (uint32_t)v;
		return 0;
	}
	seterr(err, errlen, "unknown key '%s' in region '%s' (known: file, phys, size, remote_base, "
	       "doorbell, doorbell_socket, heartbeat_ms, fault_drop_doorbell_pct)", key, r->name);
	return -EINVAL;
}

/* ------------------------------------------------------------ devices */

static struct hvl_pmm_dev_config *find_dev(struct hvl_pmm_region_config *r, const char *name)
{
	unsigned i;

	for (i = 0; i < r->ndev; i++)
		if (strcmp(r->dev[i].name, name) == 0)
			return &r->dev[i];
	return NULL;
}

static int set_type(struct hvl_pmm_dev_config *d, const char *value, char *err, size_t errlen)
{
	const struct hvl_pmm_dev_type *t = hvl_pmm_dev_type_find(value);

	if (t == NULL) {
		seterr(err, errlen, "unknown device type '%s' (known: console, net, blk, rng, 9p, "
		       "vsock, rpmsg)", value);
		return -EINVAL;
	}
	d->type = t;
	d->device_id = t->device_id;
	return 0;
}

struct hvl_pmm_dev_config *hvl_pmm_region_add_device(struct hvl_pmm_region_config *r,
						     const char *type, const char *name,
						     char *err, size_t errlen)
{
	const struct hvl_pmm_dev_type *t = NULL;
	char autoname[HVL_PMM_DEV_NAME_MAX];
	struct hvl_pmm_dev_config *d;
	unsigned n;

	if (type != NULL) {
		t = hvl_pmm_dev_type_find(type);
		if (t == NULL) {
			seterr(err, errlen, "unknown device type '%s' (known: console, net, blk, rng, "
			       "9p, vsock, rpmsg)", type);
			return NULL;
		}
	}
	if (name == NULL) {
		if (t == NULL) {
			seterr(err, errlen, "a device needs a name or a type");
			return NULL;
		}
		/* First free "<type><n>"; the table bounds the search. */
		for (n = 0; n <= HVL_MAX_DEVICES; n++) {
			(void)snprintf(autoname, sizeof(autoname), "%s%u", t->name, n);
			if (find_dev(r, autoname) == NULL)
				break;
		}
		name = autoname;
	}
	if (check_name("device", name, HVL_PMM_DEV_NAME_MAX, err, errlen) != 0)
		return NULL;
	if (find_dev(r, name) != NULL) {
		seterr(err, errlen, "duplicate device '%s.%s'", r->name, name);
		return NULL;
	}
	if (r->ndev >= HVL_MAX_DEVICES) {
		seterr(err, errlen, "too many devices in region '%s' (the device table holds %u)",
		       r->name, HVL_MAX_DEVICES);
		return NULL;
	}
	if (r->ndev == r->dev_cap) {
		unsigned cap = r->dev_cap != 0 ? r->dev_cap * 2u : 4u;
		struct hvl_pmm_dev_config *arr = realloc(r->dev, cap * sizeof(*arr));

		if (arr == NULL) {
			seterr(err, errlen, "out of memory");
			return NULL;
		}
		r->dev = arr;
		r->dev_cap = cap;
	}
	d = &r->dev[r->ndev];
	memset(d, 0, sizeof(*d));
	strcpy(d->name, name); /* length checked above */
	if (t != NULL) {
		d->type = t;
		d->device_id = t->device_id;
	}
	r->ndev++;
	return d;
}

static int parse_qsize(const char *key, const char *value, uint16_t *out, char *err, size_t errlen)
{
	uint64_t v;

	if (hvl_pmm_parse_u64(value, &v) != 0 || v == 0 || v > QSIZE_MAX || (v & (v - 1u)) != 0) {
		seterr(err, errlen, "%s '%s': expected a power of two 1..%u", key, value, QSIZE_MAX);
		return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

/* hvl_pmm_dev_set() with the file line recorded for checks made later. */
static int dev_set_line(struct hvl_pmm_dev_config *d, const char *key, const char *value,
			int line, char *err, size_t errlen)
{
	struct hvl_pmm_dev_opt *o = NULL;
	uint64_t v;
	unsigned i;

	if (strcmp(key, "type") == 0)
		return set_type(d, value, err, errlen);
	if (strcmp(key, "queues") == 0) {
		if (hvl_pmm_parse_u64(value, &v) != 0 || v < 1u || v > HVL_MAX_QUEUES) {
			seterr(err, errlen, "queues '%s': expected 1..%u", value, HVL_MAX_QUEUES);
			return -EINVAL;
		}
		d->req_queues = (uint32_t)v;
		d->req_queues_line = line;
		return 0;
	}
	if (strcmp(key, "queue_size") == 0)
		return parse_qsize(key, value, &d->req_queue_size, err, errlen);
	if (strncmp(key, "queue_size.", 11) == 0) {
		/* Queue index: plain decimal, checked against the queue count in
		 * hvl_pmm_config_finish() once the count is known. */
		const char *n = key + 11;

		if (strspn(n, "0123456789") != strlen(n) || (n[0] == '0' && n[1] != '\0') ||
		    hvl_pmm_parse_u64(n, &v) != 0 || v >= HVL_MAX_QUEUES) {
			seterr(err, errlen, "key '%s': expected queue_size.N with N 0..%u", key,
			       HVL_MAX_QUEUES - 1u);
			return -EINVAL;
		}
		if (parse_qsize(key, value, &d->req_qsize[v], err, errlen) != 0)
			return -EINVAL;
		d->req_qsize_line[v] = line;
		return 0;
	}
	if (strcmp(key, "data_size") == 0) {
		if (hvl_pmm_parse_size(value, &v) != 0 || v == 0) {
			/* Buffers must lie inside the window, so a device
			 * without a data area could not carry any data. */
			seterr(err, errlen, "data_size '%s': expected a size > 0 (suffix K, M or G)",
			       value);
			return -EINVAL;
		}
		d->data_size = v;
		d->data_size_set = 1;
		return 0;
	}

	/* Device-specific option, kept for the backend. */
	if (strlen(key) >= HVL_PMM_OPT_KEY_MAX) {
		seterr(err, errlen, "option key '%s' longer than %u characters", key,
		       HVL_PMM_OPT_KEY_MAX - 1u);
		return -EINVAL;
	}
	if (strlen(value) >= HVL_PMM_OPT_VAL_MAX) {
		seterr(err, errlen, "option '%s': value longer than %u characters", key,
		       HVL_PMM_OPT_VAL_MAX - 1u);
		return -EINVAL;
	}
	for (i = 0; i < d->nopts; i++)
		if (strcmp(d->opt[i].key, key) == 0)
			o = &d->opt[i];
	if (o == NULL) {
		if (d->nopts >= HVL_PMM_MAX_OPTS) {
			seterr(err, errlen, "too many device options (at most %u)", HVL_PMM_MAX_OPTS);
			return -EINVAL;
		}
		o = &d->opt[d->nopts++];
		strcpy(o->key, key);
	}
	strcpy(o->value, value);
	o->line = line;
	return 0;
}

int hvl_pmm_dev_set(struct hvl_pmm_dev_config *d, const char *key, const char *value,
		    char *err, size_t errlen)
{
	return dev_set_line(d, key, value, 0, err, errlen);
}

int hvl_pmm_dev_set_list(struct hvl_pmm_dev_config *d, const char *list, char *err, size_t errlen)
{
	char *copy, *item, *save = NULL;
	int rc = 0;

	copy = strdup(list);
	if (copy == NULL) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (eq == NULL || eq == item) {
			seterr(err, errlen, "'%s': expected key=value", item);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		rc = hvl_pmm_dev_set(d, item, eq + 1, err, errlen);
	}
	free(copy);
	return rc;
}

const char *hvl_pmm_dev_opt(const struct hvl_pmm_dev_config *d, const char *key)
{
	unsigned i;

	for (i = 0; i < d->nopts; i++)
		if (strcmp(d->opt[i].key, key) == 0)
			return d->opt[i].value;
	return NULL;
}

/* ------------------------------------------------------------ finishing */

/* Errors found after parsing point at the line that caused them. */
static void finerr(const struct hvl_pmm_config *c, int line, char *err, size_t errlen,
		   const char *fmt, ...) HVL_PRINTF(5, 6);
static void finerr(const struct hvl_pmm_config *c, int line, char *err, size_t errlen,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->path != NULL && line > 0)
		seterr(err, errlen, "%s:%d: %s", c->path, line, msg);
	else if (c->path != NULL)
		seterr(err, errlen, "%s: %s", c->path, msg);
	else
		seterr(err, errlen, "%s", msg);
}

static int finish_dev(const struct hvl_pmm_config *c, const struct hvl_pmm_region_config *r,
		      struct hvl_pmm_dev_config *d, char *err, size_t errlen)
{
	const struct hvl_pmm_dev_type *t = d->type;
	uint32_t nq, q;
	unsigned i, j;

	if (t == NULL) {
		finerr(c, d->line, err, errlen, "device '%s.%s' has no type", r->name, d->name);
		return -EINVAL;
	}
	for (i = 0; t->opts != NULL && i < d->nopts; i++) {
		for (j = 0; t->opts[j] != NULL; j++) {
			size_t kl = strlen(t->opts[j]);

			if (strcmp(t->opts[j], d->opt[i].key) == 0)
				break;
			/* "port." matches "port.1234": a key family, never the bare prefix. */
			if (kl > 0 && t->opts[j][kl - 1] == '.' &&
			    strncmp(t->opts[j], d->opt[i].key, kl) == 0 && d->opt[i].key[kl] != '\0')
				break;
		}
		if (t->opts[j] == NULL) {
			finerr(c, d->opt[i].line, err, errlen, "device '%s.%s': unknown key '%s' for type %s",
			       r->name, d->name, d->opt[i].key, t->name);
			return -EINVAL;
		}
	}

	nq = t->default_queues;
	if (strcmp(t->name, "console") == 0) {
		const char *p = hvl_pmm_dev_opt(d, "ports");
		uint64_t ports = 1;
		int line = d->line;

		for (i = 0; i < d->nopts; i++)
			if (strcmp(d->opt[i].key, "ports") == 0)
				line = d->opt[i].line;
		/*
		 * One port (receiveq, transmitq): the console backend has no
		 * VIRTIO_CONSOLE_F_MULTIPORT yet, so refuse more here, with a line.
		 */
		if (p != NULL && (hvl_pmm_parse_u64(p, &ports) != 0 || ports != 1u)) {
			finerr(c, line, err, errlen,
			       "device '%s.%s': ports '%s': only 1 is supported (no multiport yet)",
			       r->name, d->name, p);
			return -EINVAL;
		}
		nq = 2u;
		if (d->req_queues != 0 && d->req_queues != nq) {
			finerr(c, d->req_queues_line, err, errlen,
			       "device '%s.%s': queues = %u, but a console has %u",
			       r->name, d->name, d->req_queues, nq);
			return -EINVAL;
		}
	} else if (d->req_queues != 0) {
		nq = d->req_queues;
	}
	d->num_queues = nq;

	for (q = 0; q < HVL_MAX_QUEUES; q++) {
		if (d->req_qsize[q] != 0 && q >= nq) {
			finerr(c, d->req_qsize_line[q], err, errlen,
			       "device '%s.%s': queue_size.%u, but the device has %u queue(s)",
			       r->name, d->name, q, nq);
			return -EINVAL;
		}
		if (q >= nq)
			d->queue_size[q] = 0;
		else if (d->req_qsize[q] != 0)
			d->queue_size[q] = d->req_qsize[q];
		else if (d->req_queue_size != 0)
			d->queue_size[q] = d->req_queue_size;
		else
			d->queue_size[q] = HVL_PMM_DEFAULT_QUEUE_SIZE;
	}
	if (!d->data_size_set)
		d->data_size = t->default_data_size;
	return 0;
}

/* Upper-case, non-alphanumerics to '_': the emitted header's macro spelling. */
static void mangle(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i + 1u < len && src[i] != '\0'; i++)
		dst[i] = isalnum((unsigned char)src[i]) ? (char)toupper((unsigned char)src[i]) : '_';
	dst[i] = '\0';
}

static int finish_region(const struct hvl_pmm_config *c, struct hvl_pmm_region_config *r,
			 struct hvl_layout *l, char *err, size_t errlen)
{
	char a[HVL_PMM_DEV_NAME_MAX], b[HVL_PMM_DEV_NAME_MAX], msg[384];
	unsigned i, j;
	int rc;

	if (r->mem == HVL_PMM_MEM_UNSET) {
		finerr(c, r->line, err, errlen, "region '%s': set file or phys", r->name);
		return -EINVAL;
	}
	if (r->doorbell == HVL_DOORBELL_EVENTFD && r->doorbell_socket == NULL) {
		finerr(c, r->line, err, errlen,
		       "region '%s': doorbell = eventfd needs doorbell_socket", r->name);
		return -EINVAL;
	}
	if (r->doorbell != HVL_DOORBELL_EVENTFD && r->doorbell_socket != NULL) {
		finerr(c, r->line, err, errlen,
		       "region '%s': doorbell_socket is only used with doorbell = eventfd", r->name);
		return -EINVAL;
	}
	for (i = 0; i < r->ndev; i++) {
		rc = finish_dev(c, r, &r->dev[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	/* Names that differ only in case or '-'/'_' would define the same
	 * macros in the emitted header. */
	for (i = 0; i < r->ndev; i++) {
		mangle(a, r->dev[i].name, sizeof(a));
		for (j = i + 1u; j < r->ndev; j++) {
			mangle(b, r->dev[j].name, sizeof(b));
			if (strcmp(a, b) == 0) {
				finerr(c, r->dev[j].line, err, errlen,
				       "device names '%s' and '%s' in region '%s' both become %s in "
				       "the emitted header", r->dev[i].name, r->dev[j].name, r->name, a);
				return -EINVAL;
			}
		}
	}
	rc = hvl_pmm_region_layout(r, l, msg, sizeof(msg));
	if (rc != 0) {
		finerr(c, r->line, err, errlen, "region '%s': %s", r->name, msg);
		return rc;
	}
	return 0;
}

int hvl_pmm_config_finish(struct hvl_pmm_config *c, char *err, size_t errlen)
{
	char a[HVL_PMM_REGION_NAME_MAX], b[HVL_PMM_REGION_NAME_MAX];
	struct hvl_layout *l;
	unsigned i, j;
	int rc = 0;

	if (c->nregions == 0) {
		finerr(c, 0, err, errlen, "no region configured");
		return -EINVAL;
	}
	for (i = 0; i < c->nregions; i++) {
		mangle(a, c->region[i].name, sizeof(a));
		for (j = i + 1u; j < c->nregions; j++) {
			mangle(b, c->region[j].name, sizeof(b));
			if (strcmp(a, b) == 0) {
				finerr(c, c->region[j].line, err, errlen,
				       "region names '%s' and '%s' both become %s in the emitted header",
				       c->region[i].name, c->region[j].name, a);
				return -EINVAL;
			}
		}
	}
	/* ~40 KiB: too big for a comfortable stack frame. */
	l = malloc(sizeof(*l));
	if (l == NULL) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < c->nregions && rc == 0; i++)
		rc = finish_region(c, &c->region[i], l, err, errlen);
	free(l);
	return rc;
}

int hvl_pmm_region_layout(const struct hvl_pmm_region_config *r, struct hvl_layout *l,
			  char *err, size_t errlen)
{
	struct hvl_layout_dev_cfg *dc;
	unsigned i;
	int rc;

	if (r->ndev > HVL_MAX_DEVICES) {
		seterr(err, errlen, "too many devices");
		return -EINVAL;
	}
	dc = calloc(r->ndev != 0 ? r->ndev : 1u, sizeof(*dc));
	if (dc == NULL) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < r->ndev; i++) {
		const struct hvl_pmm_dev_config *d = &r->dev[i];

		dc[i].device_id = d->device_id;
		(void)snprintf(dc[i].name, sizeof(dc[i].name), "%s", d->name);
		dc[i].num_queues = d->num_queues;
		memcpy(dc[i].queue_size, d->queue_size, sizeof(dc[i].queue_size));
		dc[i].data_size = d->data_size;
	}
	rc = hvl_layout_compute(l, r->size, r->remote_base, dc, r->ndev, err, errlen);
	free(dc);
	return rc;
}

/* ------------------------------------------------------------ INI loader */

/*
 * libinih as shipped by Debian calls the handler without a line number and
 * only for key lines (an empty section is invisible).  So we feed it lines
 * through our own reader, which counts lines, rejects overlong and
 * indented lines (libinih would silently split or join them), and handles
 * section headers itself; the handler then only sees keys.
 */
enum sec_kind { SEC_NONE, SEC_PMM, SEC_REGION, SEC_DEVICE };

struct keyseen {
	char *key;
	int line;
};

struct parse_ctx {
	struct hvl_pmm_config *c;
	FILE *f;
	char *buf;
	size_t bufcap;
	int line;
	int failed;             /* first error recorded; stop at the next read */
	int err_line;
	char msg[512];
	enum sec_kind sec;
	unsigned ri, di;        /* current region / device (indexes: arrays move) */
	int pmm_seen;
	struct keyseen *keys;   /* keys of the current section, for duplicates */
	unsigned nkeys, keycap;
};

static void perr(struct parse_ctx *p, const char *fmt, ...) HVL_PRINTF(2, 3);
static void perr(struct parse_ctx *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	p->failed = 1;
	p->err_line = p->line;
}

static void keys_reset(struct parse_ctx *p)
{
	unsigned i;

	for (i = 0; i < p->nkeys; i++)
		free(p->keys[i].key);
	p->nkeys = 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static void section(struct parse_ctx *p, char *name)
{
	struct hvl_pmm_config *c = p->c;
	char *arg, *dot, m[sizeof(p->msg)];

	keys_reset(p);
	name = trim(name);
	arg = name + strcspn(name, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	arg = trim(arg);

	if (strcmp(name, "pmm") == 0 && *arg == '\0') {
		if (p->pmm_seen)
			perr(p, "duplicate section [pmm]");
		p->pmm_seen = 1;
		p->sec = SEC_PMM;
	} else if (strcmp(name, "region") == 0) {
		struct hvl_pmm_region_config *r = hvl_pmm_config_add_region(c, arg, m, sizeof(m));

		if (r == NULL) {
			perr(p, "%s", m);
			return;
		}
		r->line = p->line;
		p->ri = r->index;
		p->sec = SEC_REGION;
	} else if (strcmp(name, "device") == 0) {
		struct hvl_pmm_region_config *r;
		struct hvl_pmm_dev_config *d;

		dot = strchr(arg, '.');
		if (dot == NULL) {
			perr(p, "device section '[device %s]': expected [device <region>.<name>]", arg);
			return;
		}
		*dot = '\0';
		r = hvl_pmm_config_region(c, arg);
		if (r == NULL) {
			perr(p, "device '%s.%s' refers to unknown region '%s' "
			     "(define [region %s] before its devices)", arg, dot + 1, arg, arg);
			return;
		}
		d = hvl_pmm_region_add_device(r, NULL, dot + 1, m, sizeof(m));
		if (d == NULL) {
			perr(p, "%s", m);
			return;
		}
		d->line = p->line;
		p->ri = r->index;
		p->di = r->ndev - 1u;
		p->sec = SEC_DEVICE;
	} else {
		perr(p, "unknown section [%s%s%s] (known: [pmm], [region NAME], [device REGION.NAME])",
		     name, *arg != '\0' ? " " : "", arg);
	}
}

static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	ssize_t n;
	char *s;

	if (p->failed)
		return NULL; /* end the parse at the first error */
	n = getline(&p->buf, &p->bufcap, p->f);
	if (n < 0) {
		if (ferror(p->f)) {
			p->line++;
			perr(p, "read error");
		}
		return NULL;
	}
	p->line++;
	if (num < 2 || n > num - 1) {
		perr(p, "line longer than %d characters", num - 2);
		return NULL;
	}
	if ((size_t)n != strlen(p->buf)) {
		perr(p, "NUL byte in line");
		return NULL;
	}
	memcpy(str, p->buf, (size_t)n + 1u);

	s = p->buf;
	if (p->line == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3; /* UTF-8 BOM, which libinih skips too */
	if (isspace((unsigned char)s[0])) {
		char *t = trim(s);

		/* libinih would join an indented line to the previous key. */
		if (*t != '\0' && *t != ';' && *t != '#') {
			perr(p, "indented line (continuation lines are not supported)");
			return NULL;
		}
		return str;
	}
	if (s[0] == '[') {
		char *end = strchr(s, ']');

		if (end == NULL) {
			perr(p, "section header without ']'");
			return NULL;
		}
		*end = '\0';
		section(p, s + 1);
		if (p->failed)
			return NULL;
	}
	return str;
}

static int handler(void *user, const char *sec, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	struct hvl_pmm_config *c = p->c;
	unsigned i;
	int rc;

	(void)sec; /* tracked by the reader; libinih truncates long names */
	if (p->failed)
		return 1;
	for (i = 0; i < p->nkeys; i++) {
		if (strcmp(p->keys[i].key, name) == 0) {
			perr(p, "key '%s' set twice in this section (first on line %d)", name,
			     p->keys[i].line);
			return 0;
		}
	}
	if (p->nkeys == p->keycap) {
		unsigned cap = p->keycap != 0 ? p->keycap * 2u : 16u;
		struct keyseen *k = realloc(p->keys, cap * sizeof(*k));

		if (k == NULL) {
			perr(p, "out of memory");
			return 0;
		}
		p->keys = k;
		p->keycap = cap;
	}
	p->keys[p->nkeys].key = strdup(name);
	if (p->keys[p->nkeys].key == NULL) {
		perr(p, "out of memory");
		return 0;
	}
	p->keys[p->nkeys++].line = p->line;

	switch (p->sec) {
	case SEC_PMM:
		rc = hvl_pmm_config_set(c, name, value, p->msg, sizeof(p->msg));
		break;
	case SEC_REGION:
		rc = hvl_pmm_region_set(&c->region[p->ri], name, value, p->msg, sizeof(p->msg));
		break;
	case SEC_DEVICE:
		rc = dev_set_line(&c->region[p->ri].dev[p->di], name, value, p->line, p->msg,
				  sizeof(p->msg));
		break;
	case SEC_NONE:
	default:
		(void)snprintf(p->msg, sizeof(p->msg), "key '%s' outside any section", name);
		rc = -EINVAL;
		break;
	}
	if (rc != 0) {
		/* The setters wrote p->msg; record it with this line. */
		p->failed = 1;
		p->err_line = p->line;
		return 0;
	}
	return 1;
}

int hvl_pmm_config_load(struct hvl_pmm_config *c, const char *path, char *err, size_t errlen)
{
	struct hvl_pmm_config tmp;
	struct parse_ctx p;
	int rc;

	hvl_pmm_config_init(&tmp);
	memset(&p, 0, sizeof(p));
	p.c = &tmp;
	tmp.path = strdup(path);
	if (tmp.path == NULL) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p.f = fopen(path, "r");
	if (p.f == NULL) {
		rc = -errno;
		seterr(err, errlen, "%s: %s", path, strerror(-rc));
		hvl_pmm_config_free(&tmp);
		return rc;
	}
	rc = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.f);
	free(p.buf);
	keys_reset(&p);
	free(p.keys);

	if (p.failed) {
		seterr(err, errlen, "%s:%d: %s", path, p.err_line, p.msg);
		rc = -EINVAL;
	} else if (rc > 0) {
		seterr(err, errlen, "%s:%d: syntax error (expected [section], key = value or a comment)",
		       path, rc);
		rc = -EINVAL;
	} else if (rc < 0) {
		seterr(err, errlen, "%s: parse failed", path);
		rc = -ENOMEM;
	} else {
		rc = hvl_pmm_config_finish(&tmp, err, errlen);
	}
	if (rc != 0) {
		hvl_pmm_config_free(&tmp);
		return rc;
	}
	hvl_pmm_config_free(c);
	*c = tmp;
	return 0;
}
