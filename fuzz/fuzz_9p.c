/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the 9P2000.L message parser and server
 * (src/pmm/devices/9p_msg.c + 9p_fs.c) through its standalone entry points
 * p9_handle() and p9_handle_write() (a Twrite whose data stays in shared
 * memory, as the virtio transport passes it), over a small real export
 * directory.
 *
 * Each run gets a fresh export (a file, a directory, a file inside it) in a
 * private temp directory next to a sentinel file "outside" the export; the
 * run's messages may create, write, rename, link and delete whatever the
 * server allows, and everything is removed afterwards.
 *
 * Input: 2-byte header, then messages.
 *   hdr[0] bit 0: read-only export;  hdr[1]: fid limit (1 + hdr[1] % 16)
 *   each message: u16 length (bit 15 set: through p9_handle_write, length
 *   in bits 0-14), u8 response room selector (0 = 8 KiB, else selector * 3
 *   bytes), for p9_handle_write a u8 header length (0 = HVL_9P_TWRITE_HDR,
 *   what the virtio transport copies), then that many bytes of T-message.
 *   p9_handle() gets them as the private copy a transport would pass;
 *   p9_handle_write() gets the first header-length bytes as that copy and
 *   the rest as the data left in place, each in an allocation of its own
 *   exact size (any type: the transport only checks the type byte, the
 *   engine must refuse anything else that runs past the header).
 *
 * Invariants: the response length is 0 or 7..room, its size field says the
 * same, it is an R-message for the request's type (or Rlerror) with the
 * request's tag; the response buffer (allocated to exactly its room) is
 * never overrun, nor the header copy or the data read past their ends; nothing outside the export changes (the sentinel keeps its
 * content, the temp directory holds only the export and the sentinel).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "devices/9p_srv.h"

#define MSIZE      8192u
#define SENTINEL   "do not touch: outside the export\n"

static char g_base[64];
static char g_export[96];
static char g_outside[96];

/* Removal pass: never follows symlinks (FTW_PHYS), children before parents. */
static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

/* Open up directories a run made unreadable (Tsetattr mode), before removal. */
static int chmod_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR || (flag == FTW_F && S_ISREG(st->st_mode)))
		(void)chmod(path, flag == FTW_F ? 0600 : 0700);
	return 0;
}

static void rm_tree(const char *path)
{
	(void)nftw(path, chmod_one, 16, FTW_PHYS);
	(void)nftw(path, rm_one, 16, FTW_PHYS | FTW_DEPTH);
}

