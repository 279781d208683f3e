/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One region = one remote core: map its memory, lay it out, publish the
 * header and device pages, and run the device thread that serves them.
 *
 * Publication order (docs/PROTOCOL.md "Start and restart"): pmm_state DOWN,
 * then every PMM-owned byte, then epoch+1, then pmm_state READY with a
 * release store and a doorbell ring.  A remote that sees READY therefore
 * sees a complete header.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hvl/linux/fdpass.h"
#include "hvl/pmm/publish.h"
#include "pmm.h"

/* hvl_doorbell_fds_fetch() expects this tag with the two fds (fdpass.c). */
#define HVL_DOORBELL_FDS_MAGIC 0x42445648u

/* Map physical reserved memory (real SoC).  Needs root and a kernel that
 * leaves the range to /dev/mem (reserved-memory node, no STRICT_DEVMEM
 * block), or a UIO device exposing it. */
static int map_phys(struct hvl_pmm_region *rg, uint64_t phys, uint64_t size)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return -errno;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)phys);
	if (p == MAP_FAILED) {
		int e = -errno;

		close(fd);
		return e;
	}
	rg->mem = p;
	rg->mem_fd = fd;
	return 0;
}

/* Create or reuse the simulation memory file. */
static int map_file(struct hvl_pmm_region *rg, const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	struct stat stt;
	void *p;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &stt) != 0 || (!S_ISREG(stt.st_mode))) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)stt.st_size != size && ftruncate(fd, (off_t)size) != 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;

		close(fd);
		return e;
	}
	rg->mem = p;
	rg->mem_fd = fd;
	return 0;
}

