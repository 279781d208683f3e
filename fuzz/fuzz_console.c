/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the console backend's request handling
 * (src/pmm/devices/console.c) behind the real transport and ring.
 *
 * The backend runs unmodified: it is created through its struct
 * hvl_pmm_backend with the "file" backend writing into a FIFO whose reader
 * we hold (so its output can block with EAGAIN and the flow-control path,
 * the held transmit chain and its EPOLLOUT watch, all run).  The PMM around
 * it is a minimal fake (fake_pmm.c): a struct hvl_pmm with a real epoll fd
 * and the few daemon functions a backend calls; a "main loop turn" action
 * runs epoll_wait and the backend's fd callbacks on this thread.
 * Console input is stuffed into the backend's input buffer directly (the
 * harness includes console_priv.h), as the main thread's reader would.
 *
 * Input: 4-byte header, then actions (see act()).
 *   hdr[0] bits 0-2: queue size log2 (<= 6)
 *   hdr[1] driver features: bit 0 EVENT_IDX, bit 1 INDIRECT_DESC
 *   hdr[2] bit 0: the FIFO holds 4 KiB (else 64 KiB)
 *
 * Invariants: those of fzr_service() after every step, every guard zone
 * untouched, no leak (each run creates and destroys the backend), no more
 * bytes read from the FIFO than the backend reports written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_pmm.h"
#include "fuzz_remote.h"
#include "fuzz_util.h"
#include "devices/console_priv.h"

extern const struct hvl_pmm_backend hvl_pmm_console_backend;

/* ------------------------------------------------------------- one run */

struct con_fz {
	struct fz_remote r;
	struct hvl_pmm pmm;
	struct hvl_pmm_region rg;
	struct hvl_pmm_region_config rcfg;
	struct hvl_pmm_dev_config cfg;
	struct hvl_dev_static st;
	const struct hvl_dev_ops *ops;
	struct con *c;
	int reader;          /* our end of the FIFO */
	uint64_t drained;    /* bytes read from it */
	uint8_t buf[65536];
};

static void drain(struct con_fz *cf)
{
	ssize_t n;

	do {
		n = read(cf->reader, cf->buf, sizeof(cf->buf));
		if (n > 0)
			cf->drained += (uint64_t)n;
	} while (n > 0);
}

/* Console input: what the main thread's reader puts in the buffer, then a kick. */
static void input(struct con_fz *cf, struct fz *f)
{
	struct con *c = cf->c;
	size_t n = fz_u8(f), k;

	pthread_mutex_lock(&c->lock);
	for (k = 0; k < n && c->icount < CON_IBUF_SIZE; k++) {
		c->ibuf[(c->ihead + c->icount) % CON_IBUF_SIZE] = fz_u8(f);
		c->icount++;
	}
	pthread_mutex_unlock(&c->lock);
	hvl_dev_kick(cf->r.d);
}

static void act(struct con_fz *cf, struct fz *f)
{
	struct fz_remote *r = &cf->r;
	uint8_t op = fz_u8(f);
	uint32_t off, val;

	switch (op & 15u) {
	case 0:
	case 1:
		fzr_post_chain(r, f);
		break;
	case 2:
		fzr_notify(r, fz_u8(f) % HVL_MAX_QUEUES);
		break;
	case 3:
		input(cf, f);
		break;
	case 4:
		drain(cf);
		break;
	case 5:
		fake_pmm_loop_turn(&cf->pmm);
		break;
	case 6: /* stores into the window: rings and data */
		fzr_scribble_window(r, f);
		break;
	case 7: /* emerg_wr and other config writes */
		off = HVL_MMIO_CONFIG + (fz_u8(f) % 16u);
		val = fz_u32(f);
		fzr_txn(r, off, val, 1u << (fz_u8(f) % 3u), 1);
		break;
	case 8: /* reset, and a correct driver starts again */
		fzr_restart(r, f, HVL_F_INDIRECT_DESC | HVL_F_EVENT_IDX, 0);
		break;
	case 9: /* any register write */
		off = fz_u16(f) % 0x400u;
		val = fz_u32(f);
		fzr_txn(r, off, val, 4, 1);
		break;
	case 10:
		hvl_dev_kick(r->d);
		break;
	default:
		break;
	}
	fzr_service(r, (op & 0x80u) != 0u);
}