static void cleanup(void)
{
	rm_tree(g_base);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* tmpfs when there is one: a fresh export per run stays cheap. */
	snprintf(g_base, sizeof(g_base), "%s/hvl-fuzz-9p.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	FZ_CHECK(mkdtemp(g_base) != NULL);
	snprintf(g_export, sizeof(g_export), "%s/export", g_base);
	snprintf(g_outside, sizeof(g_outside), "%s/outside", g_base);
	write_file(g_outside, SENTINEL);
	atexit(cleanup);
	return 0;
}

static void make_export(void)
{
	char p[160];

	FZ_CHECK(mkdir(g_export, 0755) == 0);
	snprintf(p, sizeof(p), "%s/file", g_export);
	write_file(p, "hello from the export\n");
	snprintf(p, sizeof(p), "%s/dir", g_export);
	FZ_CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/dir/inner", g_export);
	write_file(p, "inner\n");
}

/* Nothing outside the export: the sentinel intact, no new entry beside it. */
static void check_outside(void)
{
	char buf[64];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int fd;

	fd = open(g_outside, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FZ_CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	FZ_CHECK(n == (ssize_t)strlen(SENTINEL) && memcmp(buf, SENTINEL, (size_t)n) == 0);
	d = opendir(g_base);
	FZ_CHECK(d != NULL);
	while ((de = readdir(d)) != NULL)
		FZ_CHECK(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			 strcmp(de->d_name, "export") == 0 || strcmp(de->d_name, "outside") == 0);
	closedir(d);
}

static void check_reply(const uint8_t *req, uint32_t len, const uint8_t *resp, uint32_t room, uint32_t n)
{
	uint32_t size;

	if (n == 0)
		return;
	FZ_CHECK(n >= 7u && n <= room);
	size = (uint32_t)resp[0] | (uint32_t)resp[1] << 8 | (uint32_t)resp[2] << 16 | (uint32_t)resp[3] << 24;
	FZ_CHECK(size == n);
	FZ_CHECK((resp[4] & 1u) != 0u); /* an R-message */
	if (len >= 7u) {
		FZ_CHECK(resp[5] == req[5] && resp[6] == req[6]); /* the request's tag */
		FZ_CHECK(resp[4] == HVL_9P_TLERROR + 1u || resp[4] == (uint8_t)(req[4] + 1u));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct p9_export ex;
	struct p9_sess s;
	unsigned msgs = 0;
	uint8_t h0 = fz_u8(&f), h1 = fz_u8(&f);

	make_export();
	memset(&ex, 0, sizeof(ex));
	ex.rootfd = open(g_export, O_PATH | O_DIRECTORY | O_CLOEXEC);
	FZ_CHECK(ex.rootfd >= 0);
	ex.readonly = h0 & 1u;
	ex.max_fids = 1u + h1 % 16u;
	ex.msize_max = MSIZE;
	FZ_CHECK(p9_sess_init(&s, &ex) == 0);

	while (f.n > 0 && msgs++ < 256u) {
		uint16_t lw = fz_u16(&f);
		uint32_t len = lw & 0x7fffu;
		int zc = (lw & 0x8000u) != 0u;
		uint8_t sel = fz_u8(&f);
		uint32_t room = sel == 0u ? MSIZE : sel * 3u;
		uint32_t hlen = zc ? fz_u8(&f) : 0u;
		uint8_t *req, *resp;
		uint32_t n;

		if (len > f.n)
			len = (uint32_t)f.n;
		if (hlen == 0u)
			hlen = HVL_9P_TWRITE_HDR;
		if (hlen > len)
			hlen = len;
		/* Exact-size copies: ASan flags a read past the request or a write past the room. */
		req = malloc(len + 1u);
		resp = malloc(room);
		FZ_CHECK(req != NULL && resp != NULL);
		(void)fz_bytes(&f, req, len);
		if (zc) {
			/* The header copy and the data in separate blocks, each its exact size. */
			uint8_t *hcopy = malloc(hlen + 1u), *rest = malloc(len - hlen + 1u);

			FZ_CHECK(hcopy != NULL && rest != NULL);
			memcpy(hcopy, req, hlen);
			memcpy(rest, req + hlen, len - hlen);
			n = p9_handle_write(&s, hcopy, hlen, rest, len - hlen, resp, room);
			check_reply(req, len, resp, room, n);
			/* An Rwrite never counts more than the data that came with the header. */
			if (n >= 11u && resp[4] == HVL_9P_TWRITE + 1u)
				FZ_CHECK(len >= HVL_9P_TWRITE_HDR &&
					 ((uint32_t)resp[7] | (uint32_t)resp[8] << 8 | (uint32_t)resp[9] << 16 |
					  (uint32_t)resp[10] << 24) <= len - HVL_9P_TWRITE_HDR);
			free(hcopy);
			free(rest);
		} else {
			n = p9_handle(&s, req, len, resp, room);
			check_reply(req, len, resp, room, n);
		}
		if (getenv("HVL_FUZZ_DEBUG") != NULL) /* to check what a seed reaches */
			fprintf(stderr, "9p: T%u -> %u bytes, R%u%s%u\n", len > 4 ? req[4] : 0u, n,
				n > 4 ? resp[4] : 0u, n > 10 && resp[4] == 7u ? " errno " : " ",
				n > 10 && resp[4] == 7u ? resp[7] : 0u);
		free(req);
		free(resp);
	}
	p9_sess_destroy(&s);
	close(ex.rootfd);
	check_outside();
	rm_tree(g_export);
	return 0;
}
