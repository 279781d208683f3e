#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Deterministic: running it again rewrites the same bytes, so the committed
seeds can be regenerated (python3 fuzz/gen_seeds.py).  Regression inputs
(crash-*) in the same folders are kept; only seed-* files are rewritten.
Each target's input format is described at the top of its fuzz_<name>.c.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Descriptor flags and feature bits (include/hvl/wire/vring.h, region.h).
NEXT, WRITE, INDIRECT = 1, 2, 4
F_INDIRECT = 1 << 28
F_EVENT_IDX = 1 << 29
F_VERSION_1 = 1 << 32


def desc(addr, length, flags=0, nxt=0):
    return struct.pack('<QIHH', addr, length, flags, nxt)


def put(img, off, data):
    img[off:off + len(data)] = data


# --------------------------------------------------------------- fuzz_ring
RING_WIN = 4096
RING_BASES = [0, 0x10000, 0x80000000, (1 << 64) - RING_WIN]


class Ring:
    """A window image with a standard layout (fuzz_ring.c header byte 2 = 0)."""

    def __init__(self, log2num, base_sel=1):
        self.num = 1 << log2num
        self.log2 = log2num
        self.base_sel = base_sel
        self.base = RING_BASES[base_sel]
        self.img = bytearray(RING_WIN)
        self.avail = 16 * self.num
        self.used = (self.avail + 6 + 2 * self.num + 3) & ~3

    def bus(self, off):
        return self.base + off

    def set_desc(self, i, off, length, flags=0, nxt=0):
        put(self.img, 16 * i, desc(self.bus(off), length, flags, nxt))

    def set_avail(self, heads, idx=None, used_event=0, flags=0):
        put(self.img, self.avail, struct.pack('<HH', flags, len(heads) if idx is None else idx))
        for k, h in enumerate(heads):
            put(self.img, self.avail + 4 + 2 * k, struct.pack('<H', h))
        put(self.img, self.avail + 4 + 2 * self.num, struct.pack('<H', used_event))

    def input(self, script, feat_bits=0, cap=0):
        hdr = bytes([self.log2, feat_bits | (self.base_sel << 4), 0, cap, 0, 0, 0, 0])
        return hdr + bytes([len(script)]) + bytes(script) + bytes(self.img)


