#!/system/bin/sh
# Android's getprop/setprop over the profile's properties (/mnt/emu/props.txt, "[name]: [value]" lines,
# sorted, as `getprop` prints them). Shell, not Python: products call getprop a lot.
props=/mnt/emu/props.txt
case "${0##*/}" in
setprop)
    if [ $# -ne 2 ]; then echo "usage: setprop NAME VALUE" >&2; exit 1; fi
    case "$1" in ro.*)
        if grep -qF "[$1]: [" "$props"; then echo "Failed to set property '$1' to '$2'." >&2; exit 1; fi ;;
    esac
    { grep -vF "[$1]: [" "$props"; echo "[$1]: [$2]"; } | LC_ALL=C sort > "$props.tmp" && mv "$props.tmp" "$props"
    ;;
*)
    if [ $# -eq 0 ]; then exec cat "$props"; fi
    awk -v key="[$1]: [" -v default="${2-}" '
        index($0, key) == 1 { print substr($0, length(key) + 1, length($0) - length(key) - 1); found = 1; exit }
        END { if (!found) print default }' "$props"
    ;;
esac
