/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The remote halves of the vsock end-to-end tests, shared by test_vsock_e2e
 * (the device is hvl-pmm, bridged to UNIX sockets) and test_vsockd (the
 * device is hvl_vsockd in the test's other process): the same remote
 * library calls, the same phases, against either device.
 */
#ifndef HVL_TESTS_VSOCK_SUITE_H
#define HVL_TESTS_VSOCK_SUITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hvl/vsock.h"

/* The remote's side of a test run. */
struct vss {
	struct hvl_vsock *vs;
	uint32_t io_ms;      /* every blocking call's timeout */
	int fail;            /* failed checks */
};

/*
 * Sizes both suites use: the slow-reader and close-mid-stream transfers,
 * and the default of the both-ways stream (HVL_VSOCK_BIG=1: 1 GiB).
 */
#define SLOW_BYTES (2u << 20)
#define MID_BYTES 100000u
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STREAM_DEFAULT (16ull << 20)
#else
#define STREAM_DEFAULT (64ull << 20)
#endif

#define VSS_CHECK(t, c) do { if (!(c)) { (t)->fail++; fprintf(stderr, "remote %s:%d: %s failed\n", \
	__FILE__, __LINE__, #c); } } while (0)

/* Stream byte at offset @i of the stream with @seed (cheap, position-dependent). */
uint8_t vss_pat(uint64_t i, uint32_t seed);
void vss_pat_fill(uint8_t *b, uint64_t off, size_t n, uint32_t seed);
/* 0 if @b holds the stream's bytes at @off, else -1. */
int vss_pat_check(const uint8_t *b, uint64_t off, size_t n, uint32_t seed);

/* All of @len, or the failing call's result (<= 0). */
long vss_send_all(struct vss *t, int s, const void *buf, size_t len);
long vss_recv_all(struct vss *t, int s, void *buf, size_t len);
/* Connect to @port, send @msg, check its echo: 0 or a negative errno. */
int vss_echo_once(struct vss *t, uint32_t port, const char *msg);
/* A connection to @port (checked). */
int vss_victim(struct vss *t, uint32_t port);
/* Full duplex on @port: @bytes each way (seed 11 out, 22 in), poll-driven, then EOF both ways. */
void vss_stream(struct vss *t, uint32_t port, uint64_t bytes);
/* @n connections to the echo service on @port at once (@sd: room for @n), each its own message. */
void vss_concurrent(struct vss *t, uint32_t port, int *sd, unsigned n);
/* Connect to @port, send @bytes of the stream with @seed, close (the host may read slowly). */
void vss_send_pattern(struct vss *t, uint32_t port, uint64_t bytes, uint32_t seed);
/* Listen on @port, read one connection in 1000-byte bites with pauses, check @bytes then EOF. */
void vss_slow_reader(struct vss *t, uint32_t port, uint64_t bytes, uint32_t seed);
/* Connect to @port and send until the host's close ends it: ECONNRESET or EPIPE, not a hang. */
void vss_send_until_reset(struct vss *t, uint32_t port);
/* Listen on @port, send @bytes (a multiple of 1000) in 1000-byte writes, close. */
void vss_close_midstream(struct vss *t, uint32_t port, uint64_t bytes, uint32_t seed);
/*
 * Hostile packets, each on a connection of its own, with a bystander that
 * must keep working: len beyond the chain, unknown op, fwd_cnt beyond what
 * the host sent, @credit_pkts RW packets of 4 KiB to @credit_port (a host
 * end that does not read, so they pass the credit it gave), unknown type,
 * spoofed source CID, a chain shorter than a header, a connect flood.
 * Victims must see ECONNRESET; an echo on @echo_port works afterwards.
 */
void vss_hostile(struct vss *t, uint32_t echo_port, uint32_t credit_port, unsigned credit_pkts);

#endif /* HVL_TESTS_VSOCK_SUITE_H */
