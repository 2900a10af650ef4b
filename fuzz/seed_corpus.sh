#!/usr/bin/env bash
# Writes a seed corpus for the `decode` target into corpus/decode/ from the captured
# PostgreSQL messages in crates/pgoutput/tests/captures/ (one file per distinct message
# kind per capture, raw bytes, plus every replication frame).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
captures="$here/../crates/pgoutput/tests/captures"
out="$here/corpus/decode"
mkdir -p "$out"
for file in "$captures"/*.txt; do
    name=$(basename "$file" .txt)
    declare -A seen=()
    n=0
    while read -r -a fields; do
        [[ ${#fields[@]} -eq 0 || ${fields[0]} == \#* ]] && continue
        hex=${fields[${#fields[@]}-1]}
        # Keep the first three messages of each tag: the rest are near-duplicate rows.
        tag=${hex:0:2}
        count=${seen[$tag]:-0}
        [[ $count -ge 3 ]] && continue
        seen[$tag]=$((count + 1))
        printf "$(sed 's/../\\x&/g' <<<"$hex")" >"$out/$name-$n"
        n=$((n + 1))
    done <"$file"
    unset seen
done
echo "wrote $(ls "$out" | wc -l) seed files to $out"
