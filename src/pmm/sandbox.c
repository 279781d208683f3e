/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hvl-pmm sandbox (see sandbox.h).
 *
 * The allow-list is what the serving phase needs, not the set-up phase:
 * no execve, no ptrace, no module or mount calls, no new namespaces, and no
 * new processes or threads (clone, clone3, fork are absent: every thread
 * the PMM has is started before the filter goes in).  Device backends that
 * open files or sockets while serving (9p, vsock, rpmsg) need the *at family
 * and socket calls; those stay, confined by the backends' own checks (9p:
 * RESOLVE_BENEATH).
 */
#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

static const char *const allowed[] = {
	/* memory, threads, time, signals */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "futex_waitv",
	"set_robust_list", "get_robust_list", "rseq", "exit", "exit_group",
	"gettid", "getpid", "getppid", "tgkill", "sched_yield", "sched_getaffinity",
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack", "restart_syscall",
	"getrandom", "prctl", "getrlimit", "prlimit64", "uname", "getuid", "geteuid", "getgid",
	"getegid",
	/* fd I/O and event loop */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "close", "close_range", "dup", "dup3", "fcntl", "ioctl", "lseek", "pipe2",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
	"pselect6", "select", "eventfd2", "signalfd4", "timerfd_create", "timerfd_settime",
	"sendfile", "splice", "copy_file_range",
	/* sockets (console, vsock and rpmsg bridges, 9p socket transport) */
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "shutdown",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "getsockopt",
	"setsockopt", "getsockname", "getpeername",
	/* files, all relative to descriptors (9p, block, console file) */
	"openat", "openat2", "newfstatat", "fstat", "statx", "fstatfs", "statfs", "getdents64",
	"readlinkat", "mkdirat", "unlinkat", "renameat", "renameat2", "linkat", "symlinkat",
	"rmdir",
	"fchmod", "fchmodat", "fchown", "fchownat", "utimensat", "ftruncate", "fallocate",
	"fsync", "fdatasync", "flock", "fadvise64", "faccessat", "faccessat2", "getcwd",
	"unlink", "stat", "lstat", "open", "access", "readlink", "mkdir", "rename",
	"memfd_create", "name_to_handle_at", "fgetxattr", "flistxattr", "lgetxattr",
	"llistxattr", "getxattr", "listxattr",
};

/*
 * A forbidden call in "kill" mode traps here first: say which call it was
 * (only async-signal-safe calls, all on the allow-list), then die of SIGSYS
 * as the filter would have made us.
 */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[96] = "hvl-pmm: sandbox: forbidden system call ";
	char num[12];
	size_t n = strlen(msg), k = 0;
	int nr = si->si_syscall;

	(void)uc;
	do {
		num[k++] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr > 0 && k < sizeof(num));
	while (k > 0 && n + 1 < sizeof(msg))
		msg[n++] = num[--k];
	msg[n++] = '\n';
	(void)!write(2, msg, n);
	signal(sig, SIG_DFL);
	(void)raise(sig);
}

int hvl_sandbox_parse(const char *s, enum hvl_sandbox_mode *mode)
{
	if (strcmp(s, "off") == 0)
		*mode = HVL_SANDBOX_OFF;
	else if (strcmp(s, "log") == 0)
		*mode = HVL_SANDBOX_LOG;
	else if (strcmp(s, "errno") == 0)
		*mode = HVL_SANDBOX_ERRNO;
	else if (strcmp(s, "on") == 0 || strcmp(s, "kill") == 0)
		*mode = HVL_SANDBOX_KILL;
	else
		return -EINVAL;
	return 0;
}

const char *hvl_sandbox_name(enum hvl_sandbox_mode mode)
{
	switch (mode) {
	case HVL_SANDBOX_OFF: return "off";
	case HVL_SANDBOX_LOG: return "log";
	case HVL_SANDBOX_ERRNO: return "errno";
	case HVL_SANDBOX_KILL: return "kill";
	default: return "?";
	}
}

/* Drop every capability from the effective, permitted and inheritable sets. */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	unsigned c;

	memset(d, 0, sizeof(d));
	/* The bounding set first, while we still hold CAP_SETPCAP. */
	for (c = 0; c <= CAP_LAST_CAP; c++)
		(void)prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}

int hvl_sandbox_enter(enum hvl_sandbox_mode mode, const struct hvl_logger *log)
{
	uint32_t deflt;
	scmp_filter_ctx ctx;
	size_t i;
	int rc;

	if (mode == HVL_SANDBOX_OFF)
		return 0;
	/* Required for an unprivileged filter, and no set-uid helper can regain anything. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		rc = -errno;
		hvl_logf(log, HVL_LOG_ERROR, "sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(-rc));
		return rc;
	}
	rc = drop_caps();
	if (rc != 0)
		hvl_logf(log, HVL_LOG_WARN, "sandbox: dropping capabilities: %s", strerror(-rc));
	deflt = mode == HVL_SANDBOX_LOG ? SCMP_ACT_LOG :
		mode == HVL_SANDBOX_ERRNO ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_TRAP;
	if (mode == HVL_SANDBOX_KILL) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGSYS, &sa, NULL);
	}
	ctx = seccomp_init(deflt);
	if (ctx == NULL) {
		hvl_logf(log, HVL_LOG_ERROR, "sandbox: seccomp_init failed");
		return -ENOMEM;
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not a system call on this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc != 0 && rc != -EEXIST) {
			hvl_logf(log, HVL_LOG_ERROR, "sandbox: allowing %s: %s", allowed[i],
				 strerror(-rc));
			seccomp_release(ctx);
			return rc;
		}
	}
	/* Every thread, including the device threads already running. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		hvl_logf(log, HVL_LOG_ERROR, "sandbox: loading the filter: %s", strerror(-rc));
		return rc;
	}
	hvl_logf(log, HVL_LOG_INFO, "sandbox: on (%s): no new privileges, no capabilities, "
		 "%zu system calls allowed", hvl_sandbox_name(mode),
		 sizeof(allowed) / sizeof(allowed[0]));
	return 0;
}
