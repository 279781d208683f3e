/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault injection against the real hvl-pmm, through the console:
 *
 *  A. the remote process is killed mid-I/O and a new one starts: it resets
 *     and re-opens the console and its data arrives; the PMM kept nothing;
 *  B. the PMM is killed with SIGKILL under load and restarted on the same
 *     region: the remote notices (epoch), re-attaches, re-opens, and every
 *     line whose write it saw acknowledged (flush returned) is in the output;
 *  C. doorbells dropped at random in both directions (30 %): traffic still
 *     completes and no stall exceeds a bounded watchdog interval;
 *  D. random bit flips in the console's registers and rings during traffic:
 *     no crash of either side, errors reported, and a reset recovers;
 *  E. the PMM is SIGKILLed while a remote writes a file through 9p with an
 *     fsync after every chunk: every acknowledged byte is in the host file.
 *
 * Usage: test_faults PATH_TO_HVL_PMM
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/9p.h"
#include "hvl/console.h"
#include "hvl/posix.h"

#define BUS 0x70000000ull

struct env {
	char dir[PATH_MAX], cfg[PATH_MAX + 32], region[PATH_MAX + 32], log[PATH_MAX + 32];
	char sock[PATH_MAX + 32];
	char *pmm_bin;
	pid_t pmm;
};

static struct env E;
static _Alignas(8) uint8_t con_storage[HVL_CONSOLE_STORAGE(256)];

static void write_cfg(unsigned drop_pct)
{
	char text[3 * PATH_MAX + 512];

	snprintf(text, sizeof(text),
		 "[region rt0]\nfile = %s\nremote_base = 0x%llx\ndoorbell = futex\nheartbeat_ms = 50\n"
		 "fault_drop_doorbell_pct = %u\n"
		 "[device rt0.console0]\ntype = console\nbackend = socket\npath = %s\n",
		 E.region, (unsigned long long)BUS, drop_pct, E.sock);
	if (h_write_file(E.cfg, text) != 0)
		exit(1);
}

static void start_pmm(void)
{
	char *argv[] = { E.pmm_bin, "-c", E.cfg, NULL };

	E.pmm = h_spawn(argv, E.log);
}

static int stop_pmm(void)
{
	kill(E.pmm, SIGTERM);
	return h_wait_exit(E.pmm, 5000);
}

/* Read from @fd until @needle is in the stream or @ms pass; 0 if found. */
static int read_until(int fd, const char *needle, unsigned ms, size_t *total)
{
	static char buf[1 << 16];
	char tail[256] = "";
	uint64_t end = h_now_ms() + ms;

	while (h_now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		char joined[sizeof(tail) + sizeof(buf)];
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			return -1;
		buf[n] = '\0';
		if (total != NULL)
			*total += (size_t)n;
		snprintf(joined, sizeof(joined), "%s%s", tail, buf);
		if (strstr(joined, needle) != NULL)
			return 0;
		snprintf(tail, sizeof(tail), "%s", joined + (strlen(joined) > 200 ? strlen(joined) - 200 : 0));
	}
	return -1;
}

/* ---------------------------------------------------------------- A */

static int remote_chatter(void)
{
	struct hvl_posix_remote pr;
	struct hvl_console con;
	static char chunk[4096];
	unsigned i;

	if (hvl_posix_remote_open(&pr, E.region, NULL, BUS, 10000) != 0 ||
	    hvl_console_open(&con, &pr.r, 0, con_storage, sizeof(con_storage)) != 0)
		return 10;
	memset(chunk, 'a', sizeof(chunk));
	for (i = 0;; i++)
		if (hvl_console_write(&con, chunk, sizeof(chunk), 5000) < 0)
			return 11; /* keeps going until killed */
}

