/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device side of the register protocol over shared memory.
 *
 * The virtio-MMIO block (virtio 1.2 §4.2.2) lives in RAM, so nothing traps:
 * the PMM owns the block and the remote only loads from it.  Register writes
 * arrive as transactions in the remote-owned driver area (txn_seq/off/val);
 * we apply each exactly once, mirror the new register state into the block,
 * and release-store txn_ack so a read after the write sees the new values.
 * Everything read from the driver area is loaded once into a local and
 * validated there (STYLE.md 7, 12).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hvl/pmm/dev.h"

#define RL_BURST 10u
#define RL_PERIOD_MS 5000u

static void reg_put(struct hvl_dev *d, uint32_t off, uint32_t val)
{
	hvl_le32_set(&d->regs[off / 4u], val);
}

static uint64_t now(const struct hvl_dev *d)
{
	return d->now_ms != NULL ? d->now_ms() : 0;
}

/* Log a peer-triggered event, rate limited so a hostile remote cannot flood us. */
static void peer_log(struct hvl_dev *d, enum hvl_log_level lvl, const char *fmt, ...) HVL_PRINTF(3, 4);
static void peer_log(struct hvl_dev *d, enum hvl_log_level lvl, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!hvl_ratelimit_ok(&d->rl, now(d), RL_BURST, RL_PERIOD_MS))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hvl_logf(d->log, lvl, "%s: %s", d->name, msg);
}

/* Publish QueueNumMax/QueueNum/QueueReady/addresses of the selected queue. */
static void publish_queue_regs(struct hvl_dev *d)
{
	uint32_t sel = d->queue_sel;
	const struct hvl_dev_queue *q;

	if (sel >= d->st.num_queues) {
		/* §4.2.2: QueueNumMax 0 tells the driver the queue is not available. */
		reg_put(d, HVL_MMIO_QUEUE_NUM_MAX, 0);
		reg_put(d, HVL_MMIO_QUEUE_NUM, 0);
		reg_put(d, HVL_MMIO_QUEUE_READY, 0);
		reg_put(d, HVL_MMIO_QUEUE_DESC_LOW, 0);
		reg_put(d, HVL_MMIO_QUEUE_DESC_HIGH, 0);
		reg_put(d, HVL_MMIO_QUEUE_DRIVER_LOW, 0);
		reg_put(d, HVL_MMIO_QUEUE_DRIVER_HIGH, 0);
		reg_put(d, HVL_MMIO_QUEUE_DEVICE_LOW, 0);
		reg_put(d, HVL_MMIO_QUEUE_DEVICE_HIGH, 0);
		return;
	}
	q = &d->q[sel];
	reg_put(d, HVL_MMIO_QUEUE_NUM_MAX, d->st.queue_num_max[sel]);
	reg_put(d, HVL_MMIO_QUEUE_NUM, q->num);
	reg_put(d, HVL_MMIO_QUEUE_READY, q->ready);
	reg_put(d, HVL_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
	reg_put(d, HVL_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
	reg_put(d, HVL_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->driver);
	reg_put(d, HVL_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->driver >> 32));
	reg_put(d, HVL_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->device);
	reg_put(d, HVL_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->device >> 32));
}

static void publish_features(struct hvl_dev *d)
{
	uint32_t v = 0;

	if (d->dfeat_sel == 0)
		v = (uint32_t)d->st.features;
	else if (d->dfeat_sel == 1)
		v = (uint32_t)(d->st.features >> 32);
	reg_put(d, HVL_MMIO_DEVICE_FEATURES, v);
	reg_put(d, HVL_MMIO_DEVICE_FEATURES_SEL, d->dfeat_sel);
}

static void publish_shm(struct hvl_dev *d)
{
	uint64_t len = HVL_SHM_NONE, base = HVL_SHM_NONE;

	/* SHM id 0 is the device's window (virtio 1.2 §2.10, §4.2.2). */
	if (d->shm_sel == HVL_SHM_ID_WINDOW) {
		len = d->win.size;
		base = d->win.bus;
	}
	reg_put(d, HVL_MMIO_SHM_SEL, d->shm_sel);
	reg_put(d, HVL_MMIO_SHM_LEN_LOW, (uint32_t)len);
	reg_put(d, HVL_MMIO_SHM_LEN_HIGH, (uint32_t)(len >> 32));
	reg_put(d, HVL_MMIO_SHM_BASE_LOW, (uint32_t)base);
	reg_put(d, HVL_MMIO_SHM_BASE_HIGH, (uint32_t)(base >> 32));
}

