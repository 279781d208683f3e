/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device host: one region served by the calling thread (devhost.h).  The
 * same steps as hvl-pmm's region set-up and device thread (src/pmm/
 * region.c), without the daemon around them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hvl/devhost.h"
#include "hvl/pmm/publish.h"

static uint64_t dh_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int map_region(struct hvl_devhost *h, const char *path, char *err, size_t errlen)
{
	struct stat st;
	void *p;

	h->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (h->fd < 0) {
		int e = errno;

		(void)snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(h->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s is not a regular file", path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size != h->size && ftruncate(h->fd, (off_t)h->size) != 0) {
		int e = errno;

		(void)snprintf(err, errlen, "cannot size %s to %llu bytes: %s", path,
			       (unsigned long long)h->size, strerror(e));
		return -e;
	}
	p = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		(void)snprintf(err, errlen, "cannot map %s: %s", path, strerror(e));
		return -e;
	}
	h->mem = p;
	return 0;
}

int hvl_devhost_open(struct hvl_devhost *h, const char *path, unsigned doorbell,
		     const struct hvl_devhost_dev *devs, unsigned n, const struct hvl_logger *log,
		     char *err, size_t errlen)
{
	struct hvl_layout_dev_cfg dc[HVL_DEVHOST_MAX_DEV];
	struct hvl_region_hdr *hdr;
	unsigned i, q;
	int rc;

	if (h == NULL || path == NULL || devs == NULL || n == 0u || n > HVL_DEVHOST_MAX_DEV ||
	    (doorbell != HVL_DOORBELL_FUTEX && doorbell != HVL_DOORBELL_POLL)) {
		(void)snprintf(err, errlen, "bad arguments (1..%u devices, futex or poll doorbell)",
			       HVL_DEVHOST_MAX_DEV);
		return -EINVAL;
	}
	(void)memset(h, 0, sizeof(*h));
	h->fd = -1;
	(void)memset(dc, 0, sizeof(dc));
	for (i = 0; i < n; i++) {
		if (devs[i].ops == NULL || devs[i].name == NULL || devs[i].num_queues == 0u ||
		    devs[i].num_queues > HVL_MAX_QUEUES) {
			(void)snprintf(err, errlen, "device %u: no ops, no name or bad queue count", i);
			return -EINVAL;
		}
		dc[i].device_id = devs[i].device_id;
		(void)snprintf(dc[i].name, sizeof(dc[i].name), "%s", devs[i].name);
		dc[i].num_queues = devs[i].num_queues;
		for (q = 0; q < devs[i].num_queues; q++)
			dc[i].queue_size[q] = devs[i].queue_size;
		dc[i].data_size = devs[i].data_size;
	}
	/* Bus addresses are region offsets: the remote sees the region at 0. */
	rc = hvl_layout_compute(&h->layout, 0, 0, dc, n, err, errlen);
	if (rc != 0)
		return rc;
	h->size = h->layout.region_size;
	rc = map_region(h, path, err, errlen);
	if (rc != 0) {
		hvl_devhost_close(h);
		return rc;
	}
	hdr = (struct hvl_region_hdr *)(void *)h->mem;
	{
		struct hvl_region_info info = { "devhost", 0u, doorbell, HVL_DEVHOST_HEARTBEAT_MS,
						(uint32_t)getpid() };

		(void)hvl_region_prepare(h->mem, &h->layout, &info);
	}
	rc = hvl_doorbell_open(&h->db, doorbell, &hdr->to_remote, &hdr->to_pmm, -1, -1);
	if (rc != 0) {
		(void)snprintf(err, errlen, "doorbell: %s", strerror(-rc));
		hvl_devhost_close(h);
		return rc;
	}
	h->notifier = hvl_doorbell_notifier(&h->db);
	for (i = 0; i < n; i++) {
		struct hvl_dev_static st;
		struct hvl_window win;

		hvl_dev_static_from_layout(&st, &win, h->mem, &h->layout, i);
		st.name = devs[i].name;
		st.features = devs[i].features;
		st.config = devs[i].config;
		st.config_size = devs[i].config_size;
		h->dev[i].log = log;
		rc = hvl_dev_init(&h->dev[i], h->mem + h->layout.dev[i].regs_offset, &win, &st,
				  devs[i].ops, devs[i].priv, h->notifier, log);
		if (rc != 0) {
			(void)snprintf(err, errlen, "device %s: bad static description", devs[i].name);
			hvl_devhost_close(h);
			return rc;
		}
		h->dev[i].now_ms = dh_now_ms;
		h->dev[i].polled = doorbell == HVL_DOORBELL_POLL ? 1u : 0u;
		h->dev[i].kicker = h->notifier;
		h->ndev++;
	}
	h->is_open = 1u;
	h->force = 1u;
	h->next_hb_ms = dh_now_ms() + HVL_DEVHOST_HEARTBEAT_MS;
	hvl_region_set_ready(h->mem);
	hvl_notify_ring(&h->notifier); /* a remote may already wait for READY */
	return 0;
}

int hvl_devhost_service(struct hvl_devhost *h, uint32_t wait_ms)
{
	int work = 0;
	unsigned i;
	uint64_t t;

	if (h == NULL || h->is_open == 0u)
		return 0;
	for (i = 0; i < h->ndev; i++)
		work += hvl_dev_service(&h->dev[i], h->force);
	h->force = 0u;
	/* The clock is read every 64 passes of a spinning caller, and before a sleep. */
	h->loops++;
	if (wait_ms == 0u && (h->loops & 63u) != 0u)
		return work;
	t = dh_now_ms();
	if (t >= h->next_hb_ms) {
		/* Heartbeat and watchdog pass, as hvl-pmm's device thread does. */
		h->heartbeat++;
		hvl_le32_release(&((struct hvl_region_hdr *)(void *)h->mem)->heartbeat, h->heartbeat);
		for (i = 0; i < h->ndev; i++)
			hvl_dev_refresh(&h->dev[i]);
		h->next_hb_ms = t + HVL_DEVHOST_HEARTBEAT_MS;
		h->force = 1u;
		return work + 1;
	}
	if (work != 0 || wait_ms == 0u)
		return work;
	if (wait_ms > h->next_hb_ms - t)
		wait_ms = (uint32_t)(h->next_hb_ms - t);
	if (hvl_notify_wait(&h->notifier, wait_ms) == -ETIMEDOUT)
		h->timeouts++;
	else
		h->wakeups++;
	/* A wake-up may stand for a notification we did not see as a counter. */
	h->force = 1u;
	return 0;
}

struct hvl_dev *hvl_devhost_dev(struct hvl_devhost *h, unsigned i)
{
	if (h == NULL || i >= h->ndev)
		return NULL;
	return &h->dev[i];
}

void hvl_devhost_close(struct hvl_devhost *h)
{
	unsigned i;

	if (h == NULL)
		return;
	if (h->mem != NULL && h->is_open != 0u) {
		for (i = 0; i < h->ndev; i++)
			hvl_dev_reset(&h->dev[i]);
		hvl_region_set_down(h->mem);
		hvl_notify_ring(&h->notifier);
	}
	if (h->notifier.ops != NULL)
		hvl_doorbell_close(&h->db);
	if (h->mem != NULL)
		(void)munmap(h->mem, h->size);
	if (h->fd >= 0)
		(void)close(h->fd);
	(void)memset(h, 0, sizeof(*h));
	h->fd = -1;
}