static const char *fifo_path(void)
{
	const char *p = fake_pmm_path("console-out");

	if (access(p, F_OK) != 0)
		FZ_CHECK(mkfifo(p, 0600) == 0);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct con_fz *cf;
	struct hvl_window win;
	void *priv = NULL;
	uint8_t h[4];
	unsigned steps = 0;
	uint16_t n;
	int rc;

	cf = calloc(1, sizeof(*cf));
	FZ_CHECK(cf != NULL);
	cf->r.d = calloc(1, sizeof(*cf->r.d));
	FZ_CHECK(cf->r.d != NULL);
	fzr_alloc(&cf->r);
	(void)fz_bytes(&f, h, sizeof(h));
	fake_pmm_init(&cf->pmm);
	fake_pmm_region(&cf->pmm, &cf->rg, &cf->rcfg, HVL_DOORBELL_FUTEX);

	/* Our end first: opening the writer of a FIFO nobody reads would block. */
	cf->reader = open(fifo_path(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	FZ_CHECK(cf->reader >= 0);
	if (h[2] & 1u)
		(void)fcntl(cf->reader, F_SETPIPE_SZ, 4096);
	fake_pmm_dev_config(&cf->cfg, "console0", "backend", "file", "path", fifo_path(), NULL);
	n = (uint16_t)(1u << ((h[0] & 7u) % 7u));
	cf->st.device_id = 3;
	cf->st.name = "console0";
	fzr_static(&cf->st, HVL_CONSOLE_NUM_QUEUES, n, 64u);
	cf->r.d->log = &cf->pmm.log;
	rc = hvl_pmm_console_backend.create(&cf->pmm, &cf->rg, &cf->cfg, cf->r.d, &cf->st, &cf->ops, &priv);
	FZ_CHECK(rc == 0 && priv != NULL);
	cf->c = priv;
	win = fzr_window(&cf->r);
	rc = hvl_dev_init(cf->r.d, cf->r.page, &win, &cf->st, cf->ops, priv, fake_pmm_notifier(),
			  &cf->pmm.log);
	FZ_CHECK(rc == 0);
	cf->r.d->now_ms = hvl_pmm_now_ms;
	fzr_bring_up(&cf->r, ((uint64_t)(h[1] & 3u)) << HVL_F_INDIRECT_DESC_BIT);

	while (f.n > 0 && steps++ < 2000u) {
		act(cf, &f);
		FZ_CHECK(cf->drained <= cf->c->bytes_out);
	}
	drain(cf);
	if (getenv("HVL_FUZZ_DEBUG") != NULL) /* to check what a seed reaches */
		fprintf(stderr, "console: status 0x%x broken %u out %llu/%llu chains %llu in chains %llu "
			"emerg %llu dropped %llu held %d\n", cf->r.d->status, cf->r.d->broken,
			(unsigned long long)cf->c->bytes_out, (unsigned long long)cf->drained,
			(unsigned long long)cf->c->chains_out, (unsigned long long)cf->c->chains_in,
			(unsigned long long)cf->c->emerg, (unsigned long long)cf->c->dropped,
			cf->c->tx_held);

	/* Shutdown as the region does it: reset, then destroy. */
	hvl_dev_reset(cf->r.d);
	hvl_pmm_console_backend.destroy(priv);
	fake_pmm_fini(&cf->pmm);
	close(cf->reader);
	fzr_free(&cf->r);
	free(cf->r.d);
	free(cf);
	return 0;
}
