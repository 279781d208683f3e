/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo, console, Linux half: the console's Linux end is a UNIX socket the
 * PMM serves.  Wait for the remote's greeting, send a line, expect the
 * remote's answer to it.
 */
#include <string.h>
#include <unistd.h>

#include "demo.h"

int demo_console_config(struct demo *d, FILE *f)
{
	char sock[PATH_MAX + 32];

	demo_path(d, "console.sock", sock);
	fprintf(f, "[device rt0.console0]\ntype = console\nbackend = socket\npath = %s\n", sock);
	return 0;
}

void demo_console_linux(struct demo *d)
{
	static char acc[8192];
	const char *msg = "hello remote, this is Linux\n";
	char sock[PATH_MAX + 32];
	size_t shown = 0;
	int s;

	demo_path(d, "console.sock", sock);
	s = demo_connect_unix(sock, d->timeout_s * 1000u);
	if (s < 0) {
		demo_row(d, "console", 0, "cannot connect to the console socket");
		return;
	}
	demo_say("console: connected to %s", sock);
	acc[0] = '\0';
	if (demo_expect(s, "type a line", "  remote console> ", d->timeout_s * 1000u, acc,
			sizeof(acc), &shown) != 0) {
		demo_row(d, "console", 0, "no greeting from the remote");
		close(s);
		return;
	}
	demo_say("console: sending \"%.*s\"", (int)strlen(msg) - 1, msg);
	if (write(s, msg, strlen(msg)) != (ssize_t)strlen(msg)) {
		demo_row(d, "console", 0, "write to the console socket failed");
		close(s);
		return;
	}
	if (demo_expect(s, "remote got: hello remote, this is Linux", "  remote console> ",
			d->timeout_s * 1000u, acc, sizeof(acc), &shown) != 0) {
		demo_row(d, "console", 0, "the remote did not answer the line");
		close(s);
		return;
	}
	demo_row(d, "console", 1, "remote -> Linux greeting, Linux -> remote line, answer back");
	close(s);
}