static void publish_status(struct hvl_dev *d)
{
	reg_put(d, HVL_MMIO_STATUS, d->status);
}

/*
 * Config space is published under a seqlock-like generation: odd while the
 * bytes change, so a driver that reads generation, config, generation and
 * sees the same even value has a consistent copy (§4.2.2 ConfigGeneration).
 */
static void publish_config(struct hvl_dev *d, uint32_t off, uint32_t len)
{
	uint8_t *cfg = d->page + HVL_MMIO_CONFIG;
	uint32_t i;

	d->config_gen++;
	hvl_le32_set(&d->regs[HVL_MMIO_CONFIG_GENERATION / 4u], d->config_gen);
	/* The odd generation must be visible before any new byte (store-store). */
	hvl_wmb();
	for (i = off; i < off + len; i++)
		__atomic_store_n(&cfg[i], d->config[i], __ATOMIC_RELAXED);
	d->config_gen++;
	/* Pairs with the driver's acquire load of ConfigGeneration after its copy. */
	hvl_le32_release(&d->regs[HVL_MMIO_CONFIG_GENERATION / 4u], d->config_gen);
}

/* Return every register and queue to its initial, static state. */
static void load_initial_state(struct hvl_dev *d)
{
	unsigned i;

	d->status = 0;
	d->dfeat_sel = 0;
	d->drvfeat_sel = 0;
	d->queue_sel = 0;
	d->shm_sel = 0;
	d->drv_features_regs = 0;
	d->drv_features_written = 0;
	d->features = 0;
	d->broken = HVL_BROKEN_NONE;
	for (i = 0; i < HVL_MAX_QUEUES; i++) {
		struct hvl_dev_queue *q = &d->q[i];

		q->ready = 0;
		q->num = i < d->st.num_queues ? d->st.queue_num[i] : 0;
		q->desc = d->st.queue_desc[i];
		q->driver = d->st.queue_driver[i];
		q->device = d->st.queue_device[i];
		memset(&q->vq, 0, sizeof(q->vq));
	}
	memset(d->config, 0, sizeof(d->config));
	if (d->st.config != NULL)
		memcpy(d->config, d->st.config, d->st.config_size);

	reg_put(d, HVL_MMIO_MAGIC_VALUE, HVL_MMIO_MAGIC);
	reg_put(d, HVL_MMIO_VERSION, HVL_MMIO_VERSION2);
	reg_put(d, HVL_MMIO_DEVICE_ID, d->st.device_id);
	reg_put(d, HVL_MMIO_VENDOR_ID, HVL_VENDOR_ID);
	reg_put(d, HVL_MMIO_DRIVER_FEATURES, 0);
	reg_put(d, HVL_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_put(d, HVL_MMIO_QUEUE_SEL, 0);
	reg_put(d, HVL_MMIO_QUEUE_NOTIFY, 0);
	reg_put(d, HVL_MMIO_INTERRUPT_STATUS, 0);
	reg_put(d, HVL_MMIO_INTERRUPT_ACK, 0);
	reg_put(d, HVL_MMIO_QUEUE_RESET, 0);
	publish_features(d);
	publish_queue_regs(d);
	publish_shm(d);
	publish_status(d);
	publish_config(d, 0, HVL_CONFIG_MAX);
	hvl_le32_set(&d->ext->broken_reason, HVL_BROKEN_NONE);
}

/* The hvl extension's static description (PROTOCOL.md "Static start"). */
static void publish_ext(struct hvl_dev *d)
{
	const struct hvl_dev_static *st = &d->st;
	unsigned i;

	hvl_le32_set(&d->ext->magic, HVL_EXT_MAGIC);
	hvl_le32_set(&d->ext->num_queues, st->num_queues);
	hvl_le64_set(&d->ext->device_features, st->features);
	hvl_le64_set(&d->ext->window_base, d->win.bus);
	hvl_le64_set(&d->ext->window_size, d->win.size);
	hvl_le32_set(&d->ext->config_size, st->config_size);
	hvl_le32_set(&d->ext->data_offset, (uint32_t)(st->data_bus - d->win.bus));
	for (i = 0; i < HVL_MAX_QUEUES; i++) {
		struct hvl_ext_queue *eq = &d->ext->queue[i];
		int live = i < st->num_queues;

		hvl_le16_set(&eq->num_max, live ? st->queue_num_max[i] : 0);
		hvl_le16_set(&eq->num, live ? st->queue_num[i] : 0);
		hvl_le64_set(&eq->desc, live ? st->queue_desc[i] : 0);
		hvl_le64_set(&eq->driver, live ? st->queue_driver[i] : 0);
		hvl_le64_set(&eq->device, live ? st->queue_device[i] : 0);
	}
}

void hvl_dev_refresh(struct hvl_dev *d)
{
	/*
	 * Everything here is a pure function of our private state, so storing
	 * it again is harmless, and it undoes a stray write by a faulty remote
	 * (or a bit flip) to memory only we own: the remote can always find
	 * the device again and reset it.
	 */
	reg_put(d, HVL_MMIO_MAGIC_VALUE, HVL_MMIO_MAGIC);
	reg_put(d, HVL_MMIO_VERSION, HVL_MMIO_VERSION2);
	reg_put(d, HVL_MMIO_DEVICE_ID, d->st.device_id);
	reg_put(d, HVL_MMIO_VENDOR_ID, HVL_VENDOR_ID);
	publish_features(d);
	publish_queue_regs(d);
	publish_shm(d);
	publish_status(d);
	publish_ext(d);
	hvl_le32_set(&d->ext->broken_reason, d->broken);
}

/*
 * After a reset nobody uses the rings, so clear the pre-assigned ones: a
 * queue the next driver leaves alone, which static start brings up at
 * DRIVER_OK, then reads avail->idx 0 instead of a stale index.
 */
static void zero_static_rings(struct hvl_dev *d)
{
	unsigned i;

	for (i = 0; i < d->st.num_queues; i++) {
		uint16_t n = d->st.queue_num[i];
		void *p;

		p = hvl_window_translate(&d->win, d->st.queue_desc[i], hvl_vring_desc_size(n));
		if (p != NULL)
			memset(p, 0, hvl_vring_desc_size(n));
		p = hvl_window_translate(&d->win, d->st.queue_driver[i], hvl_vring_avail_size(n));
		if (p != NULL)
			memset(p, 0, hvl_vring_avail_size(n));
		p = hvl_window_translate(&d->win, d->st.queue_device[i], hvl_vring_used_size(n));
		if (p != NULL)
			memset(p, 0, hvl_vring_used_size(n));
	}
}

int hvl_dev_init(struct hvl_dev *d, void *page, const struct hvl_window *win,
		 const struct hvl_dev_static *st, const struct hvl_dev_ops *ops, void *priv,
		 struct hvl_notifier to_remote, const struct hvl_logger *log)
{
	unsigned i;

	if (st->num_queues == 0 || st->num_queues > HVL_MAX_QUEUES ||
	    st->config_size > HVL_CONFIG_MAX || ops == NULL || ops->queue == NULL ||
	    st->data_bus < win->bus || st->data_bus - win->bus > UINT32_MAX)
		return -EINVAL; /* ext.data_offset is 32 bits on the wire */
	memset(d, 0, sizeof(*d));
	d->st = *st;
	d->st.features |= HVL_F_VERSION_1;
	snprintf(d->name, sizeof(d->name), "%s", st->name != NULL ? st->name : "dev");
	d->page = page;
	d->regs = page;
	d->ext = (struct hvl_ext *)(void *)(d->page + HVL_EXT_OFFSET);
	d->drv = (struct hvl_drv_area *)(void *)(d->page + HVL_DRV_AREA_OFFSET);
	d->win = *win;
	d->ops = ops;
	d->priv = priv;
	d->to_remote = to_remote;
	d->log = log;

	publish_ext(d);

	/*
	 * Remote-owned words are left alone; what they hold now is the baseline.
	 * A PMM restarted under a live remote must not replay a transaction or
	 * a notification the previous instance already handled.
	 */
	d->txn_seen = hvl_le32_acquire(&d->drv->txn_seq);
	for (i = 0; i < HVL_MAX_QUEUES; i++)
		d->q[i].notify_seen = hvl_le32_once(&d->drv->notify[i]);
	d->irq_used = hvl_le32_once(&d->ext->irq_used);
	d->irq_config = hvl_le32_once(&d->ext->irq_config);
	d->isr_ack_used = d->irq_used;
	d->isr_ack_config = d->irq_config;
	d->config_gen = hvl_le32_once(&d->regs[HVL_MMIO_CONFIG_GENERATION / 4u]) & ~1u;
	load_initial_state(d);
	/*
	 * A previous session's rings are void too: whatever the remote had in
	 * flight died with the old PMM, and it re-initialises its devices when
	 * it sees the new epoch.
	 */
	zero_static_rings(d);
	/*
	 * A transaction posted to a previous PMM instance that died before
	 * acknowledging it stays unacknowledged: applying it to a fresh device
	 * would be wrong, and acknowledging it would report a result nobody
	 * computed.  The driver times out and notices the new epoch.
	 */
	return 0;
}

/*
 * InterruptStatus for drivers that use the registers (§4.2.2): a bit is set
 * while its counter moved past both acknowledgements, the driver-area word
 * (irq_*_ack, our protocol) and an InterruptACK transaction (plain MMIO).
 */
static void publish_isr(struct hvl_dev *d)
{
	uint32_t ua = hvl_le32_once(&d->drv->irq_used_ack);
	uint32_t ca = hvl_le32_once(&d->drv->irq_config_ack);
	uint32_t bits = 0;

	if (d->irq_used != ua && d->irq_used != d->isr_ack_used)
		bits |= HVL_INT_VRING;
	if (d->irq_config != ca && d->irq_config != d->isr_ack_config)
		bits |= HVL_INT_CONFIG;
	if (bits != d->isr_published) {
		d->isr_published = bits;
		reg_put(d, HVL_MMIO_INTERRUPT_STATUS, bits);
	}
}

void hvl_dev_interrupt(struct hvl_dev *d, uint32_t bits)
{
	if ((bits & HVL_INT_VRING) != 0u) {
		d->irq_used++;
		/* Pairs with the driver's acquire load of irq_used: used ring first. */
		hvl_le32_release(&d->ext->irq_used, d->irq_used);
	}
	if ((bits & HVL_INT_CONFIG) != 0u) {
		d->irq_config++;
		hvl_le32_release(&d->ext->irq_config, d->irq_config);
	}
	publish_isr(d);
	d->stat_irq++;
	hvl_notify_ring(&d->to_remote);
}

/* Does queue @q's driver want an interrupt for its pushes?  Records the decision. */
static int vq_wants_interrupt(struct hvl_dev *d, unsigned q)
{
	if (q >= d->st.num_queues || !d->q[q].ready)
		return 0;
	/* Poll doorbell: an interrupt is a few plain stores; skip the fence and decide nothing. */
	return d->polled ? hvl_vq_dev_mark_signalled(&d->q[q].vq) : hvl_vq_dev_need_interrupt(&d->q[q].vq);
}

void hvl_dev_vq_interrupt(struct hvl_dev *d, unsigned q)
{
	if (vq_wants_interrupt(d, q))
		hvl_dev_interrupt(d, HVL_INT_VRING);
}

void hvl_dev_vqs_interrupt(struct hvl_dev *d, uint32_t qmask)
{
	int want = 0;
	unsigned q;

	/* Every queue decides (each records its own suppression state), then one interrupt. */
	for (q = 0; q < HVL_MAX_QUEUES && qmask != 0u; q++, qmask >>= 1)
		if ((qmask & 1u) != 0u && vq_wants_interrupt(d, q))
			want = 1;
	if (want)
		hvl_dev_interrupt(d, HVL_INT_VRING);
}

void hvl_dev_fail(struct hvl_dev *d, uint32_t reason, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->stat_faults++;
	peer_log(d, HVL_LOG_WARN, "protocol violation, DEVICE_NEEDS_RESET: %s", msg);
	if ((d->status & HVL_STATUS_DEVICE_NEEDS_RESET) != 0u)
		return;
	d->broken = reason;
	d->status |= HVL_STATUS_DEVICE_NEEDS_RESET;
	hvl_le32_set(&d->ext->broken_reason, reason);
	publish_status(d);
	/* §2.1.2: the device MUST send a configuration change notification. */
	hvl_dev_interrupt(d, HVL_INT_CONFIG);
}

int hvl_dev_live(const struct hvl_dev *d)
{
	return (d->status & (HVL_STATUS_DRIVER_OK | HVL_STATUS_DEVICE_NEEDS_RESET |
			     HVL_STATUS_FAILED)) == HVL_STATUS_DRIVER_OK;
}

struct hvl_vq_dev *hvl_dev_vq(struct hvl_dev *d, unsigned q)
{
	if (q >= d->st.num_queues || !d->q[q].ready || !hvl_dev_live(d))
		return NULL;
	return &d->q[q].vq;
}

int hvl_dev_pop(struct hvl_dev *d, unsigned q, struct hvl_chain *c)
{
	struct hvl_vq_dev *vq = hvl_dev_vq(d, q);
	int r;

	if (vq == NULL)
		return 0;
	r = hvl_vq_dev_pop(vq, c);
	if (r < 0)
		hvl_dev_fail(d, r == -EFAULT ? HVL_BROKEN_ADDRESS : HVL_BROKEN_RING,
			     "queue %u: %s", q, hvl_vq_fault_str(vq->fault));
	return r;
}

void hvl_dev_config_set(struct hvl_dev *d, uint32_t off, const void *data, uint32_t len, int notify)
{
	if (off > d->st.config_size || len > d->st.config_size - off)
		return; /* our own bug, not the peer's: nothing to publish */
	memcpy(d->config + off, data, len);
	publish_config(d, off, len);
	if (notify)
		hvl_dev_interrupt(d, HVL_INT_CONFIG);
}

void hvl_dev_kick(struct hvl_dev *d)
{
	__atomic_store_n(&d->kick_pending, 1u, __ATOMIC_RELEASE);
	if (d->kicker.ops != NULL && d->kicker.ops->kick != NULL)
		d->kicker.ops->kick(d->kicker.ctx);
}

void hvl_dev_reset(struct hvl_dev *d)
{
	/* Drain first: the backend forgets chains it holds before rings vanish. */
	if (d->ops->reset != NULL)
		d->ops->reset(d);
	load_initial_state(d);
	zero_static_rings(d);
	/* Interrupts raised before the reset are void (§2.1: reset clears ISR). */
	d->isr_ack_used = d->irq_used;
	d->isr_ack_config = d->irq_config;
	publish_isr(d);
	hvl_le32_set(&d->ext->reset_count, hvl_le32_once(&d->ext->reset_count) + 1u);
	hvl_logf(d->log, HVL_LOG_DEBUG, "%s: reset", d->name);
}

/* Bring queue @i live with its current (register or static) geometry. */
static int enable_queue(struct hvl_dev *d, unsigned i)
{
	struct hvl_dev_queue *q = &d->q[i];

	if (q->num == 0 || q->num > d->st.queue_num_max[i]) {
		hvl_dev_fail(d, HVL_BROKEN_QUEUE_SETUP, "queue %u: size %u outside 1..%u", i,
			     q->num, d->st.queue_num_max[i]);
		return -EINVAL;
	}
	if (hvl_vq_dev_init(&q->vq, &d->win, q->num, q->desc, q->driver, q->device,
			    d->features, NULL, NULL) != 0) {
		hvl_dev_fail(d, HVL_BROKEN_QUEUE_SETUP,
			     "queue %u: bad geometry (size %u, desc 0x%llx, driver 0x%llx, device 0x%llx)",
			     i, q->num, (unsigned long long)q->desc, (unsigned long long)q->driver,
			     (unsigned long long)q->device);
		return -EINVAL;
	}
	q->ready = 1;
	/* Notifications before readiness are stale; only count from here on. */
	q->notify_seen = hvl_le32_once(&d->drv->notify[i]);
	return 0;
}

/* FEATURES_OK: accept the driver's features if they are a subset (§3.1.1). */
static int accept_features(struct hvl_dev *d)
{
	uint64_t f = d->drv_features_written ? d->drv_features_regs
					      : hvl_le64_once(&d->drv->driver_features);

	if ((f & ~d->st.features) != 0u || (f & HVL_F_VERSION_1) == 0u) {
		peer_log(d, HVL_LOG_WARN, "refusing features 0x%llx (offered 0x%llx)",
			 (unsigned long long)f, (unsigned long long)d->st.features);
		return -EINVAL;
	}
	d->features = f;
	return 0;
}

static int write_status(struct hvl_dev *d, uint32_t val)
{
	uint32_t old = d->status & ~HVL_STATUS_DEVICE_NEEDS_RESET;
	uint32_t added = val & ~old;
	unsigned i;

	if (val == 0) {
		hvl_dev_reset(d);
		return 0;
	}
	if ((val & ~(HVL_STATUS_ACKNOWLEDGE | HVL_STATUS_DRIVER | HVL_STATUS_DRIVER_OK |
		     HVL_STATUS_FEATURES_OK | HVL_STATUS_FAILED)) != 0u && (val & HVL_STATUS_DEVICE_NEEDS_RESET) == 0u) {
		/* §2.1: bits virtio does not define are a driver bug; do not show them as state. */
		hvl_dev_fail(d, HVL_BROKEN_REGISTER, "status 0x%x has undefined bits", val);
		return -EINVAL;
	}
	if ((val & HVL_STATUS_DEVICE_NEEDS_RESET) != 0u || (old & ~val) != 0u) {
		/* §2.1.2: only a reset may clear bits; NEEDS_RESET is the device's. */
		hvl_dev_fail(d, HVL_BROKEN_REGISTER, "status 0x%x -> 0x%x clears bits without reset",
			     old, val);
		return -EINVAL;
	}
	if ((added & HVL_STATUS_FAILED) != 0u) {
		d->status |= HVL_STATUS_FAILED;
		publish_status(d);
		hvl_logf(d->log, HVL_LOG_WARN, "%s: driver set FAILED", d->name);
		return 0;
	}
	if ((d->status & HVL_STATUS_DEVICE_NEEDS_RESET) != 0u)
		return -EIO; /* nothing but a reset helps now */
	if ((added & HVL_STATUS_FEATURES_OK) != 0u && accept_features(d) != 0) {
		/* Leave FEATURES_OK clear: the driver reads it back and gives up (§3.1.1). */
		val &= ~(HVL_STATUS_FEATURES_OK | HVL_STATUS_DRIVER_OK);
		added &= ~(HVL_STATUS_FEATURES_OK | HVL_STATUS_DRIVER_OK);
	}
	if ((added & HVL_STATUS_DRIVER_OK) != 0u) {
		if ((val & HVL_STATUS_FEATURES_OK) == 0u) {
			hvl_dev_fail(d, HVL_BROKEN_REGISTER, "DRIVER_OK without FEATURES_OK");
			return -EINVAL;
		}
		/*
		 * Static start: queues the driver did not set up through the
		 * registers go live at their pre-assigned location.
		 */
		d->status = val & ~HVL_STATUS_DRIVER_OK;
		for (i = 0; i < d->st.num_queues; i++)
			if (!d->q[i].ready && enable_queue(d, i) != 0)
				return -EINVAL;
		d->status = val;
		publish_status(d);
		publish_queue_regs(d);
		if (d->ops->driver_ok != NULL && d->ops->driver_ok(d) != 0) {
			hvl_dev_fail(d, HVL_BROKEN_REGISTER, "device refused DRIVER_OK");
			return -EIO;
		}
		hvl_logf(d->log, HVL_LOG_INFO, "%s: driver ok, features 0x%llx", d->name,
			 (unsigned long long)d->features);
		return 0;
	}
	d->status = val;
	publish_status(d);
	return 0;
}

/* A write to a queue register: only while the queue is not live (§4.2.3.2). */
static int write_queue_reg(struct hvl_dev *d, uint32_t off, uint32_t val)
{
	struct hvl_dev_queue *q;

	if (d->queue_sel >= d->st.num_queues) {
		if (off == HVL_MMIO_QUEUE_READY && val != 0u) {
			hvl_dev_fail(d, HVL_BROKEN_REGISTER, "QueueReady on missing queue %u",
				     d->queue_sel);
			return -EINVAL;
		}
		return -EINVAL;
	}
	q = &d->q[d->queue_sel];
	if (off == HVL_MMIO_QUEUE_READY) {
		if (val == 0 && q->ready && (d->status & HVL_STATUS_DRIVER_OK) != 0u) {
			/*
			 * Taking a live queue away needs VIRTIO_F_RING_RESET
			 * (§2.6.1), which we do not offer: the backend may hold
			 * chains of this ring.  Only a device reset may do it.
			 */
			hvl_dev_fail(d, HVL_BROKEN_REGISTER, "QueueReady=0 on live queue %u",
				     d->queue_sel);
			return -EINVAL;
		}
		if (val == 0) {
			q->ready = 0;
		} else if (!q->ready) {
			if ((d->status & HVL_STATUS_FEATURES_OK) == 0u) {
				hvl_dev_fail(d, HVL_BROKEN_REGISTER, "QueueReady before FEATURES_OK");
				return -EINVAL;
			}
			if (enable_queue(d, d->queue_sel) != 0)
				return -EINVAL;
		}
		publish_queue_regs(d);
		return 0;
	}
	if (q->ready)
		return -EBUSY;
	switch (off) {
	case HVL_MMIO_QUEUE_NUM:
		/* Validated when the queue is enabled; a bad size fails it then. */
		q->num = val > 0xffffu ? 0 : (uint16_t)val;
		break;
	case HVL_MMIO_QUEUE_DESC_LOW:
		q->desc = (q->desc & ~(uint64_t)0xffffffffu) | val;
		break;
	case HVL_MMIO_QUEUE_DESC_HIGH:
		q->desc = (q->desc & 0xffffffffu) | ((uint64_t)val << 32);
		break;
	case HVL_MMIO_QUEUE_DRIVER_LOW:
		q->driver = (q->driver & ~(uint64_t)0xffffffffu) | val;
		break;
	case HVL_MMIO_QUEUE_DRIVER_HIGH:
		q->driver = (q->driver & 0xffffffffu) | ((uint64_t)val << 32);
		break;
	case HVL_MMIO_QUEUE_DEVICE_LOW:
		q->device = (q->device & ~(uint64_t)0xffffffffu) | val;
		break;
	case HVL_MMIO_QUEUE_DEVICE_HIGH:
		q->device = (q->device & 0xffffffffu) | ((uint64_t)val << 32);
		break;
	default:
		return -EINVAL;
	}
	publish_queue_regs(d);
	return 0;
}

/* Dispatch queue @i to the backend if its notify counter moved (or forced). */
static int dispatch_queue(struct hvl_dev *d, unsigned i, int force)
{
	uint32_t n = hvl_le32_once(&d->drv->notify[i]);

	if (n == d->q[i].notify_seen && !force)
		return 0;
	d->q[i].notify_seen = n;
	if (!hvl_dev_live(d) || !d->q[i].ready) {
		if (!force)
			peer_log(d, HVL_LOG_DEBUG, "notify on queue %u while not live, ignored", i);
		return 0;
	}
	d->stat_notify++;
	d->ops->queue(d, i);
	return 1;
}

/* Apply one register write; returns 0 or a positive errno for txn_result. */
static int apply_write(struct hvl_dev *d, uint32_t off, uint32_t val, uint32_t size)
{
	if (off >= HVL_MMIO_CONFIG) {
		uint32_t coff = off - HVL_MMIO_CONFIG;

		if ((size != 1u && size != 2u && size != 4u) || (coff % size) != 0u ||
		    coff >= d->st.config_size || size > d->st.config_size - coff) {
			peer_log(d, HVL_LOG_WARN, "config write of %u bytes at 0x%x refused", size, coff);
			return EINVAL;
		}
		if (d->ops->config_write == NULL)
			return EPERM; /* read-only config space */
		return d->ops->config_write(d, coff, val, size) == 0 ? 0 : EINVAL;
	}
	if (size != 4u || (off % 4u) != 0u)
		return EINVAL;
	switch (off) {
	case HVL_MMIO_DEVICE_FEATURES_SEL:
		d->dfeat_sel = val;
		publish_features(d);
		return 0;
	case HVL_MMIO_DRIVER_FEATURES_SEL:
		d->drvfeat_sel = val;
		reg_put(d, HVL_MMIO_DRIVER_FEATURES_SEL, val);
		return 0;
	case HVL_MMIO_DRIVER_FEATURES:
		if ((d->status & HVL_STATUS_FEATURES_OK) != 0u || d->drvfeat_sel > 1u)
			return EINVAL;
		if (d->drvfeat_sel == 0)
			d->drv_features_regs = (d->drv_features_regs & ~(uint64_t)0xffffffffu) | val;
		else
			d->drv_features_regs = (d->drv_features_regs & 0xffffffffu) | ((uint64_t)val << 32);
		d->drv_features_written = 1;
		reg_put(d, HVL_MMIO_DRIVER_FEATURES, val);
		return 0;
	case HVL_MMIO_QUEUE_SEL:
		/* Any value is accepted; a missing queue reads QueueNumMax 0. */
		d->queue_sel = val;
		reg_put(d, HVL_MMIO_QUEUE_SEL, val);
		publish_queue_regs(d);
		return 0;
	case HVL_MMIO_QUEUE_NUM:
	case HVL_MMIO_QUEUE_READY:
	case HVL_MMIO_QUEUE_DESC_LOW:
	case HVL_MMIO_QUEUE_DESC_HIGH:
	case HVL_MMIO_QUEUE_DRIVER_LOW:
	case HVL_MMIO_QUEUE_DRIVER_HIGH:
	case HVL_MMIO_QUEUE_DEVICE_LOW:
	case HVL_MMIO_QUEUE_DEVICE_HIGH:
		return -write_queue_reg(d, off, val);
	case HVL_MMIO_QUEUE_NOTIFY:
		if (val >= d->st.num_queues) {
			peer_log(d, HVL_LOG_WARN, "QueueNotify for missing queue %u ignored", val);
			return EINVAL;
		}
		(void)dispatch_queue(d, val, 1);
		return 0;
	case HVL_MMIO_INTERRUPT_ACK:
		/* The library acks in the driver area; plain MMIO drivers land here. */
		if ((val & HVL_INT_VRING) != 0u)
			d->isr_ack_used = d->irq_used;
		if ((val & HVL_INT_CONFIG) != 0u)
			d->isr_ack_config = d->irq_config;
		publish_isr(d);
		return 0;
	case HVL_MMIO_STATUS:
		return -write_status(d, val);
	case HVL_MMIO_SHM_SEL:
		d->shm_sel = val;
		publish_shm(d);
		return 0;
	default:
		peer_log(d, HVL_LOG_WARN, "write to read-only or unknown register 0x%03x ignored", off);
		return EINVAL;
	}
}

int hvl_dev_service(struct hvl_dev *d, int all_queues)
{
	int work = 0;
	uint32_t seq;
	unsigned i;

	/* Pairs with the driver's release store of txn_seq after txn_off/val. */
	seq = hvl_le32_acquire(&d->drv->txn_seq);
	if (seq != d->txn_seen) {
		uint32_t off = hvl_le32_once(&d->drv->txn_off);
		uint32_t val = hvl_le32_once(&d->drv->txn_val);
		uint32_t size = hvl_le32_once(&d->drv->txn_size);
		int r;

		/*
		 * One transaction per sequence number, whatever it jumped by: the
		 * mailbox holds only the latest write, and the driver waits for
		 * each ack before posting the next.
		 */
		d->txn_seen = seq;
		r = apply_write(d, off, val, size);
		d->stat_txn++;
		hvl_le32_set(&d->ext->txn_result, (uint32_t)(r < 0 ? -r : r));
		/* Pairs with the driver's acquire load of txn_ack: registers first. */
		hvl_le32_release(&d->ext->txn_ack, seq);
		hvl_notify_ring(&d->to_remote);
		work++;
	}
	if (__atomic_exchange_n(&d->kick_pending, 0u, __ATOMIC_ACQ_REL) != 0u &&
	    d->ops->poll != NULL) {
		d->ops->poll(d);
		work++;
	}
	for (i = 0; i < d->st.num_queues; i++)
		work += dispatch_queue(d, i, all_queues);
	publish_isr(d); /* follow driver-area acks */
	/* Counters of queues that do not exist are a peer fault; skip them. */
	return work;
}
