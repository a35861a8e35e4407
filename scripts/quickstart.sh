#!/usr/bin/env bash
# The README's quickstart: vouch on an OCI image layout on disk, with no
# registry and no network. Run it with `npm run quickstart`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vouch() { node src/cli/bin.ts "$@"; }
show() { printf '\n$ vouch %s\n' "$*"; vouch "$@"; }

node scripts/demo-image.ts "$work/demo" 1.0

show digest "oci:$work/demo:1.0"
show manifest "oci:$work/demo:1.0"
echo
show copy "oci:$work/demo:1.0" "oci:$work/mirror:1.0"
show digest --output json "oci:$work/mirror:1.0"

# The copy is byte for byte: both layouts resolve to the same digest.
[ "$(vouch digest "oci:$work/demo:1.0")" = "$(vouch digest "oci:$work/mirror:1.0")" ]
printf '\nquickstart ok: the copy has the same digest as the original\n'
