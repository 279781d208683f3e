/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the virtio-blk backend's request parsing
 * (src/pmm/devices/blk.c), behind the real transport and ring, over a
 * 64 KiB disk image in a private temp directory.  Built on the backend
 * pattern of fuzz_console.c (docs/SECURITY.md "Adding a fuzz target").
 *
 * Input: 4-byte header, then actions (see act()).
 *   hdr[0] bit 0: readonly disk; bits 1-3: queue size log2 (<= 6)
 *   hdr[1] driver features: bit 0 EVENT_IDX, 1 INDIRECT_DESC, 2 DISCARD,
 *          3 WRITE_ZEROES, 4 FLUSH
 *
 * A request action builds what a driver would (header, data segments,
 * status byte) from a few input bytes, so the fuzzer spends its time on
 * field values rather than on ring plumbing; raw stores into the window
 * and raw chains (fzr_post_chain) cover the malformed shapes.
 *
 * Invariants: those of fzr_service(); a status byte the device writes is
 * OK, IOERR or UNSUPP; the image never changes size (the capacity is the
 * disk's edge, nothing is written past it).
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
#include "hvl/wire/blk.h"

extern const struct hvl_pmm_backend hvl_pmm_blk_backend;

#define IMG_SIZE   65536u                  /* 128 sectors */
#define HDR_OFF    FZR_DATA_OFF            /* request header */
#define STATUS_OFF (FZR_DATA_OFF + 64u)    /* status byte */
#define SEG_OFF(i) (FZR_DATA_OFF + 1024u * (1u + (i)))
#define SEG_MAX    1024u
#define STATUS_NONE 0xeeu

struct blk_fz {
	struct fz_remote r;
	struct hvl_pmm pmm;
	struct hvl_pmm_region rg;
	struct hvl_pmm_region_config rcfg;
	struct hvl_pmm_dev_config cfg;
	struct hvl_dev_static st;
	const struct hvl_dev_ops *ops;
	const char *img;
};

static const char *image(void)
{
	const char *p = fake_pmm_path("blk.img");
	int fd;

	if (access(p, F_OK) == 0)
		return p;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	FZ_CHECK(fd >= 0);
	FZ_CHECK(ftruncate(fd, IMG_SIZE) == 0);
	close(fd);
	return p;
}

static const uint32_t types[8] = {
	HVL_BLK_T_IN, HVL_BLK_T_OUT, HVL_BLK_T_FLUSH, HVL_BLK_T_GET_ID,
	HVL_BLK_T_DISCARD, HVL_BLK_T_WRITE_ZEROES, HVL_BLK_T_GET_LIFETIME, 0,
};

/*
 * One request as a driver builds it: header descriptor, 0-3 data segments,
 * status descriptor.  Bytes: type, sector selector, shape, then per segment
 * a length code; DISCARD/WRITE_ZEROES segments start with one range.
 */
static void request(struct blk_fz *bf, struct fz *f)
{
	struct fz_remote *r = &bf->r;
	struct hvl_blk_req_hdr h;
	uint64_t addr[6];
	uint32_t len[6];
	uint16_t flags[6];
	uint8_t t = fz_u8(f), sel = fz_u8(f), shape = fz_u8(f);
	uint32_t type = types[t & 7u];
	uint64_t sector;
	unsigned nseg = shape & 3u, n = 0, i;
	/* A correct driver: data writable for IN and GET_ID; bit 2 flips it. */
	int data_w = (type == HVL_BLK_T_IN || type == HVL_BLK_T_GET_ID) ^ ((shape >> 2) & 1u);

	if ((t & 7u) == 7u)
		type = fz_u32(f);
	sector = (sel & 0x80u) != 0u ? fz_u64(f) : (uint64_t)(sel % 140u); /* 128 sectors */
	memset(&h, 0, sizeof(h));
	hvl_le32_put(&h.type, type);
	hvl_le32_put(&h.reserved, (shape & 0x40u) ? 0xffffffffu : 0u);
	hvl_le64_put(&h.sector, sector);
	memcpy(r->win + HDR_OFF, &h, sizeof(h));
	addr[n] = FZR_WIN_BUS + HDR_OFF;
	len[n] = (shape & 0x10u) ? 8u : sizeof(h); /* bit 4: a short header */
	flags[n++] = 0;
	for (i = 0; i < nseg; i++) {
		uint8_t c = fz_u8(f);
		uint32_t l = (c & 0x80u) ? (uint32_t)(c & 0x7fu) * 9u + 1u : 512u * (1u + (c & 1u));

		if (type == HVL_BLK_T_DISCARD || type == HVL_BLK_T_WRITE_ZEROES) {
			struct hvl_blk_dwz_seg s;

			hvl_le64_put(&s.sector, fz_u8(f));
			hvl_le32_put(&s.num_sectors, fz_u8(f));
			hvl_le32_put(&s.flags, fz_u8(f) & 3u);
			memcpy(r->win + SEG_OFF(i), &s, sizeof(s));
			if ((c & 0x80u) == 0u)
				l = sizeof(s) * (1u + (c & 1u));
		}
		addr[n] = FZR_WIN_BUS + SEG_OFF(i);
		len[n] = l > SEG_MAX ? SEG_MAX : l;
		flags[n++] = data_w ? HVL_VRING_DESC_F_WRITE : 0u;
	}
	r->win[STATUS_OFF] = STATUS_NONE;
	if ((shape & 0x20u) == 0u) { /* bit 5: no status byte at all */
		addr[n] = FZR_WIN_BUS + STATUS_OFF;
		len[n] = 1;
		flags[n++] = HVL_VRING_DESC_F_WRITE;
	}
	(void)fzr_post_descs(r, 0, n, addr, len, flags);
}

static void act(struct blk_fz *bf, struct fz *f)
{
	struct fz_remote *r = &bf->r;
	uint8_t op = fz_u8(f);
	struct stat st;
	int fd;

	switch (op & 7u) {
	case 0:
	case 1:
		request(bf, f);
		break;
	case 2:
		fzr_post_chain(r, f);
		break;
	case 3: /* stores into the window: rings, headers, ranges, data */
		fzr_scribble_window(r, f);
		break;
	case 4:
		fzr_notify(r, fz_u8(f) % HVL_MAX_QUEUES);
		break;
	case 5: /* reset, and a correct driver starts again */
		fzr_restart(r, f, ~0ull, 0);
		break;
	case 6: /* any register or config write */
		fzr_any_write(r, f);
		break;
	default:
		hvl_dev_kick(r->d);
		break;
	}
	fzr_service(r, (op & 0x80u) != 0u);
	/* §5.2.6 status values only (or untouched). */
	FZ_CHECK(r->win[STATUS_OFF] <= HVL_BLK_S_UNSUPP || r->win[STATUS_OFF] == STATUS_NONE ||
		 (op & 7u) >= 2u);
	fd = open(bf->img, O_RDONLY | O_CLOEXEC);
	FZ_CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == (off_t)IMG_SIZE);
	close(fd);
}