def ring_seeds():
    s = {}
    # Two-buffer chain: pop, push, interrupt decision, re-enable.
    r = Ring(3)
    r.set_desc(0, 0x800, 16, NEXT, 1)
    r.set_desc(1, 0x900, 32, WRITE)
    r.set_avail([0])
    s['seed-simple'] = r.input([0, 1, 0xff, 2, 3])
    # Indirect table: readable, readable, writable; with cache hooks.
    r = Ring(3)
    r.set_desc(0, 0x400, 48, INDIRECT)
    put(r.img, 0x400, desc(r.bus(0x800), 8, NEXT, 1) + desc(r.bus(0x808), 8, NEXT, 2) +
        desc(r.bus(0xa00), 64, WRITE))
    r.set_avail([0])
    s['seed-indirect'] = r.input([0, 1, 0x80, 2], feat_bits=2 | 4)
    # EVENT_IDX, three chains, then the driver posts a fourth (avail idx 3 -> 4).
    r = Ring(3)
    for i in range(4):
        r.set_desc(i, 0x800 + 0x40 * i, 0x40, WRITE)
    r.set_avail([0, 1, 2, 3], idx=3, used_event=1)
    avail_idx = r.avail + 2
    s['seed-event-idx'] = r.input([0, 0, 1, 0x10, 2, 4, 0, 1, 0, 2,
                                   6, avail_idx & 0xff, avail_idx >> 8, 4, 0, 3, 0, 1, 0xff, 2],
                                  feat_bits=1 | 4)
    # Direct descriptors then an indirect one at the end of the chain (2.7.5.3.2).
    r = Ring(2)
    r.set_desc(0, 0x800, 4, NEXT, 1)
    r.set_desc(1, 0x400, 32, INDIRECT)
    put(r.img, 0x400, desc(r.bus(0x900), 4, NEXT, 1) + desc(r.bus(0x910), 4, WRITE))
    r.set_avail([0])
    s['seed-direct-then-indirect'] = r.input([0, 1, 0xff], feat_bits=2)
    # A loop: descriptor 0 chains to itself.  Fault, and it stays.
    r = Ring(3)
    r.set_desc(0, 0x800, 4, NEXT, 0)
    r.set_avail([0])
    s['seed-loop'] = r.input([0, 0, 5, 3])
    # A buffer beyond the window's end.
    r = Ring(3)
    r.set_desc(0, RING_WIN - 4, 8)
    r.set_avail([0])
    s['seed-outside'] = r.input([0, 0])
    # Window at the top of the 64-bit bus space, chain up to its last byte.
    r = Ring(3, base_sel=3)
    r.set_desc(0, RING_WIN - 16, 16, WRITE)
    r.set_avail([0])
    s['seed-top-of-bus'] = r.input([0, 1, 0xff, 2])
    # Bad geometry: raw queue size 0 and raw misaligned offsets.
    s['seed-size-zero'] = bytes([0x80, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
    s['seed-misaligned'] = bytes([3, 0x10, 1, 0, 0, 0, 0, 0]) + struct.pack('<HHH', 8, 0x200, 0x300) + b'\x01\x00'
    # Avail index far ahead of the ring.
    r = Ring(3)
    r.set_desc(0, 0x800, 4)
    r.set_avail([0], idx=200)
    s['seed-avail-jump'] = r.input([0, 5])
    return s


# --------------------------------------------------------------- fuzz_regs
# Actions of fuzz_regs.c act(); register indexes into its reg_table.
R_DFSEL, R_DRVFEAT, R_DRVFEATSEL, R_QSEL, R_QNUM, R_QREADY, R_QNOTIFY, R_INTACK, \
    R_STATUS, R_QDESCLO, R_QDESCHI, R_QDRVLO, R_QDEVLO, R_SHMSEL, R_QRESET, R_CFG = range(16)
ACK, DRIVER, DRIVER_OK, FEATURES_OK, NEEDS_RESET, FAILED = 1, 2, 4, 8, 64, 128


def reg(idx, val):
    return bytes([1 | (idx << 4)]) + struct.pack('<I', val)


def raw_txn(off, val, size, step=1):
    return bytes([0 | ((step - 1) << 4)]) + struct.pack('<HIB', off, val, size)


def post(q, n, wmask, bufs):
    """fuzz_regs action 8: bufs = [(slot, len-1)] per descriptor."""
    out = bytes([8, q, n - 1, wmask])
    for slot, ln in bufs:
        out += bytes([slot, ln])
    return out


def regs_hdr(queues=2, log2=3, feat=3, flags=0, cfg=12):
    return bytes([queues - 1, log2, feat, flags, cfg, 0, 0, 0])


SERVE, SERVE_ALL, KICK, RESET, REFRESH = bytes([14]), bytes([0x8e]), bytes([12]), bytes([9]), bytes([13])


def regs_seeds():
    s = {}
    bring_up = bytes([7, 3]) + SERVE
    s['seed-static-start-echo'] = (regs_hdr() + bring_up +
                                   post(0, 2, 0b10, [(0, 15), (1, 31)]) +
                                   post(1, 3, 0b100, [(2, 7), (3, 7), (4, 63)]) +
                                   KICK + SERVE_ALL + RESET + SERVE)
    # Queue 0 configured through the registers (size 8 at window 0x2000/0x2400/0x2600).
    s['seed-register-setup'] = (regs_hdr(queues=1, feat=0) +
                                struct.pack('<BQ', 3, F_VERSION_1) +
                                reg(R_STATUS, ACK) + reg(R_STATUS, ACK | DRIVER) +
                                reg(R_STATUS, ACK | DRIVER | FEATURES_OK) +
                                bytes([10, 0, 3]) + struct.pack('<HHH', 0x2000, 0x2400, 0x2600) +
                                reg(R_STATUS, ACK | DRIVER | FEATURES_OK | DRIVER_OK) +
                                post(0, 1, 1, [(5, 100)]) + SERVE + reg(R_QNOTIFY, 0) + SERVE_ALL)
    # Features and shared-memory selectors, interrupt ack, config writes.
    s['seed-selectors-config'] = (regs_hdr(feat=15, cfg=16) +
                                  reg(R_DFSEL, 1) + reg(R_DFSEL, 0) + reg(R_DFSEL, 7) +
                                  reg(R_DRVFEATSEL, 1) + reg(R_DRVFEAT, 1) +
                                  reg(R_DRVFEATSEL, 0) + reg(R_DRVFEAT, 1 << 29) +
                                  reg(R_SHMSEL, 0) + reg(R_SHMSEL, 1) +
                                  bytes([11, 8]) + struct.pack('<IB', 0x41, 2) +
                                  bytes([11, 15]) + struct.pack('<IB', 0x101, 0) +
                                  bytes([11, 1]) + struct.pack('<IB', 0x1, 2) +
                                  reg(R_INTACK, 3) + bytes([6]) + struct.pack('<II', 1, 1) +
                                  reg(R_STATUS, ACK | DRIVER | FEATURES_OK) +
                                  reg(R_STATUS, ACK | DRIVER | FEATURES_OK | DRIVER_OK) + SERVE)
    # Violations: bits cleared without reset, NEEDS_RESET from the driver,
    # missing queue, DRIVER_OK without FEATURES_OK, unknown registers, a
    # transaction sequence that jumps, bad sizes.
    s['seed-violations'] = (regs_hdr() + reg(R_STATUS, ACK | DRIVER) + reg(R_STATUS, ACK) +
                            RESET + reg(R_STATUS, NEEDS_RESET) + RESET +
                            reg(R_STATUS, ACK | DRIVER | DRIVER_OK) + RESET +
                            reg(R_QSEL, 9) + reg(R_QREADY, 1) + RESET +
                            reg(R_QNOTIFY, 15) + raw_txn(0x0c, 5, 4) + raw_txn(0x31, 1, 4) +
                            raw_txn(0x30, 1, 2, step=3) + raw_txn(0x3fc, 1, 4) +
                            raw_txn(0x400, 1, 4) + bytes([2, 12]) + SERVE_ALL)
    # A driver that tears down a live queue, refuses features, then fails.
    s['seed-live-queue'] = (regs_hdr(flags=0) + bring_up + reg(R_QSEL, 0) + reg(R_QREADY, 0) +
                            RESET + struct.pack('<BQ', 3, 1 << 50) +
                            reg(R_STATUS, ACK | DRIVER | FEATURES_OK) +
                            reg(R_STATUS, ACK | DRIVER | FEATURES_OK | FAILED) + RESET)
    # driver_ok() refuses; stale driver-area words from a previous session.
    s['seed-driver-ok-refused'] = (regs_hdr(flags=1 | 4) + bytes(range(64)) + bring_up +
                                   bytes([2, 0]) + SERVE)
    # The remote scribbles into rings and into the PMM's own register block.
    s['seed-scribbles'] = (regs_hdr() + bring_up + post(0, 1, 1, [(0, 7)]) +
                           bytes([4]) + struct.pack('<HB', 1024 + 2, 2) + b'\x30\x00' +
                           bytes([2, 0]) +
                           bytes([5]) + struct.pack('<HB', 0x70, 4) + b'\x00\x00\x00\x00' +
                           bytes([5]) + struct.pack('<HB', 0x440, 8) + bytes(8) + SERVE_ALL +
                           bytes([5]) + struct.pack('<HB', 0x0, 8) + bytes(8) + REFRESH + SERVE_ALL)
    return s


# ------------------------------------------------------------ fuzz_console
RXQ, TXQ = 0, 1


def cpost(q, n, wmask, bufs):
    """fuzz_console action 0: post a chain (same arguments as fuzz_regs')."""
    return bytes([0]) + post(q, n, wmask, bufs)[1:]


def con_hdr(log2=6, feat=3, small_pipe=0):
    return bytes([log2, feat, small_pipe, 0])


def con_input(data):
    return bytes([3, len(data)]) + data


C_DRAIN, C_LOOP, C_KICK, C_SERVE_ALL = bytes([4]), bytes([5]), bytes([10]), bytes([0x8f])


def console_seeds():
    s = {}
    s['seed-transmit'] = (con_hdr() + cpost(TXQ, 2, 0, [(0, 15), (1, 99)]) +
                          cpost(TXQ, 1, 0, [(2, 0)]) + C_DRAIN + C_SERVE_ALL)
    s['seed-receive'] = (con_hdr() + cpost(RXQ, 1, 1, [(3, 63)]) + con_input(b'hello, remote\n') +
                         cpost(RXQ, 2, 3, [(4, 3), (5, 127)]) + con_input(bytes(range(200))) +
                         C_KICK + C_SERVE_ALL)
    # 4 KiB FIFO: the transmitq outruns it, the chain is held, EPOLLOUT resumes it.
    flood = b''.join(cpost(TXQ, 4, 0, [(k, 127), (k + 1, 127), (k + 2, 127), (k + 3, 127)])
                     for k in range(0, 28, 2))
    s['seed-flow-control'] = (con_hdr(small_pipe=1) + flood + C_LOOP + C_DRAIN + C_LOOP + C_KICK +
                              C_DRAIN + C_LOOP + C_SERVE_ALL + C_DRAIN)
    s['seed-reset-while-held'] = (con_hdr(log2=3, small_pipe=1) + flood[:200] +
                                  bytes([8, 3]) + C_DRAIN + C_LOOP + flood[:60] + C_SERVE_ALL)
    # Wrong-direction chains fail the device; a reset brings it back.
    s['seed-wrong-direction'] = (con_hdr() + cpost(TXQ, 2, 2, [(0, 7), (1, 7)]) + bytes([8, 0]) +
                                 con_input(b'x') + cpost(RXQ, 2, 2, [(2, 7), (3, 7)]) + bytes([8, 1]) +
                                 cpost(RXQ, 1, 1, [(4, 7)]) + C_SERVE_ALL)
    s['seed-emerg-config'] = (con_hdr(feat=0) + bytes([7, 8]) + struct.pack('<IB', 0x41, 2) +
                              bytes([7, 8]) + struct.pack('<IB', 0x42, 0) +
                              bytes([7, 0]) + struct.pack('<IB', 0x50, 1) +
                              bytes([7, 13]) + struct.pack('<IB', 0x43, 2) + C_DRAIN)
    return s


# ---------------------------------------------------------------- fuzz_blk
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WZ, T_LIFETIME, T_RAW = range(8)


def breq(t, sector, shape, segs=(), raw_type=None, raw_sector=None):
    """fuzz_blk request action: t indexes its type table; segs are length codes
    (or (code, sector, num, flags) for DISCARD/WRITE_ZEROES ranges)."""
    out = bytes([0, t])
    if raw_sector is not None:
        out += bytes([0x80])
    else:
        out += bytes([sector])
    out += bytes([shape | len(segs)])
    if raw_type is not None:
        out = out[:2] + struct.pack('<I', raw_type) + out[2:]
    if raw_sector is not None:
        # the u64 follows the selector byte
        out = out[:-1] + struct.pack('<Q', raw_sector) + out[-1:]
    for sg in segs:
        out += bytes(sg) if isinstance(sg, tuple) else bytes([sg])
    return out


def blk_seeds():
    s = {}
    hdr = bytes([6 << 1, 0x1f, 0, 0])
    s['seed-read-write'] = (hdr + breq(T_OUT, 5, 0, [1, 0]) + breq(T_IN, 5, 0, [1]) +
                            breq(T_IN, 0, 0, [0, 0, 0]) + breq(T_FLUSH, 0, 0))
    s['seed-get-id-lifetime'] = hdr + breq(T_GET_ID, 0, 0, [0]) + breq(T_LIFETIME, 0, 0, [0])
    s['seed-discard-zeroes'] = (hdr + breq(T_DISCARD, 0, 0, [(0, 3, 4, 0)]) +
                                breq(T_WZ, 0, 0, [(0, 10, 2, 1)]) +
                                breq(T_WZ, 0, 0, [(1, 120, 8, 0)]) +
                                breq(T_DISCARD, 0, 0, [(0, 127, 9, 0)]))
    s['seed-bad-requests'] = (hdr + breq(T_IN, 139, 0, [0]) +
                              breq(T_IN, 0, 0, [0], raw_sector=(1 << 64) - 1) +
                              breq(T_IN, 0, 0x20, [0]) +      # no status byte
                              breq(T_IN, 0, 0x10, []) +       # 8-byte header
                              breq(T_IN, 0, 0x04, [0]) +      # data in the wrong direction
                              breq(T_OUT, 0, 0, [0x85]) +     # 46 bytes: not a sector multiple
                              breq(T_RAW, 0, 0x40, [0], raw_type=0x7fffffff) +
                              breq(T_FLUSH, 0, 0, [0]))       # flush with data
    s['seed-readonly'] = (bytes([1 | (3 << 1), 0x1f, 0, 0]) + breq(T_OUT, 1, 0, [0]) +
                          breq(T_DISCARD, 0, 0, [(0, 1, 1, 0)]) + breq(T_IN, 1, 0, [0]))
    s['seed-serial-too-long'] = bytes([0x10, 0, 0, 0]) + breq(T_IN, 0, 0, [0])
    s['seed-no-features'] = bytes([6 << 1, 0, 0, 0]) + breq(T_DISCARD, 0, 0, [(0, 1, 1, 0)]) + breq(T_WZ, 0, 0, [(0, 1, 1, 0)])
    return s


# ----------------------------------------------------------------- fuzz_9p
T9 = dict(lerror=6, statfs=8, lopen=12, lcreate=14, symlink=16, mknod=18, rename=20,
          readlink=22, getattr=24, setattr=26, xattrwalk=30, readdir=40, fsync=50, lock=52,
          getlock=54, link=70, mkdir=72, renameat=74, unlinkat=76, version=100, auth=102,
          attach=104, flush=108, walk=110, read=116, write=118, clunk=120, remove=122)
NOFID = 0xffffffff


def s9(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack('<H', len(b)) + b


def m9(name, body, tag=1, room=0):
    """One fuzz_9p input message: u16 length, room selector, the T-message."""
    msg = struct.pack('<IBH', 7 + len(body), T9[name], tag) + body
    return struct.pack('<HB', len(msg), room) + msg


def m9w(name, body, tag=1, room=0, hlen=0):
    """A fuzz_9p message through p9_handle_write: header copy of hlen bytes (0: 23), data in place."""
    msg = struct.pack('<IBH', 7 + len(body), T9[name], tag) + body
    return struct.pack('<HBB', len(msg) | 0x8000, room, hlen) + msg


def p9_start(msize=8192):
    return (m9('version', struct.pack('<I', msize) + s9('9P2000.L'), tag=0xffff) +
            m9('attach', struct.pack('<II', 0, NOFID) + s9('root') + s9('') + struct.pack('<I', 0)))


def walk(fid, newfid, *names):
    return m9('walk', struct.pack('<IIH', fid, newfid, len(names)) + b''.join(s9(n) for n in names))


def p9_seeds():
    s = {}
    hdr = bytes([0, 15])
    s['seed-read-tree'] = (hdr + p9_start() + walk(0, 1, 'file') +
                           m9('lopen', struct.pack('<II', 1, 0)) +
                           m9('read', struct.pack('<IQI', 1, 0, 100)) +
                           m9('getattr', struct.pack('<IQ', 1, 0x3fff)) + m9('clunk', struct.pack('<I', 1)) +
                           walk(0, 2, 'dir') + m9('lopen', struct.pack('<II', 2, 0o200000)) +
                           m9('readdir', struct.pack('<IQI', 2, 0, 512)) +
                           m9('statfs', struct.pack('<I', 0)) + walk(0, 3, 'dir', 'inner') +
                           m9('clunk', struct.pack('<I', 2)))
    s['seed-modify'] = (hdr + p9_start() + walk(0, 1) +
                        m9('lcreate', struct.pack('<I', 1) + s9('new') + struct.pack('<III', 0o102, 0o644, 0)) +
                        m9('write', struct.pack('<IQI', 1, 0, 6) + b'abcdef') +
                        m9('fsync', struct.pack('<II', 1, 0)) +
                        m9('mkdir', struct.pack('<I', 0) + s9('sub') + struct.pack('<II', 0o755, 0)) +
                        m9('symlink', struct.pack('<I', 0) + s9('ln') + s9('file') + struct.pack('<I', 0)) +
                        walk(0, 4, 'ln') + m9('readlink', struct.pack('<I', 4)) +
                        walk(0, 5, 'file') + m9('link', struct.pack('<II', 0, 5) + s9('hard')) +
                        m9('renameat', struct.pack('<I', 0) + s9('new') + struct.pack('<I', 0) + s9('renamed')) +
                        m9('setattr', struct.pack('<IIIIIQQQQQ', 5, 0x1 | 0x8, 0o600, 0, 0, 3, 0, 0, 0, 0)) +
                        m9('lock', struct.pack('<IBIQQI', 1, 1, 0, 0, 0, 1) + s9('c')) +
                        m9('getlock', struct.pack('<IBQQI', 1, 1, 0, 0, 1) + s9('c')) +
                        m9('unlinkat', struct.pack('<I', 0) + s9('renamed') + struct.pack('<I', 0)) +
                        m9('unlinkat', struct.pack('<I', 0) + s9('sub') + struct.pack('<I', 0x200)) +
                        m9('remove', struct.pack('<I', 5)))
    # Escapes and malformed messages.
    s['seed-hostile'] = (hdr + m9('walk', struct.pack('<IIH', 0, 1, 0)) + p9_start() +
                         walk(0, 1, '..') + walk(0, 1, 'a/b') + walk(0, 1, '') +
                         m9('symlink', struct.pack('<I', 0) + s9('esc') + s9('/etc/passwd') + struct.pack('<I', 0)) +
                         walk(0, 6, 'esc') + m9('lopen', struct.pack('<II', 6, 2)) +
                         m9('symlink', struct.pack('<I', 0) + s9('up') + s9('../outside') + struct.pack('<I', 0)) +
                         walk(0, 7, 'up') + m9('lopen', struct.pack('<II', 7, 0o1002)) +
                         m9('lcreate', struct.pack('<I', 0) + s9('up') + struct.pack('<III', 0o102, 0o644, 0)) +
                         walk(0, 8, 'file') + m9('read', struct.pack('<IQI', 8, 0, 0xffffffff)) +
                         m9('lopen', struct.pack('<II', 8, 0)) + m9('read', struct.pack('<IQI', 8, 1 << 63, 0xffffffff)) +
                         m9('read', struct.pack('<IQI', 8, 0, 100), room=3) +
                         m9('write', struct.pack('<IQI', 8, 0, 1000) + b'x') +
                         m9('mknod', struct.pack('<I', 0) + s9('dev') + struct.pack('<IIII', 0o60600, 8, 0, 0)) +
                         m9('rename', struct.pack('<II', 8, 0) + s9('moved')) +
                         m9('xattrwalk', struct.pack('<II', 8, 9) + s9('user.x')) +
                         m9('auth', struct.pack('<I', 9) + s9('u') + s9('') + struct.pack('<I', 0)) +
                         m9('flush', struct.pack('<H', 1)) + m9('lerror', struct.pack('<I', 5)) +
                         struct.pack('<HB', 7, 0) + struct.pack('<IBH', 9999, 110, 2) +
                         struct.pack('<HB', 3, 0) + b'\x07\x00\x00')
    # Twrite data left in shared memory (the virtio transport's path), and what must not pass it.
    s['seed-write-in-place'] = (hdr + p9_start() + walk(0, 1, 'file') +
                                m9('lopen', struct.pack('<II', 1, 2)) +
                                m9w('write', struct.pack('<IQI', 1, 0, 6) + b'abcdef') +
                                m9w('write', struct.pack('<IQI', 1, 4096, 5) + b'12345678') +
                                m9w('write', struct.pack('<IQI', 1, 0, 9) + b'short') +
                                m9w('write', struct.pack('<IQI', 1, 0, 4) + b'head', hlen=27) +
                                m9w('write', struct.pack('<IQI', 1, 0, 4) + b'torn', hlen=15) +
                                m9w('read', struct.pack('<IQI', 1, 0, 100) + b'tail') +
                                m9w('write', struct.pack('<IQI', 1, 0, 4) + b'abcd', room=3) +
                                m9('read', struct.pack('<IQI', 1, 0, 100)) +
                                walk(0, 2, 'dir') + m9('lopen', struct.pack('<II', 2, 0o200000)) +
                                m9w('write', struct.pack('<IQI', 2, 0, 3) + b'dir') +
                                m9('clunk', struct.pack('<I', 1)))
    s['seed-readonly-small-msize'] = (bytes([1, 0]) + p9_start(msize=4096) +
                                      m9('lcreate', struct.pack('<I', 0) + s9('n') + struct.pack('<III', 0o102, 0o644, 0)) +
                                      walk(0, 1, 'file') + m9('lopen', struct.pack('<II', 1, 2)) +
                                      m9('unlinkat', struct.pack('<I', 0) + s9('file') + struct.pack('<I', 0)) +
                                      walk(0, 2) + walk(0, 3) + m9('version', struct.pack('<I', 100) + s9('9P2000')) +
                                      m9('getattr', struct.pack('<IQ', 0, 1)))
    return s


# -------------------------------------------------------------- fuzz_rpmsg
def rp_msg(src_sel, dst_sel, payload, shape=0, extra=b''):
    """fuzz_rpmsg message action; selectors index its pick_addr() (4 takes a byte)."""
    sel = src_sel | (dst_sel << 3)
    out = bytes([0, sel, shape, len(payload)])
    if src_sel == 4:
        out += bytes([1])
    if dst_sel == 4:
        out += bytes([1])
    return out + extra + payload


def rp_rx(n=1):
    return bytes([3, 0]) * n


def rpmsg_seeds():
    s = {}
    hdr = bytes([6, 7, 3, 3])
    LOOP, KICK, ALL = bytes([10]), bytes([11]), bytes([0x8b])
    s['seed-echo'] = (hdr + rp_rx(2) + rp_msg(4, 1, b'ping from remote') + LOOP + KICK + ALL +
                      rp_msg(4, 2, b'to the sink') + rp_rx(1) + LOOP + ALL)
    s['seed-name-service'] = (hdr + bytes([2, 0, 1, 1]) + rp_rx(2) + LOOP + ALL +
                              rp_msg(4, 4, b'to my own channel') + bytes([2, 2, 1, 1]) + LOOP + ALL)
    s['seed-bad-messages'] = (hdr + rp_rx(1) +
                              rp_msg(4, 1, b'abc', shape=2, extra=struct.pack('<H', 1000)) +
                              rp_msg(4, 5, b'nowhere', extra=struct.pack('<I', 0x12345678)) +
                              rp_msg(4, 1, b'split message', shape=8, extra=bytes([5])) +
                              bytes([2, 1]) + b'/../name-without-nul-and-slash!!' + bytes([1]) +
                              bytes([2, 8, 1, 1]) +
                              rp_msg(4, 1, b'split the wrong way', shape=8 | 16, extra=bytes([3])))
    s['seed-bad-rx'] = (hdr + bytes([3, 1, 10]) + rp_msg(4, 1, b'x') + ALL + bytes([8, 7]) +
                        bytes([3, 2]) + rp_msg(4, 1, b'y') + ALL)
    s['seed-small-buffers'] = (bytes([3, 4, 0, 0]) + rp_rx(2) + rp_msg(4, 1, b'z' * 60) + LOOP + ALL)
    return s


# -------------------------------------------------------------- fuzz_vsock
VOP = dict(request=1, response=2, rst=3, shutdown=4, rw=5, credit_update=6, credit_request=7)


def vpk(op, payload=b'', dst_sel=0, flags=0, shape=0, extra=b''):
    """fuzz_vsock packet: from port 1024 to dst_sel (0: port 1, 1: port 2), op by name."""
    sel = dst_sel | (2 << 2)
    return bytes([0, sel, shape, len(payload), 0]) + extra + bytes([VOP[op], flags]) + payload


def vsock_seeds():
    s = {}
    hdr = bytes([6, 3, 1, 0])
    RX, EV, LOOP, KICK, ALL = bytes([2, 0]), bytes([4, 0]), bytes([7]), bytes([13]), bytes([0x8d])
    ACCEPT, RECV, CLOSE = bytes([5, 0x00]), bytes([5, 0x02]), bytes([5, 0x03])

    def send(data):
        return bytes([5, 0x01, len(data)]) + data
    s['seed-stream'] = (hdr + RX + RX + EV + vpk('request') + LOOP + ACCEPT + LOOP + KICK + ALL +
                        vpk('rw', b'hello, host') + RECV + send(b'hello, remote') + LOOP + KICK + RX +
                        ALL + vpk('credit_request') + vpk('credit_update') + RX + LOOP + ALL +
                        vpk('shutdown', flags=3) + CLOSE + LOOP + KICK + RX + ALL + vpk('rst'))
    s['seed-refused'] = (hdr + RX + RX + vpk('request', dst_sel=1) + LOOP + KICK + ALL +
                         vpk('rw', b'no such connection') + vpk('response') + ALL)
    s['seed-bad-packets'] = (hdr + RX + RX + vpk('request') + LOOP + ACCEPT + LOOP + ALL +
                             bytes([0, 0x48, 0, 4]) + struct.pack('<Q', 7) + bytes([0, VOP['rw'], 0]) + b'abcd' +
                             bytes([0, 0x08, 1, 4, 0]) + struct.pack('<I', 100000) + bytes([VOP['rw'], 0]) + b'abcd' +
                             bytes([0, 0x08, 2, 0, 0]) + struct.pack('<H', 9) + bytes([VOP['request'], 0]) +
                             vpk('rw', b'split header', shape=0x20) +
                             vpk('rw', b'split the wrong way', shape=0x20 | 0x80) + ALL)
    s['seed-bad-buffers'] = (hdr + bytes([2, 1, 10]) + vpk('request') + LOOP + ACCEPT + ALL +
                             bytes([11, 0]) + bytes([2, 2]) + bytes([4, 3]) + vpk('request') + ALL)
    return s


# ---------------------------------------------------------------- fuzz_net
ETH = bytes.fromhex('525400123456') + bytes.fromhex('525400abcdef') + b'\x08\x00'


def ntx(flen, head=ETH + bytes(18), shape=0, extra=b''):
    """fuzz_net transmit action: a frame of flen bytes (the first 32 from head)."""
    return bytes([0, shape]) + struct.pack('<H', flen) + extra + head[:min(flen, 32)]


def npeer_send(n, head=ETH + bytes(18), lie=None):
    out = bytes([4, 0x01 | (4 if lie is not None else 0)]) + struct.pack('<H', n)
    if lie is not None:
        out += struct.pack('<I', lie)
    return out + head[:min(n, 32)]


def net_seeds():
    s = {}
    hdr = bytes([6, 0x1f, 179, 0])
    RX, LOOP, KICK, ALL = bytes([2, 0]), bytes([6]), bytes([12]), bytes([0x8c])
    ACCEPT, RECV, HANGUP = bytes([4, 0x00]), bytes([4, 0x02]), bytes([4, 0x03])
    s['seed-frames'] = (hdr + RX + RX + LOOP + ACCEPT + LOOP + ntx(64) + LOOP + RECV +
                        npeer_send(60) + LOOP + KICK + ALL + npeer_send(1514) + LOOP + RX + KICK + ALL)
    s['seed-bad-frames'] = (hdr + RX + LOOP + ACCEPT + LOOP +
                            ntx(64, shape=1, extra=bytes([1, 3]) + struct.pack('<HHHH', 14, 1400, 34, 16)) +
                            ntx(5) + ntx(2000) + ntx(0) +
                            ntx(100, shape=2 | 4 | 8, extra=bytes([20])) +
                            npeer_send(8) + npeer_send(40, lie=0xffffffff) + LOOP + KICK + ALL +
                            HANGUP + LOOP + LOOP + ntx(64) + ALL)
    s['seed-small-rx'] = (bytes([3, 0, 0, 0]) + bytes([2, 1, 2]) + LOOP + ACCEPT + LOOP +
                          npeer_send(60) + LOOP + KICK + ALL + bytes([10, 0]) + bytes([2, 2]) + ALL)
    return s


# ---------------------------------------------------------------- fuzz_rng
def rng_seeds():
    s = {}
    hdr = bytes([6, 3, 0, 0])
    ALL = bytes([0x87])
    s['seed-requests'] = (hdr + bytes([0, 0x00, 100]) + bytes([0, 0x01, 50, 255]) +
                          bytes([0, 0x03, 255, 255, 255, 255]) + ALL)
    s['seed-readable'] = (hdr + bytes([0, 0x04, 10]) + ALL + bytes([5, 1]) +
                          bytes([0, 0x01 | 0x08, 10, 10]) + ALL + bytes([5, 2]) + bytes([0, 0x00, 1]) + ALL)
    return s


# ------------------------------------------------------------- fuzz_vsockd
def vd_pkt(op, lsel=0, lidx=0, pidx=0, payload=b'', flags=0, big=None, src_cid=None,
           lie_len=None, type_=None, fwd=None, short=None, split=0, quiet=False):
    """fuzz_vsockd packet (packet() in fuzz_vsockd.c, in its order of reads):
    to port 1000+lidx (lsel 1: 49152+lidx) from 2000+pidx.  big=(n, fill):
    an n-byte payload of one byte; short: a chain of that many bytes;
    split: 0x20 header and payload in two buffers, | 0x80 the second one
    writable; quiet: no service pass after it."""
    shape = split | (1 if lie_len is not None else 0) | (2 if type_ is not None else 0)
    shape |= 16 if fwd is not None else 0
    more = (1 if src_cid is not None else 0) | (8 if short is not None else 0)
    out = bytes([0xc0 if quiet else 0, lsel | (op << 4), shape])
    out += bytes([more | (4 if big is not None else 0)])
    if src_cid is not None:
        out += struct.pack('<Q', src_cid)
    out += bytes([pidx, lidx])
    if big is not None:
        out += struct.pack('<HB', big[0], big[1])
    else:
        out += bytes([len(payload)]) + payload
    if lie_len is not None:
        out += struct.pack('<I', lie_len)
    if type_ is not None:
        out += struct.pack('<H', type_)
    out += bytes([flags])
    if fwd is not None:
        out += struct.pack('<I', fwd)
    if short is not None:
        out += bytes([short - 1])
    return out


def vd_seeds():
    s = {}
    # 4 sockets, 4 KiB each, queues of 64, INDIRECT+EVENT_IDX, CID 3
    hdr = bytes([6 | (3 << 3), 3, 0, 0])
    RX, EV, SVC, ALL = bytes([2, 0]), bytes([3, 0]), bytes([7]), bytes([0x87])

    def P(sel, sd, *rest):
        return bytes([4, sel, sd + 1]) + bytes(rest)
    SOCKET = P(0, 0)

    def LISTEN(sd, port=0, backlog=1):
        return P(1 | (port << 4) | ((backlog - 1) << 6), sd)

    def ACCEPT(sd):
        return P(2, sd)

    def CONNECT(sd, port=0):
        return P(3 | (port << 4), sd)

    def SEND(sd, n, fill=0x61):
        return P(4, sd) + struct.pack('<HB', n, fill)

    def RECV(sd, n):
        return P(6, sd) + struct.pack('<H', n - 1)

    def SHUT(sd, how):
        return P(8 | (how << 5), sd)

    def CLOSE(sd):
        return P(9, sd)

    def POLL(*fds):
        return P(10, 0) + bytes([len(fds)]) + b''.join(bytes([sd + 1, ev]) for sd, ev in fds)

    def RESTART(feat=3):
        return bytes([11, feat])
    server = hdr + RX + RX + RX + EV + SVC + SOCKET + LISTEN(0, 0, 2)
    s['seed-accept'] = (server + vd_pkt(1) + SVC + POLL((0, 1)) + ACCEPT(0) +
                        vd_pkt(5, payload=b'hello, Linux') + RECV(1, 100) +
                        SEND(1, 300) + RX + SVC + vd_pkt(7) + RX + ALL +
                        vd_pkt(5, big=(3000, 0x42)) + RECV(1, 1000) + RECV(1, 4000) +
                        vd_pkt(4, flags=3) + RECV(1, 10) + CLOSE(1) + RX + SVC + vd_pkt(3))
    # A RESPONSE waits on the transmitq before connect (timeout 0) runs.
    client = (hdr + RX + RX + RX + EV + SVC + SOCKET +
              vd_pkt(2, lsel=1, quiet=True) + CONNECT(0))
    s['seed-connect'] = (client + SEND(0, 4000) + RX + RX + SVC + SEND(0, 4000) +
                         vd_pkt(6, lsel=1, fwd=2004) +
                         vd_pkt(5, lsel=1, payload=b'from the remote') + POLL((0, 3)) +
                         RECV(0, 5) + RECV(0, 100) + SHUT(0, 2) + RX + SVC +
                         vd_pkt(4, lsel=1, flags=3) + CLOSE(0) + RX + ALL)
    # Unread data, then the driver resets and the program connects the same socket again.
    s['seed-reconnect'] = (client + vd_pkt(5, lsel=1, payload=b'unread') + SVC +
                           RESTART() + RX + RX + SVC +
                           vd_pkt(2, lsel=1, lidx=1, quiet=True) + CONNECT(0) + RECV(0, 100))
    # The remote overruns the credit we gave (4 KiB) and lies about its fwd_cnt.
    s['seed-credit'] = (server + vd_pkt(1) + SVC + ACCEPT(0) +
                        vd_pkt(5, big=(2000, 1)) + vd_pkt(5, big=(2000, 2)) +
                        vd_pkt(5, big=(2000, 3)) + ALL + RECV(1, 10) + RX + RX +
                        vd_pkt(1, pidx=1) + SVC + ACCEPT(0) +
                        vd_pkt(6, pidx=1, fwd=0x80000000) + ALL + SEND(2, 100) + RX + SVC)
    # Malformed packets and chains: spoofed CID, lying len, unknown type and op,
    # a chain shorter than a header, a split header, a writable transmit
    # buffer, a readable receive buffer; a reset and DRIVER_OK twice.
    s['seed-bad'] = (server + vd_pkt(1) + SVC + ACCEPT(0) +
                     vd_pkt(5, payload=b'abcd', src_cid=9) +
                     vd_pkt(5, payload=b'abcd', lie_len=100000) +
                     vd_pkt(1, lidx=1, type_=9) + vd_pkt(1, lidx=1, type_=9, pidx=2) +
                     vd_pkt(5, payload=b'x' * 50, short=17) +
                     vd_pkt(5, payload=b'split header', split=0x20) +
                     vd_pkt(5, payload=b'split, writable', split=0x20 | 0x80) + ALL +
                     RESTART() + RX + bytes([2, 2]) + SVC + RESTART(0) + bytes([13]) + SVC +
                     EV + bytes([3, 3]) + SVC)
    return s


def write(target, seeds):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith('seed-'):
            os.unlink(os.path.join(d, name))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
    print('%s: %d seeds' % (target, len(seeds)))


GENERATORS = {'fuzz_ring': ring_seeds, 'fuzz_regs': regs_seeds,
              'fuzz_console': console_seeds, 'fuzz_blk': blk_seeds,
              'fuzz_9p': p9_seeds, 'fuzz_rpmsg': rpmsg_seeds,
              'fuzz_vsock': vsock_seeds, 'fuzz_net': net_seeds,
              'fuzz_rng': rng_seeds, 'fuzz_vsockd': vd_seeds}


def main():
    for target, gen in GENERATORS.items():
        write(target, gen())
    return 0


if __name__ == '__main__':
    sys.exit(main())