static int remote_second_life(void)
{
	struct hvl_posix_remote pr;
	struct hvl_console con;
	int rc;

	rc = hvl_posix_remote_open(&pr, E.region, NULL, BUS, 10000);
	if (rc == 0) {
		/*
		 * After a storm of bit flips the PMM restores its own words
		 * within one heartbeat; until then the header may not validate.
		 */
		uint64_t end = h_now_ms() + 5000;

		do {
			rc = hvl_console_open(&con, &pr.r, 0, con_storage, sizeof(con_storage));
			if (rc == -EPROTO)
				usleep(20000);
		} while (rc == -EPROTO && h_now_ms() < end);
	}
	if (rc != 0) {
		fprintf(stderr, "second life: cannot open: %s\n", strerror(-rc));
		return 10;
	}
	if (hvl_console_printf(&con, "\nsecond life\n") < 0 || hvl_console_flush(&con, 5000) != 0)
		return 11;
	hvl_console_close(&con);
	hvl_posix_remote_close(&pr);
	return 0;
}

static uint32_t console_reset_count(void)
{
	int fd = open(E.region, O_RDONLY);
	uint8_t page[HVL_PAGE_SIZE];
	const struct hvl_ext *ext = (const void *)(page + HVL_EXT_OFFSET);
	uint32_t n = 0;

	/* The first device page follows the 4 KiB header. */
	if (fd >= 0 && pread(fd, page, sizeof(page), HVL_REGION_HDR_SIZE) == (ssize_t)sizeof(page))
		n = hvl_le32_get(&ext->reset_count);
	if (fd >= 0)
		close(fd);
	return n;
}

static void case_remote_killed(void)
{
	pid_t a, b;
	size_t got = 0;
	int s;
	uint32_t resets;

	write_cfg(0);
	start_pmm();
	s = h_connect_unix(E.sock, 5000);
	CHECK(s >= 0);
	a = fork();
	if (a == 0)
		_exit(remote_chatter());
	/* Let it stream, then kill it in the middle of a transfer. */
	while (got < 256 * 1024) {
		char buf[65536];

		if (h_read_exact(s, buf, sizeof(buf), 5000) != 0)
			break;
		got += sizeof(buf);
	}
	CHECK(got >= 256 * 1024);
	kill(a, SIGKILL);
	CHECK_EQ(h_wait_exit(a, 5000), 128 + SIGKILL);
	resets = console_reset_count();
	b = fork();
	if (b == 0)
		_exit(remote_second_life());
	CHECK_EQ(read_until(s, "second life", 10000, NULL), 0);
	CHECK_EQ(h_wait_exit(b, 10000), 0);
	/* The new instance reset the device (the PMM dropped the dead one's chains). */
	CHECK(console_reset_count() > resets);
	CHECK(h_alive(E.pmm));
	close(s);
	CHECK_EQ(stop_pmm(), 0);
	printf("A: remote killed mid-I/O, a new remote resets and is served\n");
}

/* ---------------------------------------------------------------- B */

#define B_LINES 3000u

/* Write numbered lines, one acknowledged (flushed) at a time; survive PMM deaths. */
static int remote_survivor(void)
{
	struct hvl_posix_remote pr;
	struct hvl_console con;
	unsigned i = 0, recoveries = 0;
	int open_ok;

	if (hvl_posix_remote_open(&pr, E.region, NULL, BUS, 10000) != 0)
		return 10;
	open_ok = hvl_console_open(&con, &pr.r, 0, con_storage, sizeof(con_storage)) == 0;
	while (i < B_LINES) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %06u\n", i);

		if (open_ok && hvl_console_write(&con, line, (size_t)n, 300) == n &&
		    hvl_console_flush(&con, 300) == 0) {
			i++; /* acknowledged: the PMM wrote it out */
			continue;
		}
		/* Not acknowledged: is the PMM gone?  Then re-attach and redo line i. */
		if (hvl_remote_pmm_alive(&pr.r, 500))
			continue;
		if (recoveries++ > 5 || hvl_posix_remote_reattach(&pr, NULL, 15000) != 0)
			return 12;
		open_ok = hvl_console_open(&con, &pr.r, 0, con_storage, sizeof(con_storage)) == 0;
	}
	hvl_console_close(&con);
	hvl_posix_remote_close(&pr);
	return recoveries >= 1 ? 0 : 13;
}

