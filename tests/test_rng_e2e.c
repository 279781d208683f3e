/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Entropy end to end: the real hvl-pmm (argv[1]) with a virtio-rng device
 * (getrandom), this process as the remote core through the POSIX port.
 *
 *   - reads of 1, 64, 4096 (one buffer), 100000 (many buffers) bytes return
 *     exactly that many;
 *   - two 64-byte reads differ, and a 100000-byte read is not degenerate
 *     (every byte value appears);
 *   - a request with a device-readable buffer fails the device
 *     (NEEDS_RESET, -EIO); close + open brings it back; the PMM stays up.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hvl/posix.h"
#include "hvl/rng.h"

#define IO_MS 10000u

int main(int argc, char **argv)
{
	static union { void *p; uint8_t b[HVL_RNG_STORAGE(256)]; } st;
	static struct hvl_rng g;
	static uint8_t big[100000];
	static const size_t lens[] = { 1, 64, 4096, 100000 };
	struct hvl_posix_remote pr;
	uint8_t a[64], b[64];
	unsigned seen[256];
	char dir[4096], mem[4200], log[4200];
	pid_t pmm;
	size_t i;
	int rc, all;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-hvl-pmm\n", argv[0]);
		return 2;
	}
	alarm(60);
	if (h_tmpdir("hvl-rng", dir) != 0)
		return 2;
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	snprintf(log, sizeof(log), "%s/pmm.log", dir);
	{
		char *pargv[] = { argv[1], "--file", mem, "--device", "rng:rng0", "-v", NULL };

		pmm = h_spawn(pargv, log);
	}
	rc = hvl_posix_remote_open(&pr, mem, NULL, UINT64_MAX, 10000);
	CHECK_EQ(rc, 0);
	if (rc != 0)
		goto out;
	rc = hvl_rng_open(&g, &pr.r, 0, &st, sizeof(st));
	CHECK_EQ(rc, 0);
	if (rc != 0)
		goto out;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		CHECK_EQ(hvl_rng_read(&g, big, lens[i], IO_MS), (long)lens[i]);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sizeof(big); i++)
		seen[big[i]]++;
	for (i = 0, all = 1; i < 256; i++)
		all &= seen[i] > 0;
	CHECK(all);
	CHECK_EQ(hvl_rng_read(&g, a, sizeof(a), IO_MS), 64);
	CHECK_EQ(hvl_rng_read(&g, b, sizeof(b), IO_MS), 64);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_EQ(hvl_rng_read(&g, a, 0, IO_MS), 0);
	CHECK_EQ(hvl_rng_read(&g, NULL, 4, IO_MS), -EINVAL);

	/* A device-readable buffer is a driver error (§5.4.6.1): NEEDS_RESET. */
	{
		struct hvl_sg sg = { g.buf_bus, 16 };
		uint64_t end = h_now_ms() + IO_MS;

		CHECK_EQ(hvl_vq_drv_add(&g.vq, &sg, 1, 0, &g), 0);
		hvl_vdev_kick(&g.vdev, HVL_RNG_REQUESTQ, &g.vq);
		while (!hvl_rng_broken(&g) && h_now_ms() < end)
			usleep(1000);
		CHECK(hvl_rng_broken(&g));
		CHECK_EQ(hvl_rng_read(&g, a, 8, 0), -EIO);
		(void)hvl_rng_close(&g);
		CHECK_EQ(hvl_rng_open(&g, &pr.r, 0, &st, sizeof(st)), 0);
		CHECK_EQ(hvl_rng_read(&g, a, sizeof(a), IO_MS), 64);
		CHECK(h_alive(pmm));
	}
	(void)hvl_rng_close(&g);
	hvl_posix_remote_close(&pr);
out:
	kill(pmm, SIGTERM);
	rc = h_wait_exit(pmm, 10000);
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		kill(pmm, SIGKILL);
		(void)h_wait_exit(pmm, 5000);
	}
	CHECK(h_file_contains(log, "rng: "));
	if (h_failed != 0)
		fprintf(stderr, "test_rng_e2e: files kept in %s\n", dir);
	else
		h_rmtree(dir);
	return h_finish("test_rng_e2e");
}
