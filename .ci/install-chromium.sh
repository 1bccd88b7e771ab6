#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of `sluice pipeline show`
# (cmd/sluice/browser_test.go). Idempotent: does nothing when
# /usr/bin/chromium exists. Never fails: when the install does not work it
# prints a warning, and the browser test skips with its own message.
set -u

if [ -x /usr/bin/chromium ]; then
	echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium) already installed"
	exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		as_root=(sudo -n)
	else
		echo "install-chromium: WARNING: not root and no sudo; chromium not installed, the browser test will skip" >&2
		exit 0
	fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium: WARNING: no apt-get; chromium not installed, the browser test will skip" >&2
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if "${as_root[@]}" apt-get update -q >/tmp/install-chromium.log 2>&1 &&
	"${as_root[@]}" apt-get install -y -q chromium >>/tmp/install-chromium.log 2>&1 &&
	[ -x /usr/bin/chromium ]; then
	echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null)"
else
	echo "install-chromium: WARNING: apt-get install chromium failed (log: /tmp/install-chromium.log); the browser test will skip" >&2
	tail -n 5 /tmp/install-chromium.log >&2 2>/dev/null || true
fi
exit 0
