#!/usr/bin/env bash
# The README's quickstart: sign and verify an image in an OCI layout on disk,
# with no registry and no network. Run it with `npm run quickstart`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vouch() { node src/cli/bin.ts "$@"; }
show() { printf '\n$ vouch %s\n' "$*"; vouch "$@"; }
# A demo password for the demo key; vouch reads it from the environment
# (or --password-file, or a prompt), never from the command line.
export VOUCH_PASSWORD=quickstart-demo

node scripts/demo-image.ts "$work/demo" 1.0
image="oci:$work/demo:1.0"

show digest "$image"
show generate-key-pair --output-key-prefix "$work/cosign"
show sign --key "$work/cosign.key" "$image"
show verify --key "$work/cosign.pub" "$image"
show tree "$image"

# A copy carries the signature with it (the sha256-<hex>.sig tag, as cosign copy does).
show copy "$image" "oci:$work/mirror:1.0"
show verify --key "$work/cosign.pub" "oci:$work/mirror:1.0"

# Tamper: point the tag at another image. The signature no longer covers it.
node scripts/demo-image.ts "$work/other" 1.0 2>/dev/null
show copy "oci:$work/other:1.0" "$image"
set +e
show verify --key "$work/cosign.pub" "$image"
status=$?
set -e
[ "$status" -eq 1 ] || { echo "expected verification to fail with exit 1, got $status"; exit 1; }

# A key that did not sign is refused too (exit 1).
show generate-key-pair --output-key-prefix "$work/other-key"
set +e
show verify --key "$work/other-key.pub" "oci:$work/mirror:1.0"
status=$?
set -e
[ "$status" -eq 1 ] || { echo "expected verification with another key to fail, got $status"; exit 1; }

printf '\nquickstart ok: signed, verified, copied with its signature, and refused after tampering\n'
