#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Suite `data`: installs the build into a scratch DESTDIR and checks what a
# desktop and systemd will read there. The launcher must pass
# desktop-file-validate, and every unit `systemd-analyze verify` with the
# DESTDIR as root (so ExecStart must name an installed binary), both without a
# word: they only print (and still exit 0) for an unknown key or a bad value,
# so any output fails the test.
#   check-installed-data.sh BUILD_DIR APP_BUILT(true|false) SERVER_BUILT(true|false)
set -u
build=$1 app=$2 server=$3

for tool in meson desktop-file-validate systemd-analyze; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: no $tool (scripts/install-deps.sh installs it)"
		exit 77
	fi
done

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# verify resolves the units' dependencies (sysinit.target, network-online.target,
# ...) inside the root too: give it this system's units, less any meshcall ones
# an earlier install left (this directory would take precedence over ours).
host_units=$dest/etc/systemd/system
mkdir -p "$host_units"
cp -R /usr/lib/systemd/system/. "$host_units/" || exit 1
rm -f "$host_units"/meshcall-*
if ! meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest/install.log" 2>&1; then
	cat "$dest/install.log"
	echo "FAIL: meson install"
	exit 1
fi

# The first installed file called $1 under a directory matching $2.
installed() {
	find "$dest" -path "$host_units" -prune -o -type f -name "$1" -path "*$2*" -print |
		head -n 1
}

# What each part installs.
units=
if [ "$server" = true ]; then
	units="meshcall-server.service"
	[ -n "$(installed meshcall-server /bin/)" ] || fail "meshcall-server is not installed"
fi
if [ "$app" = true ]; then
	units="$units meshcall-camera.service"
	[ -n "$(installed meshcall /bin/)" ] || fail "meshcall is not installed"
	desktop=$(installed meshcall.desktop /applications/)
	if [ -z "$desktop" ]; then
		fail "meshcall.desktop is not installed"
	else
		out=$(desktop-file-validate "$desktop" 2>&1) || fail "desktop-file-validate failed"
		[ -z "$out" ] || fail "desktop-file-validate $desktop: $out"
		grep -q '^Exec=meshcall %u$' "$desktop" || fail "$desktop does not run meshcall %u"
		icon=$(sed -n 's/^Icon=//p' "$desktop")
		[ -n "$(installed "$icon.*" /icons/hicolor/)" ] || fail "no icon $icon installed"
	fi
	# GKeyFile ignores keys it does not know: a misspelt one in the example
	# would silently do nothing.
	conf=$(installed meshcall.conf /meshcall)
	if [ -z "$conf" ]; then
		fail "the example meshcall.conf is not installed"
	else
		grep -qx '\[meshcall\]' "$conf" || fail "$conf has no [meshcall] group"
		bad=$(sed -n 's/^#\{0,1\}\([A-Za-z-]*\)=.*/\1/p' "$conf" |
			grep -vxE 'server|room|name|token|camera|mic|codec|headless|bitrate|latency')
		[ -z "$bad" ] || fail "$conf: keys meshcall does not read: $bad"
	fi
else
	[ -z "$(installed meshcall-camera.service /)" ] ||
		fail "meshcall-camera.service installed without the app"
	[ -z "$(installed meshcall.desktop /)" ] || fail "meshcall.desktop installed without the app"
fi

for unit in $units; do
	file=$(installed "$unit" /systemd/system/)
	if [ -z "$file" ]; then
		fail "$unit is not installed"
		continue
	fi
	out=$(systemd-analyze verify --root="$dest" "$file" 2>&1) || fail "systemd-analyze verify $unit failed"
	[ -z "$out" ] || fail "systemd-analyze verify $unit: $out"
	echo "checked $file"
done
[ -n "${desktop:-}" ] && echo "checked $desktop"

if [ "$failures" -gt 0 ]; then
	echo "$failures failed"
	exit 1
fi
echo "installed data OK"