static void case_pmm_killed(void)
{
	static char seen[B_LINES];
	static char acc[1 << 20];
	size_t have = 0, i;
	unsigned missing = 0, phase = 0;
	pid_t r;
	int s;

	write_cfg(0);
	start_pmm();
	r = fork();
	if (r == 0)
		_exit(remote_survivor());
	memset(seen, 0, sizeof(seen));
	s = h_connect_unix(E.sock, 5000);
	CHECK(s >= 0);
	for (;;) {
		struct pollfd p = { s, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(s, acc + have, sizeof(acc) - have - 1);
		if (n > 0) {
			have += (size_t)n;
			acc[have] = '\0';
			if (phase == 2 && strstr(acc + (have > 64 ? have - 64 : 0), "line 002999") != NULL)
				break; /* the last line is out: the run is over */
			if (phase == 0 && have > 400 * 12) {
				/* Under load: kill the PMM outright, restart it on the same region. */
				kill(E.pmm, SIGKILL);
				CHECK_EQ(h_wait_exit(E.pmm, 5000), 128 + SIGKILL);
				phase = 1;
			}
			continue;
		}
		/* EOF: the PMM died (its data already drained) or the run ended. */
		close(s);
		if (phase == 1) {
			start_pmm();
			s = h_connect_unix(E.sock, 10000);
			CHECK(s >= 0);
			phase = 2;
			continue;
		}
		s = -1;
		break;
	}
	if (s >= 0)
		close(s);
	CHECK_EQ(h_wait_exit(r, 30000), 0);
	acc[have] = '\0';
	for (i = 0; i + 12 <= have; i++) {
		unsigned k;

		if (memcmp(acc + i, "line ", 5) == 0 && sscanf(acc + i + 5, "%6u", &k) == 1 &&
		    k < B_LINES)
			seen[k] = 1;
	}
	for (i = 0; i < B_LINES; i++)
		missing += !seen[i];
	CHECK_EQ(missing, 0);
	CHECK_EQ(phase, 2);
	CHECK_EQ(stop_pmm(), 0);
	printf("B: PMM killed under load and restarted; %u lines, none acknowledged lost\n", B_LINES);
}

/* ---------------------------------------------------------------- C */

struct dropper {
	struct hvl_notifier inner;
	uint64_t rng;
	unsigned pct;
	uint64_t dropped;
};

static void drop_ring(void *ctx)
{
	struct dropper *d = ctx;

	d->rng = d->rng * 6364136223846793005ull + 1442695040888963407ull;
	if ((unsigned)(d->rng >> 33) % 100u < d->pct) {
		d->dropped++;
		return;
	}
	hvl_notify_ring(&d->inner);
}

static int drop_wait(void *ctx, uint32_t ms)
{
	return hvl_notify_wait(&((struct dropper *)ctx)->inner, ms);
}

static const struct hvl_notify_ops drop_ops = { drop_ring, drop_wait, NULL };

#define C_BYTES (256u * 1024u)

static int remote_lossy(void)
{
	struct hvl_posix_remote pr;
	struct hvl_console con;
	static struct dropper dr;
	static uint8_t buf[C_BYTES];
	size_t done = 0, i;

	if (hvl_posix_remote_open(&pr, E.region, NULL, BUS, 10000) != 0)
		return 10;
	dr.inner = pr.r.cfg.notify;
	dr.rng = 12345;
	dr.pct = 30;
	pr.r.cfg.notify.ops = &drop_ops;
	pr.r.cfg.notify.ctx = &dr;
	if (hvl_console_open(&con, &pr.r, 0, con_storage, sizeof(con_storage)) != 0)
		return 11;
	for (i = 0; i < C_BYTES; i++)
		buf[i] = (uint8_t)(i * 31u);
	if (hvl_console_write(&con, buf, C_BYTES, 20000) != (long)C_BYTES)
		return 12;
	while (done < C_BYTES) {
		long n = hvl_console_read(&con, buf + done, C_BYTES - done, 20000);

		if (n <= 0)
			return 13;
		done += (size_t)n;
	}
	for (i = 0; i < C_BYTES; i++)
		if (buf[i] != (uint8_t)(i * 7u))
			return 14;
	hvl_console_close(&con);
	hvl_posix_remote_close(&pr);
	return dr.dropped > 0 ? 0 : 15;
}

static void case_dropped_doorbells(void)
{
	static uint8_t buf[C_BYTES];
	uint64_t last, gap = 0, t0;
	size_t got = 0, i;
	pid_t r;
	int s;

	write_cfg(30);
	start_pmm();
	r = fork();
	if (r == 0)
		_exit(remote_lossy());
	s = h_connect_unix(E.sock, 5000);
	CHECK(s >= 0);
	t0 = last = h_now_ms();
	while (s >= 0 && got < C_BYTES && h_now_ms() - t0 < 30000) {
		struct pollfd p = { s, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(s, buf + got, C_BYTES - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (h_now_ms() - last > gap)
			gap = h_now_ms() - last;
		last = h_now_ms();
	}
	CHECK_EQ(got, C_BYTES);
	for (i = 0; i < got; i++)
		if (buf[i] != (uint8_t)(i * 31u))
			break;
	CHECK_EQ(i, C_BYTES);
	for (i = 0; i < C_BYTES; i++)
		buf[i] = (uint8_t)(i * 7u);
	CHECK_EQ(h_write_all(s, buf, C_BYTES), 0);
	CHECK_EQ(h_wait_exit(r, 30000), 0);
	/* Watchdogs: 100 ms remote slices, 50 ms PMM heartbeat; allow scheduling noise. */
	CHECK(gap < 1000);
	close(s);
	CHECK_EQ(stop_pmm(), 0);
	CHECK(h_file_contains(E.log, "fault injection dropped"));
	printf("C: 30%% of doorbells dropped both ways; longest stall %llu ms\n",
	       (unsigned long long)gap);
}

/* ---------------------------------------------------------------- D */

struct flipper {
	uint8_t *lo, *hi;      /* range to flip in: console page + its rings */
	int stop;                 /* atomic */
	unsigned flips;
};

static void *flip_thread(void *arg)
{
	struct flipper *f = arg;
	uint64_t rng = 99;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		size_t n = (size_t)(f->hi - f->lo);
		size_t off;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		off = (size_t)(rng >> 20) % n;
		__atomic_fetch_xor(&f->lo[off], (uint8_t)(1u << ((rng >> 8) & 7u)), __ATOMIC_RELAXED);
		f->flips++;
		usleep(200);
	}
	return NULL;
}

static int remote_under_flips(void)
{
	struct hvl_posix_remote pr;
	struct hvl_console con;
	static uint8_t buf[4096];
	unsigned i;
	int errors = 0;

	uint64_t end;

	if (hvl_posix_remote_open(&pr, E.region, NULL, BUS, 10000) != 0)
		return 10;
	pr.r.cfg.txn_timeout_ms = 100; /* a flipped mailbox must not stall us long */
	memset(buf, 'x', sizeof(buf));
	end = h_now_ms() + 2000;
	for (i = 0; h_now_ms() < end; i++) {
		if (hvl_console_open(&con, &pr.r, 0, con_storage, sizeof(con_storage)) != 0) {
			errors++;
			continue;
		}
		if (hvl_console_write(&con, buf, sizeof(buf), 50) != (long)sizeof(buf) ||
		    hvl_console_flush(&con, 50) != 0)
			errors++;
		(void)hvl_console_close(&con);
	}
	hvl_posix_remote_close(&pr);
	return errors > 0 ? 3 : 0; /* both fine: what matters is no crash or hang */
}

static void case_bit_flips(void)
{
	struct flipper f;
	pthread_t th;
	struct stat st;
	uint8_t *mem;
	pid_t r;
	int fd, s, rc;
	size_t total = 0;

	write_cfg(0);
	start_pmm();
	s = h_connect_unix(E.sock, 5000);
	CHECK(s >= 0);
	/* Our own mapping of the region, to flip bits the way a sick core would. */
	fd = open(E.region, O_RDWR);
	while (fd >= 0 && fstat(fd, &st) == 0 && st.st_size < (off_t)(3 * HVL_PAGE_SIZE))
		usleep(5000);
	mem = fd >= 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
		      : MAP_FAILED;
	CHECK(mem != MAP_FAILED);
	if (mem == MAP_FAILED)
		return;
	/* The console's device page and the ring part of its window (not the header). */
	f.lo = mem + HVL_REGION_HDR_SIZE;
	f.hi = mem + HVL_REGION_HDR_SIZE + 2 * HVL_PAGE_SIZE + 4 * HVL_PAGE_SIZE;
	f.stop = 0;
	f.flips = 0;
	r = fork();
	if (r == 0)
		_exit(remote_under_flips());
	pthread_create(&th, NULL, flip_thread, &f);
	/* Drain whatever arrives while the remote and the flipper run. */
	{
		uint64_t end = h_now_ms() + 20000;

		while (h_now_ms() < end && h_alive(r)) {
			char buf[65536];
			struct pollfd p = { s, POLLIN, 0 };

			if (poll(&p, 1, 50) > 0) {
				ssize_t n = read(s, buf, sizeof(buf));

				if (n > 0)
					total += (size_t)n;
			}
		}
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	rc = h_wait_exit(r, 5000);
	CHECK(rc == 0 || rc == 3); /* no crash, no hang in the library either */
	if (rc != 0 && rc != 3)
		fprintf(stderr, "remote under bit flips: exit %d\n", rc);
	/* Errors were reported: by the remote (exit 3) or as a protocol violation. */
	CHECK(rc == 3 || h_file_contains(E.log, "protocol violation"));
	CHECK(h_alive(E.pmm));
	/* A fresh start after the storm: reset, open, and the data arrives. */
	r = fork();
	if (r == 0)
		_exit(remote_second_life());
	CHECK_EQ(read_until(s, "second life", 10000, NULL), 0);
	CHECK_EQ(h_wait_exit(r, 10000), 0);
	close(s);
	CHECK_EQ(stop_pmm(), 0);
	munmap(mem, (size_t)st.st_size);
	close(fd);
	printf("D: %u bit flips during traffic (%zu bytes got through); PMM alive, reset recovers\n",
	       f.flips, total);
}

/* ---------------------------------------------------------------- E */

#define E_CHUNK (64u * 1024u)

static uint8_t e_pattern(uint64_t i)
{
	return (uint8_t)(i * 131u + (i >> 16));
}

/* Write a file through 9p, fsync after every chunk, report each acknowledged total. */
static int remote_9p_writer(int report_fd)
{
	static union { void *p; uint8_t b[HVL_9P_VIRTIO_STORAGE(256)]; } st;
	static uint8_t buf[E_CHUNK];
	struct hvl_posix_remote pr;
	struct hvl_9p_virtio v;
	struct hvl_9p c;
	uint64_t total = 0;
	size_t i;
	int fd;

	memset(&c, 0, sizeof(c));
	if (hvl_posix_remote_open(&pr, E.region, NULL, BUS, 10000) != 0 ||
	    hvl_9p_virtio_open(&v, &pr.r, 0, &st, sizeof(st)) != 0 ||
	    hvl_9p_mount(&c, &v.t, "", 0, 5000) != 0)
		return 10;
	fd = hvl_9p_open(&c, "durable.bin", HVL_O_WRONLY | HVL_O_CREAT | HVL_O_TRUNC, 0644);
	if (fd < 0)
		return 11;
	for (;;) {
		for (i = 0; i < E_CHUNK; i++)
			buf[i] = e_pattern(total + i);
		if (hvl_9p_write(&c, fd, buf, E_CHUNK) != (long)E_CHUNK || hvl_9p_fsync(&c, fd) != 0)
			return 12; /* the PMM is gone: the parent killed it */
		total += E_CHUNK;
		/* Only now, after fsync answered, is this total acknowledged. */
		if (write(report_fd, &total, sizeof(total)) != (ssize_t)sizeof(total))
			return 13;
	}
}

static void case_9p_durable(void)
{
	char text[3 * PATH_MAX + 512], share[PATH_MAX + 32], file[PATH_MAX + 64];
	uint64_t acked = 0, v;
	int p[2], fd;
	pid_t r;
	size_t i, bad = 0;
	static uint8_t buf[E_CHUNK];

	snprintf(share, sizeof(share), "%s/share", E.dir);
	snprintf(file, sizeof(file), "%s/durable.bin", share);
	(void)mkdir(share, 0755);
	/* This case's own region file: another layout than the console cases'. */
	snprintf(E.region, sizeof(E.region), "%s/region9p", E.dir);
	snprintf(text, sizeof(text),
		 "[region rt0]\nfile = %s\nremote_base = 0x%llx\ndoorbell = futex\nheartbeat_ms = 50\n"
		 "[device rt0.fs0]\ntype = 9p\npath = %s\ntag = share\n",
		 E.region, (unsigned long long)BUS, share);
	if (h_write_file(E.cfg, text) != 0 || pipe(p) != 0)
		exit(1);
	start_pmm();
	r = fork();
	if (r == 0) {
		close(p[0]);
		_exit(remote_9p_writer(p[1]));
	}
	close(p[1]);
	/* Let a few MiB be acknowledged, then kill the PMM outright. */
	while (acked < 4u * 1024u * 1024u && h_read_exact(p[0], &v, sizeof(v), 10000) == 0)
		acked = v;
	kill(E.pmm, SIGKILL);
	CHECK_EQ(h_wait_exit(E.pmm, 5000), 128 + SIGKILL);
	/* Whatever the writer reported before it noticed is acknowledged too. */
	while (h_read_exact(p[0], &v, sizeof(v), 2000) == 0)
		acked = v;
	kill(r, SIGKILL);
	(void)h_wait_exit(r, 5000);
	close(p[0]);
	CHECK(acked >= 4u * 1024u * 1024u);
	fd = open(file, O_RDONLY);
	CHECK(fd >= 0);
	for (i = 0; fd >= 0 && i < acked; i += E_CHUNK) {
		size_t k;

		if (pread(fd, buf, E_CHUNK, (off_t)i) != (ssize_t)E_CHUNK) {
			bad++;
			break;
		}
		for (k = 0; k < E_CHUNK; k++)
			if (buf[k] != e_pattern(i + k)) {
				bad++;
				break;
			}
	}
	if (fd >= 0)
		close(fd);
	CHECK_EQ(bad, 0);
	printf("E: PMM SIGKILLed during 9p write+fsync; all %llu acknowledged bytes in the file\n",
	       (unsigned long long)acked);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_faults PATH_TO_HVL_PMM\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	E.pmm_bin = argv[1];
	if (h_tmpdir("hvl-faults", E.dir) != 0)
		return 1;
	snprintf(E.cfg, sizeof(E.cfg), "%s/pmm.ini", E.dir);
	snprintf(E.region, sizeof(E.region), "%s/region", E.dir);
	snprintf(E.log, sizeof(E.log), "%s/pmm.log", E.dir);
	snprintf(E.sock, sizeof(E.sock), "%s/console.sock", E.dir);
	case_remote_killed();
	case_pmm_killed();
	case_dropped_doorbells();
	case_bit_flips();
	case_9p_durable();
	if (h_failed == 0) {
		h_rmtree(E.dir);
	} else {
		char cmd[PATH_MAX + 64];

		snprintf(cmd, sizeof(cmd), "tail -n 40 '%s' >&2", E.log);
		if (system(cmd) != 0)
			fprintf(stderr, "log kept in %s\n", E.log);
	}
	return h_finish("test_faults");
}