/* Eventfd doorbell: hand our two eventfds to whichever remote connects. */
static void db_accept_cb(void *arg, uint32_t events)
{
	struct hvl_pmm_region *rg = arg;
	int fds[2] = { rg->efd_to_pmm, rg->efd_to_remote };
	uint32_t magic = HVL_DOORBELL_FDS_MAGIC;
	int c;

	(void)events;
	c = accept4(rg->db_listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	/* The remote rings to_pmm and waits on to_remote: fds[0] then fds[1]. */
	if (hvl_fd_send(c, fds, 2, &magic, sizeof(magic)) < 0)
		hvl_logf(&rg->pmm->log, HVL_LOG_WARN, "region %s: passing doorbell fds failed",
			 rg->cfg->name);
	else
		hvl_logf(&rg->pmm->log, HVL_LOG_INFO, "region %s: remote fetched eventfd doorbells",
			 rg->cfg->name);
	close(c);
}

static int setup_eventfd_doorbell(struct hvl_pmm_region *rg)
{
	struct sockaddr_un sa;
	const char *path = rg->cfg->doorbell_socket;

	if (path == NULL || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	rg->efd_to_pmm = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rg->efd_to_remote = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rg->efd_to_pmm < 0 || rg->efd_to_remote < 0)
		return -errno;
	rg->db_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (rg->db_listen_fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	(void)unlink(path);
	if (bind(rg->db_listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(rg->db_listen_fd, 4) != 0)
		return -errno;
	return hvl_pmm_watch(rg->pmm, rg->db_listen_fd, EPOLLIN, db_accept_cb, rg);
}

static int create_devices(struct hvl_pmm_region *rg)
{
	unsigned i;

	rg->dev = calloc(rg->layout.ndev, sizeof(*rg->dev));
	if (rg->dev == NULL)
		return -ENOMEM;
	for (i = 0; i < rg->layout.ndev; i++) {
		struct hvl_pmm_device *pd = &rg->dev[i];
		const struct hvl_layout_dev *ld = &rg->layout.dev[i];
		const struct hvl_pmm_dev_config *dc = &rg->cfg->dev[i];
		struct hvl_dev_static st;
		struct hvl_window win;
		const struct hvl_dev_ops *ops = NULL;
		int rc;

		pd->cfg = dc;
		pd->be = hvl_pmm_backend_find(dc->type->name);
		if (pd->be == NULL) {
			hvl_logf(&rg->pmm->log, HVL_LOG_ERROR,
				 "region %s: device %s: type '%s' has no backend in this PMM",
				 rg->cfg->name, dc->name, dc->type->name);
			return -ENOTSUP;
		}
		hvl_dev_static_from_layout(&st, &win, rg->mem, &rg->layout, i);
		st.name = dc->name;
		/* The transport state must exist before create() keeps a pointer to it. */
		pd->dev.log = &rg->pmm->log;
		rc = pd->be->create(rg->pmm, rg, dc, &pd->dev, &st, &ops, &pd->priv);
		if (rc != 0) {
			hvl_logf(&rg->pmm->log, HVL_LOG_ERROR, "region %s: device %s: backend failed: %s",
				 rg->cfg->name, dc->name, strerror(-rc));
			pd->be = NULL;
			return rc;
		}
		rc = hvl_dev_init(&pd->dev, rg->mem + ld->regs_offset, &win, &st, ops, pd->priv,
				  rg->notifier, &rg->pmm->log);
		if (rc != 0)
			return rc;
		pd->dev.now_ms = hvl_pmm_now_ms;
		pd->dev.polled = rg->cfg->doorbell == HVL_DOORBELL_POLL ? 1u : 0u;
		pd->dev.kicker = rg->notifier;
		rg->ndev++;
		hvl_logf(&rg->pmm->log, HVL_LOG_INFO,
			 "region %s: device %s (%s, virtio id %u) page 0x%llx window 0x%llx+0x%llx",
			 rg->cfg->name, dc->name, dc->type->name, st.device_id,
			 (unsigned long long)(rg->cfg->remote_base + ld->regs_offset),
			 (unsigned long long)win.bus, (unsigned long long)win.size);
	}
	return 0;
}

/*
 * Fault injection for tests (fault_drop_doorbell_pct): a notifier that loses
 * a share of our rings, like a flaky inter-core interrupt.  The remote must
 * still make progress through its watchdog slices, and we through ours.
 * Rings happen on the device thread only, so the generator needs no lock.
 */
static void fault_ring(void *ctx)
{
	struct hvl_pmm_region *rg = ctx;

	rg->fault_rng = rg->fault_rng * 6364136223846793005ull + 1442695040888963407ull;
	if ((uint32_t)(rg->fault_rng >> 33) % 100u < rg->cfg->fault_drop_pct) {
		rg->rings_dropped++;
		return;
	}
	hvl_doorbell_ops.ring(&rg->db);
}

static int fault_wait(void *ctx, uint32_t timeout_ms)
{
	return hvl_doorbell_ops.wait(&((struct hvl_pmm_region *)ctx)->db, timeout_ms);
}

static void fault_kick(void *ctx)
{
	hvl_doorbell_ops.kick(&((struct hvl_pmm_region *)ctx)->db);
}

static const struct hvl_notify_ops fault_notify_ops = { fault_ring, fault_wait, fault_kick };

int hvl_pmm_region_open(struct hvl_pmm *p, struct hvl_pmm_region *rg,
			const struct hvl_pmm_region_config *cfg)
{
	char err[256];
	int rc;

	memset(rg, 0, sizeof(*rg));
	rg->pmm = p;
	rg->cfg = cfg;
	rg->mem_fd = -1;
	rg->efd_to_pmm = rg->efd_to_remote = rg->db_listen_fd = -1;
	rg->db.kick_fd = rg->db.tx_fd = rg->db.rx_fd = -1; /* nothing to close yet */
	rc = hvl_pmm_region_layout(cfg, &rg->layout, err, sizeof(err));
	if (rc != 0) {
		hvl_logf(&p->log, HVL_LOG_ERROR, "region %s: %s", cfg->name, err);
		return rc;
	}
	rg->size = rg->layout.region_size;
	if (cfg->mem == HVL_PMM_MEM_PHYS)
		rc = map_phys(rg, cfg->phys, rg->size);
	else
		rc = map_file(rg, cfg->file, rg->size);
	if (rc != 0) {
		hvl_logf(&p->log, HVL_LOG_ERROR, "region %s: cannot map %s: %s", cfg->name,
			 cfg->mem == HVL_PMM_MEM_PHYS ? "/dev/mem" : cfg->file, strerror(-rc));
		return rc;
	}
	rg->hdr = (struct hvl_region_hdr *)(void *)rg->mem;

	{
		struct hvl_region_info info = { cfg->name, cfg->index, cfg->doorbell,
						cfg->heartbeat_ms, (uint32_t)getpid() };

		if (hvl_region_prepare(rg->mem, &rg->layout, &info))
			hvl_logf(&p->log, HVL_LOG_INFO,
				 "region %s: same layout as before, remote state kept", cfg->name);
	}

	/* The eventfd doorbell needs its fds (and the socket serving them) first. */
	rc = cfg->doorbell == HVL_DOORBELL_EVENTFD ? setup_eventfd_doorbell(rg) : 0;
	if (rc == 0)
		rc = hvl_doorbell_open(&rg->db, cfg->doorbell, &rg->hdr->to_remote,
				       &rg->hdr->to_pmm, rg->efd_to_remote, rg->efd_to_pmm);
	if (rc != 0) {
		hvl_logf(&p->log, HVL_LOG_ERROR, "region %s: doorbell setup failed: %s", cfg->name,
			 strerror(-rc));
		return rc;
	}
	rg->notifier = hvl_doorbell_notifier(&rg->db);
	if (cfg->fault_drop_pct != 0u) {
		rg->notifier.ops = &fault_notify_ops;
		rg->notifier.ctx = rg;
		rg->fault_rng = (uint64_t)getpid();
		hvl_logf(&p->log, HVL_LOG_WARN, "region %s: fault injection: dropping %u%% of doorbell rings",
			 cfg->name, cfg->fault_drop_pct);
	}
	return create_devices(rg);
}

/* The device thread: serve, heartbeat, sleep on the doorbell. */
static void *region_thread(void *arg)
{
	struct hvl_pmm_region *rg = arg;
	/* heartbeat_ms 0 turns the heartbeat off; the watchdog still runs. */
	uint32_t hb_ms = rg->cfg->heartbeat_ms != 0 ? rg->cfg->heartbeat_ms : 1000u;
	uint64_t next_hb = hvl_pmm_now_ms() + hb_ms;
	int force = 1;

	while (!__atomic_load_n(&rg->stop, __ATOMIC_ACQUIRE)) {
		int work = 0;
		uint64_t t;
		unsigned i;

		for (i = 0; i < rg->ndev; i++)
			work += hvl_dev_service(&rg->dev[i].dev, force);
		force = 0;
		rg->loops++;
		t = hvl_pmm_now_ms();
		if (t >= next_hb) {
			/*
			 * Heartbeat, and the watchdog pass: every live queue is
			 * looked at once per period, so a lost doorbell delays
			 * work by at most one period instead of forever.
			 */
			if (rg->cfg->heartbeat_ms != 0) {
				rg->heartbeat++;
				hvl_le32_release(&rg->hdr->heartbeat, rg->heartbeat);
			}
			for (i = 0; i < rg->ndev; i++)
				hvl_dev_refresh(&rg->dev[i].dev);
			next_hb = t + hb_ms;
			force = 1;
			continue;
		}
		if (work != 0)
			continue;
		if (hvl_notify_wait(&rg->notifier, (uint32_t)(next_hb - t)) == -ETIMEDOUT)
			rg->timeouts++;
		else
			rg->wakeups++;
	}
	return NULL;
}

int hvl_pmm_region_start(struct hvl_pmm_region *rg)
{
	int rc;

	hvl_region_set_ready(rg->mem);
	/*
	 * Wake a remote already waiting for us, before the device thread
	 * exists: the doorbell's ring side is single-threaded from then on.
	 */
	hvl_notify_ring(&rg->notifier);
	rc = pthread_create(&rg->thread, NULL, region_thread, rg);
	if (rc != 0)
		return -rc;
	rg->thread_started = 1;
	hvl_logf(&rg->pmm->log, HVL_LOG_INFO,
		 "region %s: ready, epoch %u, %u device(s), %llu bytes at remote 0x%llx, %s doorbell",
		 rg->cfg->name, hvl_le32_get(&rg->hdr->epoch), rg->ndev,
		 (unsigned long long)rg->size, (unsigned long long)rg->cfg->remote_base,
		 hvl_doorbell_kind_name(rg->cfg->doorbell));
	return 0;
}

void hvl_pmm_region_close(struct hvl_pmm_region *rg)
{
	unsigned i;

	if (rg->hdr != NULL)
		hvl_region_set_down(rg->mem);
	if (rg->thread_started) {
		__atomic_store_n(&rg->stop, 1u, __ATOMIC_RELEASE);
		if (rg->db.kind != 0 || rg->notifier.ops != NULL)
			rg->notifier.ops->kick(rg->notifier.ctx);
		pthread_join(rg->thread, NULL);
		rg->thread_started = 0;
	}
	for (i = 0; i < rg->ndev; i++) {
		struct hvl_pmm_device *pd = &rg->dev[i];
		char line[256] = "";

		hvl_dev_reset(&pd->dev);
		if (pd->be != NULL && pd->be->stats != NULL)
			pd->be->stats(pd->priv, line, sizeof(line));
		hvl_logf(&rg->pmm->log, HVL_LOG_INFO,
			 "region %s: device %s: %llu transactions, %llu notifications, %llu interrupts, %llu faults%s%s",
			 rg->cfg->name, pd->dev.name, (unsigned long long)pd->dev.stat_txn,
			 (unsigned long long)pd->dev.stat_notify, (unsigned long long)pd->dev.stat_irq,
			 (unsigned long long)pd->dev.stat_faults, line[0] ? ", " : "", line);
	}
	if (rg->rings_dropped != 0u)
		hvl_logf(&rg->pmm->log, HVL_LOG_INFO, "region %s: fault injection dropped %llu ring(s)",
			 rg->cfg->name, (unsigned long long)rg->rings_dropped);
	if (rg->notifier.ops != NULL)
		hvl_notify_ring(&rg->notifier);
	/* Backends whose create() failed midway still get destroyed. */
	if (rg->dev != NULL) {
		for (i = 0; i < rg->layout.ndev; i++)
			if (rg->dev[i].be != NULL && rg->dev[i].be->destroy != NULL)
				rg->dev[i].be->destroy(rg->dev[i].priv);
		free(rg->dev);
		rg->dev = NULL;
	}
	if (rg->db_listen_fd >= 0) {
		hvl_pmm_unwatch(rg->pmm, rg->db_listen_fd);
		close(rg->db_listen_fd);
		if (rg->cfg->doorbell_socket != NULL)
			(void)unlink(rg->cfg->doorbell_socket);
	}
	hvl_doorbell_close(&rg->db);
	if (rg->efd_to_pmm >= 0)
		close(rg->efd_to_pmm);
	if (rg->efd_to_remote >= 0)
		close(rg->efd_to_remote);
	if (rg->mem != NULL)
		munmap(rg->mem, rg->size);
	if (rg->mem_fd >= 0)
		close(rg->mem_fd);
	rg->mem = NULL;
	rg->mem_fd = -1;
}
