/* SPDX-License-Identifier: BSD-3-Clause */
/* UNIX-socket helpers shared by the device backends that listen on a path. */
#ifndef HVL_PMM_UNIX_SOCK_H
#define HVL_PMM_UNIX_SOCK_H

#include <sys/un.h>

/* Fill @sa for @path; -ENAMETOOLONG if it would not fit (never a truncated name). */
int hvl_unix_addr(struct sockaddr_un *sa, const char *path);

/*
 * Make room to bind @sa: nothing there is fine; a socket nobody accepts on
 * any more (left by an earlier run) is removed.  Returns 0, -EEXIST if the
 * path is not a socket, -EADDRINUSE if something still serves it, or -errno.
 */
int hvl_unix_remove_stale(const struct sockaddr_un *sa);

#endif /* HVL_PMM_UNIX_SOCK_H */
