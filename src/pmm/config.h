/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-pmm configuration: regions (one per remote core), each with devices.
 * The file format is documented in docs/CONFIG.md; this header is the
 * in-memory form, shared by the INI loader and by programmatic building
 * (hvl-pmm run with flags only).
 *
 * Building a configuration by hand:
 *
 *	struct hvl_pmm_config c;
 *	hvl_pmm_config_init(&c);
 *	r = hvl_pmm_config_add_region(&c, "rt0", err, sizeof(err));
 *	hvl_pmm_region_set(r, "file", "/dev/shm/hvl-rt0", err, sizeof(err));
 *	d = hvl_pmm_region_add_device(r, "console", NULL, err, sizeof(err));
 *	hvl_pmm_dev_set(d, "backend", "stdio", err, sizeof(err));
 *	if (hvl_pmm_config_finish(&c, err, sizeof(err)) < 0) ...
 *	...
 *	hvl_pmm_config_free(&c);
 *
 * Every setter takes the same keys and value syntax as the file, so both
 * paths validate identically.  Functions return 0 or a negative errno and
 * put a one-line message (no trailing newline) in @err.
 */
#ifndef HVL_PMM_CONFIG_H
#define HVL_PMM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hvl/layout.h"
#include "hvl/log.h"
#include "hvl/wire/region.h"

#define HVL_PMM_MAX_REGIONS    16u
#define HVL_PMM_REGION_NAME_MAX 16u  /* incl. NUL: region header name[16] */
#define HVL_PMM_DEV_NAME_MAX   32u   /* incl. NUL: device table name[32] */
#define HVL_PMM_MAX_OPTS       16u   /* device-specific key/value pairs */
#define HVL_PMM_OPT_KEY_MAX    32u   /* incl. NUL */
#define HVL_PMM_OPT_VAL_MAX    256u  /* incl. NUL */

/* Defaults (docs/CONFIG.md). */
#define HVL_PMM_DEFAULT_QUEUE_SIZE   256u
#define HVL_PMM_DEFAULT_HEARTBEAT_MS 100u

/* A device type known to the configuration: name, virtio ID, defaults. */
struct hvl_pmm_dev_type {
	const char *name;          /* "console", "blk", ... */
	uint32_t device_id;        /* virtio device ID, virtio 1.2 §5 */
	uint32_t default_queues;   /* when neither "queues" nor a type rule applies */
	uint64_t default_data_size;
	/* Device-specific keys this type accepts (NULL-terminated), or NULL
	 * to accept any key until the type's backend exists. */
	const char *const *opts;
};

/* Where the region's memory comes from. */
enum hvl_pmm_mem_kind {
	HVL_PMM_MEM_UNSET = 0,
	HVL_PMM_MEM_FILE,  /* a file (e.g. /dev/shm/...), created/truncated by the PMM */
	HVL_PMM_MEM_PHYS,  /* physical reserved memory: parsed, not yet supported at run time */
};

struct hvl_pmm_dev_opt {
	char key[HVL_PMM_OPT_KEY_MAX];
	char value[HVL_PMM_OPT_VAL_MAX];
	int line;                  /* file line, 0 = built */
};

struct hvl_pmm_dev_config {
	char name[HVL_PMM_DEV_NAME_MAX];       /* "console0" (section "rt0.console0") */
	const struct hvl_pmm_dev_type *type;   /* NULL until "type" is set */
	uint32_t device_id;                    /* == type->device_id */
	/* Resolved by hvl_pmm_config_finish(): */
	uint32_t num_queues;
	uint16_t queue_size[HVL_MAX_QUEUES];
	uint64_t data_size;                    /* bytes (the layout rounds up to 4 KiB) */
	/* Device-specific keys, for the backend; see hvl_pmm_dev_opt(). */
	unsigned nopts;
	struct hvl_pmm_dev_opt opt[HVL_PMM_MAX_OPTS];

	/* Requested values, kept so that key order in the file does not matter. */
	uint32_t req_queues;                   /* "queues", 0 = type default */
	int req_queues_line;
	uint16_t req_queue_size;               /* "queue_size", 0 = default */
	uint16_t req_qsize[HVL_MAX_QUEUES];    /* "queue_size.N", 0 = unset */
	int req_qsize_line[HVL_MAX_QUEUES];
	int data_size_set;
	int line;                              /* section line in the file, 0 = built */
};

struct hvl_pmm_region_config {
	char name[HVL_PMM_REGION_NAME_MAX];
	unsigned index;                        /* position in the configuration */
	enum hvl_pmm_mem_kind mem;
	char *file;                            /* HVL_PMM_MEM_FILE: path (heap) */
	uint64_t phys;                         /* HVL_PMM_MEM_PHYS: physical address */
	uint64_t size;                         /* bytes, 0 = as small as fits */
	uint64_t remote_base;                  /* remote's bus address of offset 0 */
	uint32_t doorbell;                     /* HVL_DOORBELL_POLL/FUTEX/EVENTFD */
	char *doorbell_socket;                 /* eventfd only (heap), else NULL */
	uint32_t heartbeat_ms;
	uint32_t fault_drop_pct;               /* test only: share of doorbell rings dropped */
	unsigned ndev;
	struct hvl_pmm_dev_config *dev;        /* ndev entries (heap) */
	unsigned dev_cap;
	int line;                              /* section line in the file, 0 = built */
};

