/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the console backend (console.c, console_open.c): the per-device
 * state and the calls between the two files.  See console.c for the design.
 */
#ifndef HVL_PMM_DEVICES_CONSOLE_PRIV_H
#define HVL_PMM_DEVICES_CONSOLE_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "../pmm.h"
#include "hvl/wire/console.h"

#define CON_IBUF_SIZE  (16u * 1024u)  /* input waiting for receive buffers */
#define CON_IOV_MIN    1024u          /* chain capacity; a bigger chain is refused by the ring */
#define CON_WRITEV_MAX 64             /* iovecs per writev */
#define CON_BUDGET     256u           /* chains per call, then yield (other devices) */
#define CON_RL_BURST   10u
#define CON_RL_MS      5000u

enum con_kind { CON_STDIO, CON_SOCKET, CON_PTY, CON_FILE };

struct con;

/* One fd the console may watch on the main loop. */
struct con_fd {
	struct con *c;
	int fd;           /* -1: none (e.g. no socket client yet) */
	uint32_t ev;      /* events registered, valid while watched */
	uint8_t watched;
	uint8_t pollable; /* epoll refuses regular files and /dev/null */
	uint8_t in, out;  /* carries input / output */
	uint8_t is_sock;  /* use send/recv (MSG_NOSIGNAL, MSG_DONTWAIT) */
	uint8_t eof;      /* no more input from it */
	uint8_t dead;     /* output failed: socket client gone, or stdout closed */
	uint8_t hup;      /* hung up; only its remaining input is still read */
};

struct con {
	struct hvl_pmm *pmm;
	const struct hvl_logger *log;
	struct hvl_dev *dev;
	char name[HVL_PMM_DEV_NAME_MAX];
	enum con_kind kind;
	char path[HVL_PMM_OPT_VAL_MAX];   /* socket or pty symlink we created, "" if none */
	struct hvl_console_config config; /* published config space (st->config) */
	int listen_fd;
	int pty_slave;                    /* kept open: no EIO/HUP on the master */
	char pty_name[64];

	pthread_mutex_t lock;             /* everything below */
	struct con_fd io;                 /* stdin, socket client or pty master */
	struct con_fd out;                /* stdout or file (stdio/file backends) */
	int want_out;                     /* output hit EAGAIN: watching EPOLLOUT */
	uint8_t *ibuf;                    /* input ring buffer */
	size_t ihead, icount;
	struct hvl_chain txc;             /* transmit chain being written */
	int tx_held;
	unsigned tx_idx;                  /* next readable iov of txc */
	uint32_t tx_ioff;                 /* bytes of it already written */
	struct hvl_chain rxc;
	struct hvl_ratelimit rl;
	uint64_t bytes_in, bytes_out, chains_in, chains_out, dropped, emerg, clients, refused;
};

/* Log "<device>: message" through the PMM's logger. */
void con_log(struct con *c, enum hvl_log_level lvl, const char *fmt, ...) HVL_PRINTF(3, 4);

/* Main-thread callback of the socket listener (arg = struct con). */
void con_listen_cb(void *arg, uint32_t events);

/*
 * Open the backend's fds (create time, main thread).  Each returns 0 or a
 * negative errno after logging why; what was opened is released by
 * con_destroy().  @path may be NULL for the pty (no symlink).
 */
int con_setup_stdio(struct con *c);
int con_setup_file(struct con *c, const char *path);
int con_setup_socket(struct con *c, const char *path);
int con_setup_pty(struct con *c, const char *path);

#endif /* HVL_PMM_DEVICES_CONSOLE_PRIV_H */
