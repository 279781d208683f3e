/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-pmm's sandbox: once every region is mapped and every backend has its
 * files, sockets and devices open, the daemon gives up what it no longer
 * needs: new privileges (PR_SET_NO_NEW_PRIVS), every capability, and every
 * system call outside an allow-list (seccomp, via libseccomp).
 */
#ifndef HVL_PMM_SANDBOX_H
#define HVL_PMM_SANDBOX_H

#include "hvl/log.h"

enum hvl_sandbox_mode {
	HVL_SANDBOX_OFF = 0,
	HVL_SANDBOX_LOG,   /* allow-list enforced by logging only (finding missing calls) */
	HVL_SANDBOX_ERRNO, /* forbidden calls fail with EPERM */
	HVL_SANDBOX_KILL,  /* forbidden calls kill the process (SIGSYS) */
};

/*
 * On by default.  Sanitizer builds default to off: LeakSanitizer's exit-time
 * check needs ptrace and a new thread, which the filter forbids (tests that
 * check the sandbox itself turn it on explicitly, without leak checks).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HVL_SANDBOX_DEFAULT HVL_SANDBOX_OFF
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HVL_SANDBOX_DEFAULT HVL_SANDBOX_OFF
#endif
#endif
#ifndef HVL_SANDBOX_DEFAULT
#define HVL_SANDBOX_DEFAULT HVL_SANDBOX_KILL
#endif

/* Parse "off", "log", "errno", "on"/"kill"; 0 or -EINVAL. */
int hvl_sandbox_parse(const char *s, enum hvl_sandbox_mode *mode);
const char *hvl_sandbox_name(enum hvl_sandbox_mode mode);

/*
 * Enter the sandbox for every thread of the process (TSYNC).  Returns 0 or a
 * negative errno (logged); on error nothing is half-installed that loosens
 * anything.
 */
int hvl_sandbox_enter(enum hvl_sandbox_mode mode, const struct hvl_logger *log);

#endif /* HVL_PMM_SANDBOX_H */