/* Driver features from hdr[1]: ring bits and the block bits a driver may take. */
static uint64_t features(uint8_t b)
{
	uint64_t f = 0;

	if (b & 1u)
		f |= HVL_F_EVENT_IDX;
	if (b & 2u)
		f |= HVL_F_INDIRECT_DESC;
	if (b & 4u)
		f |= HVL_BLK_F_DISCARD;
	if (b & 8u)
		f |= HVL_BLK_F_WRITE_ZEROES;
	if (b & 16u)
		f |= HVL_BLK_F_FLUSH;
	return f | HVL_BLK_F_SEG_MAX | HVL_BLK_F_SIZE_MAX | HVL_BLK_F_BLK_SIZE | HVL_BLK_F_RO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct blk_fz *bf;
	struct hvl_window win;
	void *priv = NULL;
	uint8_t h[4];
	unsigned steps = 0;
	uint16_t n;
	int rc;

	bf = calloc(1, sizeof(*bf));
	FZ_CHECK(bf != NULL);
	bf->r.d = calloc(1, sizeof(*bf->r.d));
	FZ_CHECK(bf->r.d != NULL);
	fzr_alloc(&bf->r);
	(void)fz_bytes(&f, h, sizeof(h));
	fake_pmm_init(&bf->pmm);
	fake_pmm_region(&bf->pmm, &bf->rg, &bf->rcfg, HVL_DOORBELL_FUTEX);
	bf->img = image();
	fake_pmm_dev_config(&bf->cfg, "blk0", "path", bf->img, "readonly", (h[0] & 1u) ? "1" : "0",
			    "serial", "fuzz-serial-0123456789", NULL);
	/* A 22-byte serial is refused; the fuzzer exercises that with hdr[0] bit 4. */
	if ((h[0] & 0x10u) == 0u)
		fake_pmm_dev_config(&bf->cfg, "blk0", "path", bf->img, "readonly",
				    (h[0] & 1u) ? "1" : "0", NULL);
	n = (uint16_t)(1u << (((h[0] >> 1) & 7u) % 7u));
	bf->st.device_id = 2;
	bf->st.name = "blk0";
	fzr_static(&bf->st, 1, n, 64u);
	bf->r.d->log = &bf->pmm.log;
	rc = hvl_pmm_blk_backend.create(&bf->pmm, &bf->rg, &bf->cfg, bf->r.d, &bf->st, &bf->ops, &priv);
	if (rc != 0) {
		FZ_CHECK((h[0] & 0x10u) != 0u && priv == NULL);
		goto out;
	}
	win = fzr_window(&bf->r);
	rc = hvl_dev_init(bf->r.d, bf->r.page, &win, &bf->st, bf->ops, priv, fake_pmm_notifier(),
			  &bf->pmm.log);
	FZ_CHECK(rc == 0);
	bf->r.d->now_ms = hvl_pmm_now_ms;
	fzr_bring_up(&bf->r, features(h[1]));

	while (f.n > 0 && steps++ < 2000u)
		act(bf, &f);
	if (getenv("HVL_FUZZ_DEBUG") != NULL)
		fprintf(stderr, "blk: status 0x%x broken %u notify %llu\n", bf->r.d->status,
			bf->r.d->broken, (unsigned long long)bf->r.d->stat_notify);
	hvl_dev_reset(bf->r.d);
	hvl_pmm_blk_backend.destroy(priv);
out:
	fake_pmm_fini(&bf->pmm);
	fzr_free(&bf->r);
	free(bf->r.d);
	free(bf);
	return 0;
}
