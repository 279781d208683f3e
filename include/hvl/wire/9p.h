/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-9p wire format (device ID 9, "9P transport" in the virtio 1.2 §5 table;
 * the layout is the one Linux's virtio_9p.h and QEMU use) and
 * the 9P2000.L message numbers and field sizes both sides use.
 *
 * The device has one request queue.  Each chain is the device-readable
 * T-message followed by device-writable space for the R-message.  Config
 * space is a le16 tag length and the mount tag bytes (not NUL-terminated),
 * valid with VIRTIO_9P_MOUNT_TAG (feature bit 0).
 *
 * 9P messages themselves are little-endian byte streams
 * ("size[4] type[1] tag[2] body"), strings are "len[2] bytes" without a NUL;
 * they are encoded and decoded byte by byte (never through struct casts), so
 * this header only names the numbers.
 */
#ifndef HVL_WIRE_9P_H
#define HVL_WIRE_9P_H

#include <stdint.h>
#include "hvl/wire/le.h"

/* Feature bits.  Bit numbers and masks have different names. */
#define HVL_9P_F_MOUNT_TAG_BIT 0u
#define HVL_9P_F_MOUNT_TAG     ((uint64_t)1 << HVL_9P_F_MOUNT_TAG_BIT)

#define HVL_9P_REQQ       0u   /* the single request queue */
#define HVL_9P_NUM_QUEUES 1u

/* Longest mount tag we publish (the spec sets no limit; Linux copies it whole). */
#define HVL_9P_TAG_MAX 64u

/* Device configuration layout (struct virtio_9p_config). */
struct hvl_9p_config {
	hvl_le16 tag_len;
	uint8_t tag[HVL_9P_TAG_MAX];
};
#define HVL_9P_CFG_TAG_LEN 0u
#define HVL_9P_CFG_TAG     2u
_Static_assert(sizeof(struct hvl_9p_config) == 2u + HVL_9P_TAG_MAX, "9p config size");

/* 9P2000.L message types (T = request, R = T + 1). */
#define HVL_9P_TLERROR     6u
#define HVL_9P_RLERROR     7u
#define HVL_9P_TSTATFS     8u
#define HVL_9P_TLOPEN      12u
#define HVL_9P_TLCREATE    14u
#define HVL_9P_TSYMLINK    16u
#define HVL_9P_TMKNOD      18u
#define HVL_9P_TRENAME     20u
#define HVL_9P_TREADLINK   22u
#define HVL_9P_TGETATTR    24u
#define HVL_9P_TSETATTR    26u
#define HVL_9P_TXATTRWALK  30u
#define HVL_9P_TXATTRCREATE 32u
#define HVL_9P_TREADDIR    40u
#define HVL_9P_TFSYNC      50u
#define HVL_9P_TLOCK       52u
#define HVL_9P_TGETLOCK    54u
#define HVL_9P_TLINK       70u
#define HVL_9P_TMKDIR      72u
#define HVL_9P_TRENAMEAT   74u
#define HVL_9P_TUNLINKAT   76u
#define HVL_9P_TVERSION    100u
#define HVL_9P_TAUTH       102u
#define HVL_9P_TATTACH     104u
#define HVL_9P_TFLUSH      108u
#define HVL_9P_TWALK       110u
#define HVL_9P_TREAD       116u
#define HVL_9P_TWRITE      118u
#define HVL_9P_TCLUNK      120u
#define HVL_9P_TREMOVE     122u

#define HVL_9P_HDR      7u        /* size[4] type[1] tag[2] */
#define HVL_9P_QID      13u       /* type[1] version[4] path[8] */
#define HVL_9P_NOTAG    0xffffu
#define HVL_9P_NOFID    0xffffffffu
#define HVL_9P_MAXWELEM 16u       /* names per Twalk */
#define HVL_9P_MSIZE_MIN 4096u    /* smallest msize either side accepts */
#define HVL_9P_IOHDR    (HVL_9P_HDR + 4u) /* Rread/Twrite overhead before the data ...*/
#define HVL_9P_TWRITE_HDR (HVL_9P_HDR + 4u + 8u + 4u)

/* qid.type bits. */
#define HVL_9P_QTDIR     0x80u
#define HVL_9P_QTSYMLINK 0x02u
#define HVL_9P_QTFILE    0x00u

/* Tlopen/Tlcreate flags (the Linux open(2) values, as 9P2000.L defines them). */
#define HVL_9P_O_RDONLY    0x0u
#define HVL_9P_O_WRONLY    0x1u
#define HVL_9P_O_RDWR      0x2u
#define HVL_9P_O_ACCMODE   0x3u
#define HVL_9P_O_CREAT     0x40u
#define HVL_9P_O_EXCL      0x80u
#define HVL_9P_O_TRUNC     0x200u
#define HVL_9P_O_APPEND    0x400u
#define HVL_9P_O_DIRECTORY 0x10000u

/* Tgetattr request_mask / Rgetattr valid bits. */
#define HVL_9P_GETATTR_BASIC 0x7ffull
#define HVL_9P_GETATTR_SIZE  0x200ull

/* Tsetattr valid bits. */
#define HVL_9P_SETATTR_MODE      0x1u
#define HVL_9P_SETATTR_UID       0x2u
#define HVL_9P_SETATTR_GID       0x4u
#define HVL_9P_SETATTR_SIZE      0x8u
#define HVL_9P_SETATTR_ATIME     0x10u
#define HVL_9P_SETATTR_MTIME     0x20u
#define HVL_9P_SETATTR_CTIME     0x40u
#define HVL_9P_SETATTR_ATIME_SET 0x80u
#define HVL_9P_SETATTR_MTIME_SET 0x100u

/* Tunlinkat flags. */
#define HVL_9P_AT_REMOVEDIR 0x200u

/* Tlock type/status. */
#define HVL_9P_LOCK_RDLCK 0u
#define HVL_9P_LOCK_WRLCK 1u
#define HVL_9P_LOCK_UNLCK 2u
#define HVL_9P_LOCK_SUCCESS 0u
#define HVL_9P_LOCK_BLOCKED 1u
#define HVL_9P_LOCK_ERROR   2u

/* Linux errno numbers as carried by Rlerror (9P2000.L uses Linux's). */
#define HVL_9P_EPERM     1u
#define HVL_9P_ENOENT    2u
#define HVL_9P_EIO       5u
#define HVL_9P_EBADF     9u
#define HVL_9P_EAGAIN    11u
#define HVL_9P_ENOMEM    12u
#define HVL_9P_EACCES    13u
#define HVL_9P_EBUSY     16u
#define HVL_9P_EEXIST    17u
#define HVL_9P_EXDEV     18u
#define HVL_9P_ENODEV    19u
#define HVL_9P_ENOTDIR   20u
#define HVL_9P_EISDIR    21u
#define HVL_9P_EINVAL    22u
#define HVL_9P_ENFILE    23u
#define HVL_9P_EMFILE    24u
#define HVL_9P_EFBIG     27u
#define HVL_9P_ENOSPC    28u
#define HVL_9P_EROFS     30u
#define HVL_9P_EMLINK    31u
#define HVL_9P_ERANGE    34u
#define HVL_9P_ENAMETOOLONG 36u
#define HVL_9P_ENOSYS    38u
#define HVL_9P_ENOTEMPTY 39u
#define HVL_9P_ELOOP     40u
#define HVL_9P_EPROTO    71u
#define HVL_9P_EOVERFLOW 75u
#define HVL_9P_EOPNOTSUPP 95u
#define HVL_9P_ESTALE    116u

#endif /* HVL_WIRE_9P_H */
