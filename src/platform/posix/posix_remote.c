/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * POSIX port of the remote library (see include/hvl/posix.h).
 *
 * The mapping is placed at a deliberate offset inside a larger address-space
 * reservation so the simulated remote never shares the PMM's addresses:
 * every pointer must travel as a bus address and be translated, as on a
 * real SoC where the two cores see the memory at different addresses.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hvl/linux/fdpass.h"
#include "hvl/posix.h"

#define RESV_SLACK (1u << 20) /* 1 MiB gap before the mapping */

static uint64_t posix_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void posix_relax(void *ctx)
{
	(void)ctx;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ volatile("yield");
#endif
}

const struct hvl_os_ops hvl_posix_os_ops = { posix_now_ms, posix_relax };

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

static int fetch_fds(struct hvl_posix_remote *p, const char *path)
{
	struct sockaddr_un sa;
	int s, rc;

	if (path == NULL || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	rc = hvl_doorbell_fds_fetch(s, &p->tx_fd, &p->rx_fd);
	close(s);
	return rc;
}

/* Map @size bytes of the region file inside a fresh reservation (see the top comment). */
static int map_region(struct hvl_posix_remote *p, size_t size)
{
	uint8_t *resv, *mem;
	size_t resv_len = size + RESV_SLACK;

	resv = mmap(NULL, resv_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (resv == MAP_FAILED)
		return -errno;
	mem = mmap(resv + RESV_SLACK, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, p->fd, 0);
	if (mem == MAP_FAILED) {
		int e = -errno;

		munmap(resv, resv_len);
		return e;
	}
	if (p->resv != NULL)
		munmap(p->resv, p->resv_len);
	p->resv = resv;
	p->resv_len = resv_len;
	p->mem = mem;
	p->size = size;
	return 0;
}

/* Wait for a READY header, then set up the doorbell it names and attach. */
static int attach(struct hvl_posix_remote *p, const char *dbsock, uint64_t bus_base,
		  uint32_t timeout_ms)
{
	const struct hvl_region_hdr *h = (const struct hvl_region_hdr *)(void *)p->mem;
	uint64_t start = posix_now_ms(NULL);
	struct hvl_remote_cfg cfg;
	unsigned kind;
	int rc;

	for (;;) {
		if (hvl_le32_once(&h->magic) == HVL_REGION_MAGIC &&
		    hvl_le32_acquire(&h->pmm_state) == HVL_PMM_STATE_READY)
			break;
		if (posix_now_ms(NULL) - start >= timeout_ms)
			return -ETIMEDOUT;
		sleep_ms(2);
	}
	/*
	 * The file may have been an older, smaller region when we mapped it
	 * (a PMM laying out a new one grows it): follow the header's size.
	 */
	{
		uint64_t rsize = hvl_le64_once(&h->region_size);
		struct stat st;

		if (rsize > p->size && fstat(p->fd, &st) == 0 && (uint64_t)st.st_size >= rsize) {
			rc = map_region(p, (size_t)rsize);
			if (rc != 0)
				return rc;
			h = (const struct hvl_region_hdr *)(void *)p->mem;
		}
	}
	kind = hvl_le32_once(&h->doorbell_kind);
	hvl_doorbell_close(&p->db);
	if (p->tx_fd >= 0)
		close(p->tx_fd);
	if (p->rx_fd >= 0)
		close(p->rx_fd);
	p->tx_fd = p->rx_fd = -1;
	if (kind == HVL_DOORBELL_EVENTFD) {
		rc = fetch_fds(p, dbsock);
		if (rc != 0)
			return rc;
	}
	{
		struct hvl_region_hdr *hw = (struct hvl_region_hdr *)(void *)p->mem;

		rc = hvl_doorbell_open(&p->db, kind, &hw->to_pmm, &hw->to_remote, p->tx_fd, p->rx_fd);
	}
	if (rc != 0)
		return rc;
	memset(&cfg, 0, sizeof(cfg));
	cfg.os = &hvl_posix_os_ops;
	cfg.notify = hvl_doorbell_notifier(&p->db);
	cfg.bus_base = bus_base == UINT64_MAX ? hvl_le64_once(&h->remote_base) : bus_base;
	{
		uint64_t now = posix_now_ms(NULL) - start;

		return hvl_remote_attach(&p->r, p->mem, p->size, &cfg,
					 now >= timeout_ms ? 1u : (uint32_t)(timeout_ms - now));
	}
}

int hvl_posix_remote_open(struct hvl_posix_remote *p, const char *path,
			  const char *doorbell_socket, uint64_t bus_base, uint32_t timeout_ms)
{
	uint64_t start = posix_now_ms(NULL);
	struct stat st;
	int rc;

	memset(p, 0, sizeof(*p));
	p->tx_fd = p->rx_fd = -1;
	p->db.kick_fd = p->db.tx_fd = p->db.rx_fd = -1; /* nothing to close yet */
	/* The PMM creates the file: wait for it to exist and have a header. */
	for (;;) {
		p->fd = open(path, O_RDWR | O_CLOEXEC);
		if (p->fd >= 0 && fstat(p->fd, &st) == 0 && st.st_size >= (off_t)HVL_REGION_HDR_SIZE)
			break;
		if (p->fd >= 0)
			close(p->fd);
		p->fd = -1;
		if (posix_now_ms(NULL) - start >= timeout_ms)
			return -ETIMEDOUT;
		sleep_ms(5);
	}
	rc = map_region(p, (size_t)st.st_size);
	if (rc != 0) {
		close(p->fd);
		p->fd = -1;
		return rc;
	}
	{
		uint64_t el = posix_now_ms(NULL) - start;

		rc = attach(p, doorbell_socket, bus_base,
			    el >= timeout_ms ? 1u : (uint32_t)(timeout_ms - el));
	}
	if (rc != 0)
		hvl_posix_remote_close(p);
	return rc;
}

int hvl_posix_remote_reattach(struct hvl_posix_remote *p, const char *doorbell_socket,
			      uint32_t timeout_ms)
{
	const struct hvl_region_hdr *h = (const struct hvl_region_hdr *)(void *)p->mem;
	uint32_t old = p->r.pmm_epoch;
	uint64_t start = posix_now_ms(NULL), el;

	/*
	 * A PMM killed with SIGKILL leaves READY in the header: wait for a new
	 * epoch, i.e. for the next PMM to have published the region again.
	 */
	while (hvl_le32_acquire(&h->pmm_state) != HVL_PMM_STATE_READY ||
	       hvl_le32_once(&h->epoch) == old) {
		if (posix_now_ms(NULL) - start >= timeout_ms)
			return -ETIMEDOUT;
		sleep_ms(5);
	}
	el = posix_now_ms(NULL) - start;
	return attach(p, doorbell_socket, p->r.bus_base,
		      el >= timeout_ms ? 1u : (uint32_t)(timeout_ms - el));
}

void hvl_posix_remote_close(struct hvl_posix_remote *p)
{
	if (p->r.hdr != NULL)
		hvl_remote_detach(&p->r);
	hvl_doorbell_close(&p->db);
	if (p->tx_fd >= 0)
		close(p->tx_fd);
	if (p->rx_fd >= 0)
		close(p->rx_fd);
	if (p->resv != NULL && p->resv != MAP_FAILED)
		munmap(p->resv, p->resv_len);
	if (p->fd >= 0)
		close(p->fd);
	memset(p, 0, sizeof(*p));
	p->fd = p->tx_fd = p->rx_fd = -1;
	p->db.kick_fd = p->db.tx_fd = p->db.rx_fd = -1;
}