/*
 * One whole configuration.  Pointers into region[] and region[].dev[] stay
 * valid only until the next add_region/add_device call (arrays may move);
 * after hvl_pmm_config_finish() they are stable.
 */
struct hvl_pmm_config {
	enum hvl_log_level log_level;          /* default HVL_LOG_INFO */
	int sandbox;                           /* enum hvl_sandbox_mode, default off */
	unsigned nregions;
	struct hvl_pmm_region_config *region;  /* nregions entries (heap) */
	char *path;                            /* source file for messages, or NULL */
};

/* Device type table lookups; NULL if unknown. */
const struct hvl_pmm_dev_type *hvl_pmm_dev_type_find(const char *name);
const struct hvl_pmm_dev_type *hvl_pmm_dev_type_by_id(uint32_t device_id);

/* Empty configuration with defaults; allocates nothing. */
void hvl_pmm_config_init(struct hvl_pmm_config *c);

/* Free everything a configuration owns and re-initialise it. */
void hvl_pmm_config_free(struct hvl_pmm_config *c);

/*
 * Parse the INI file @path and finish it (hvl_pmm_config_finish).  On
 * success *@c (which must be initialised; its old contents are freed) is
 * replaced; on error *@c is untouched and @err reads "path:line: message".
 */
int hvl_pmm_config_load(struct hvl_pmm_config *c, const char *path, char *err, size_t errlen);

/* Set a [pmm] key ("log_level"). */
int hvl_pmm_config_set(struct hvl_pmm_config *c, const char *key, const char *value,
		       char *err, size_t errlen);

/* Add a region with default settings; NULL (and @err) on a bad/duplicate name or too many. */
struct hvl_pmm_region_config *hvl_pmm_config_add_region(struct hvl_pmm_config *c,
							 const char *name,
							 char *err, size_t errlen);

/* Find a region by name, or NULL. */
struct hvl_pmm_region_config *hvl_pmm_config_region(struct hvl_pmm_config *c, const char *name);

/* Set a region key: file, phys, size, remote_base, doorbell, doorbell_socket, heartbeat_ms. */
int hvl_pmm_region_set(struct hvl_pmm_region_config *r, const char *key, const char *value,
		       char *err, size_t errlen);

/*
 * Add a device to @r.  @type may be NULL (set it later with the "type" key);
 * @name NULL picks "<type><n>", the first free of console0, console1, ...
 * (which needs @type).  Returns NULL (and @err) on a bad/duplicate name,
 * unknown type or a full device table.
 */
struct hvl_pmm_dev_config *hvl_pmm_region_add_device(struct hvl_pmm_region_config *r,
						     const char *type, const char *name,
						     char *err, size_t errlen);

/*
 * Set a device key: type, queues, queue_size, queue_size.N, data_size; any
 * other key is stored as a device-specific option for the backend.
 */
int hvl_pmm_dev_set(struct hvl_pmm_dev_config *d, const char *key, const char *value,
		    char *err, size_t errlen);

/* Set several keys from "key=value,key=value" (handy for command-line flags). */
int hvl_pmm_dev_set_list(struct hvl_pmm_dev_config *d, const char *list, char *err, size_t errlen);

/* Device-specific option @key, or NULL if not set. */
const char *hvl_pmm_dev_opt(const struct hvl_pmm_dev_config *d, const char *key);

/*
 * Resolve defaults (queue counts and sizes) and check the whole
 * configuration, including that every region's layout fits.  Call once
 * after building by hand; hvl_pmm_config_load() calls it itself.
 */
int hvl_pmm_config_finish(struct hvl_pmm_config *c, char *err, size_t errlen);

/* Build the layout of a finished region (device order = configuration order). */
int hvl_pmm_region_layout(const struct hvl_pmm_region_config *r, struct hvl_layout *l,
			  char *err, size_t errlen);

/* Parse a byte count: decimal or 0x hex, optional K/M/G suffix (x1024^n). */
int hvl_pmm_parse_size(const char *s, uint64_t *out);

/* Parse an unsigned 64-bit number: decimal or 0x hex, nothing else. */
int hvl_pmm_parse_u64(const char *s, uint64_t *out);

/* Names for messages. */
const char *hvl_pmm_doorbell_name(uint32_t doorbell);
const char *hvl_pmm_log_level_name(enum hvl_log_level level);

#endif /* HVL_PMM_CONFIG_H */
