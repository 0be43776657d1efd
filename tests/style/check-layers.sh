#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The plugin's folders depend on one another in one direction only
# (docs/design.md, "Layout"): common <- switch, media <- peer <- room <- the
# element shells at the top. A file may include its own folder's headers and
# those of the folders below it, never one above: so the room session has no
# import cycle with the element, and a peer knows nothing of the room.
#   check-layers.sh [PLUGIN_DIR]   (default: plugins/meshcall of this tree)
dir=${1:-$(dirname "$0")/../../plugins/meshcall}
cd "$dir" || exit 1

# What each folder may include, besides its own headers.
allowed() {
	case $1 in
	common) echo "" ;;
	switch) echo "common" ;;
	media) echo "common" ;;
	peer) echo "common media" ;;
	room) echo "common media peer" ;;
	esac
}

out=$(mktemp) || exit 1
for folder in common switch media peer room; do
	for file in "$folder"/*.h "$folder"/*.cpp; do
		[ -e "$file" ] || continue
		# Every quoted include: "folder/name.h" or a bare "name.h".
		sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file" | while read -r inc; do
			case $inc in
			protocol/*) continue ;; # src/protocol, below the whole plugin
			*/*) target=${inc%%/*} ;;
			*) target=top ;;
			esac
			[ "$target" = "$folder" ] && continue
			ok=no
			for a in $(allowed "$folder"); do
				[ "$a" = "$target" ] && ok=yes
			done
			if [ $ok = no ]; then
				echo "$file includes \"$inc\": $folder/ may include only from: $folder $(allowed "$folder")"
				echo x
			fi
		done
	done
done >"$out" 2>&1
bad=$(grep -c '^x$' "$out")
grep -v '^x$' "$out"
rm -f "$out"
if [ "$bad" -gt 0 ]; then
	echo "$bad include(s) against the plugin's layering"
	exit 1
fi
echo "plugin layering: ok"
