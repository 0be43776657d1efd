#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Suite `style`: fails when a C/C++ file of the tree is not formatted the way
# Debian 12's clang-format (14) formats it with the repository's .clang-format.
#   check-format.sh [PATH...]
# Without PATHs it checks every tracked *.c, *.cpp and *.h (git ls-files in a git
# checkout, find otherwise), less subprojects/ and node_modules/; PATHs (files or
# directories, relative to the source root) restrict it to those. Prints each
# offending file and the command that fixes them. Exits 77 (skip) when
# clang-format 14 is missing: other versions format differently.
root=${MESHCALL_SOURCE_ROOT:-$(dirname "$0")/../..}
cd "$root" || exit 1

clang_format=
for candidate in ${CLANG_FORMAT:-} clang-format-14 clang-format; do
	if command -v "$candidate" >/dev/null 2>&1; then
		clang_format=$candidate
		break
	fi
done
if [ -z "$clang_format" ]; then
	echo "SKIP: no clang-format (scripts/install-deps.sh installs it)"
	exit 77
fi
version=$("$clang_format" --version | sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p')
if [ "$version" != 14 ]; then
	echo "SKIP: $clang_format is version ${version:-unknown}, the style is clang-format 14's"
	exit 77
fi

list_files() {
	if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
		git ls-files -- "$@"
	else
		find "${@:-.}" \( -name subprojects -o -name node_modules -o -name .git \) -prune \
			-o -type f -print | sed 's|^\./||'
	fi
}

files=$(list_files "$@" | grep -E '\.(c|cpp|h)$' |
	grep -vE '(^|/)(subprojects|node_modules)/')
checked=0
bad=
for f in $files; do
	# A file another change deleted or moved but git still lists.
	[ -f "$f" ] || continue
	checked=$((checked + 1))
	if ! "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f"
		bad="$bad $f"
	fi
done
if [ -n "$bad" ]; then
	echo "$(echo $bad | wc -w) of $checked files are not formatted; fix with:"
	echo "  $clang_format -i$bad"
	exit 1
fi
echo "$checked files formatted"
