/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio entropy device wire format (virtio 1.2 §5.4): one request queue,
 * no feature bits, no configuration space.  The driver posts
 * device-writable buffers; the device fills each with one or more random
 * bytes (possibly fewer than the buffer holds) and reports how many in the
 * used length.
 */
#ifndef HVL_WIRE_RNG_H
#define HVL_WIRE_RNG_H

#define HVL_RNG_REQUESTQ   0u
#define HVL_RNG_NUM_QUEUES 1u

#endif /* HVL_WIRE_RNG_H */
