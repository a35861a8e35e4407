#!/usr/bin/env bash
# Builds the Containerfile with buildah and runs the image as the webhook's
# Deployment runs it. Needs root (buildah, mount namespaces), buildah, openssl,
# and `npm ci` done (the Node 24 binary of the `node` dev dependency).
#
# docker.io is out of reach in CI, so the Containerfile is built with
# --build-arg BASE set to a base made here from the host (Debian 12, as
# node:24-slim): Node 24, npm, sh and the few programs the build runs, their
# libraries, passwd/group and the CA certificates. Everything lives in a
# temporary buildah storage, removed at the end.
#
# Then, from the image:
# - its config: user 65532, entrypoint node /opt/vouch/dist/bin/vouch.js,
#   OCI labels, version = package.json's;
# - `buildah run`: `vouch --help` as the image's user;
# - with the root file system read-only (buildah run cannot do that, so: a
#   read-only bind mount of the container's root and chroot, in a mount
#   namespace) and as the image's user: a write to the root fails; the
#   quickstart (generate a key pair, sign, verify, refuse after tampering) on
#   an OCI layout in a mounted directory; `vouch admission manifests`; then
#   the pod its Deployment describes (its volumes laid out as the kubelet
#   would, its env, args and user): `vouch trusted-root update` from a TUF
#   repository on 127.0.0.1 (what `kubectl exec` would run), then `vouch
#   admission serve`, its probes, a review allowed and one denied, SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

export BUILDAH_ISOLATION=chroot
base=localhost/vouch-ci-base
image=localhost/vouch:ci
host_node=$(readlink -f node_modules/.bin/node)
"$host_node" -e 'process.exit(process.versions.node.split(".")[0] === "24" ? 0 : 1)' ||
  { echo "container-check: node_modules/.bin/node is not Node 24; run npm ci" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/vouch-container-check.XXXXXX")
bah() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"; }
pids=()
cleanup() {
  local pid
  [ -s "$work/serve.pid" ] && pids+=("$(cat "$work/serve.pid")")
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bah rm --all >/dev/null 2>&1 || true
  bah rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
failed() {
  echo "container-check: failed: line $1: $2" >&2
  if [ -s "$work/serve.log" ]; then cat "$work/serve.log" >&2; fi
}
trap 'failed "$LINENO" "$BASH_COMMAND"' ERR
start=$SECONDS
step() { printf '\ncontainer-check [%ss]: %s\n' "$((SECONDS - start))" "$*"; }

step "assembling $base from the host"
ctr=$(bah from scratch)
root=$(bah mount "$ctr")
# Debian 12 has merged /usr: /bin, /lib and /lib64 are links into /usr.
mkdir -p "$root"/usr/{bin,lib,lib64,local/bin,local/lib/node_modules} "$root"/{etc/ssl/certs,proc,dev,sys,root,home,var}
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
install -d -m 1777 "$root/tmp"
# The libraries a program loads, each at its path on the host.
copy_libraries() {
  local library
  for library in $(ldd "$1" | grep -o '/[^ ]*'); do
    library="$(realpath "$(dirname "$library")")/$(basename "$library")"
    [ -e "$root$library" ] || { mkdir -p "$root$(dirname "$library")" && cp -L "$library" "$root$library"; }
  done
}
# sh runs npm's scripts; env runs `#!/usr/bin/env node`; rm, chmod, mkdir: the build.
for program in sh env rm chmod mkdir; do
  cp -L "$(command -v "$program")" "$root/usr/bin/$program"
  copy_libraries "$(command -v "$program")"
done
cp "$host_node" "$root/usr/local/bin/node"
copy_libraries "$host_node"
# npm as npm installs itself: one directory with its dependencies inside.
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$npm_dir/bin/npm-cli.js" ] && [ -d "$npm_dir/node_modules" ] ||
  { echo "container-check: $npm_dir is not a self-contained npm" >&2; exit 2; }
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
printf '#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"\n' >"$root/usr/local/bin/npm"
chmod 755 "$root/usr/local/bin/npm"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --env NPM_CONFIG_UPDATE_NOTIFIER=false \
  --cmd node "$ctr"
bah commit --quiet --rm "$ctr" "$base" >/dev/null

step "building the Containerfile on $base"
bah bud --quiet --pull=never --isolation chroot --build-arg "BASE=$base" \
  -f Containerfile -t "$image" . >/dev/null
step "built $image: $(bah images --noheading --format '{{.Size}}' "$image")"

step "the image's config"
bah inspect --type image "$image" | "$host_node" -e '
  const { config } = JSON.parse(require("fs").readFileSync(0, "utf8")).OCIv1;
  console.log(`user ${config.User}`);
  for (const arg of config.Entrypoint ?? []) console.log(`entrypoint ${arg}`);
  for (const variable of config.Env ?? []) console.log(`env ${variable}`);
  for (const [key, value] of Object.entries(config.Labels ?? {})) console.log(`label ${key}=${value}`);
' >"$work/config"
field() { sed -n "s/^$1 //p" "$work/config"; }
expect() { [ "$2" = "$3" ] || { echo "container-check: $1 is '$2', expected '$3'" >&2; exit 1; }; }
user=$(field user)
mapfile -t vouch < <(field entrypoint)
mapfile -t image_env < <(field env)
expect user "$user" 65532:65532
expect entrypoint "${vouch[*]}" 'node /opt/vouch/dist/bin/vouch.js'
package() { "$host_node" -p "require('./package.json').$1"; }
label() { sed -n "s/^label org\.opencontainers\.image\.$1=//p" "$work/config"; }
expect 'the version label' "$(label version)" "$(package version)"
expect 'the licenses label' "$(label licenses)" "$(package license)"
expect 'the title label' "$(label title)" vouch

ctr=$(bah from --quiet --pull=never "$image")
step 'buildah run: vouch --help, as the image user'
bah run "$ctr" -- "${vouch[@]}" --help >"$work/help.txt"
grep -q '^Usage: vouch' "$work/help.txt"
expect 'the user buildah run runs as' "$(bah run "$ctr" -- node -p 'process.getuid() + ":" + process.getgid()')" "$user"

# Runs a command in the container with its root file system read-only, as
# readOnlyRootFilesystem does: a read-only bind mount of the container's root,
# the host's /dev and /proc, the volumes given, then chroot as USER with only
# the image's env and the ENV given. From the mounts on it is one process
# (exec); with $pid_file set, its PID is written there, for signals.
#   in_container USER "HOSTDIR PATH ro|rw"... -- NAME=VALUE... -- COMMAND...
rootfs=$(bah mount "$ctr")
jail="$work/jail"
mkdir "$jail"
in_container() (
  user=$1 mounts=() environment=()
  shift
  while [ "$1" != -- ]; do
    read -r host path mode <<<"$1"
    # The mount point, in the container's own layer, as a runtime makes it.
    mkdir -p "$rootfs$path"
    mounts+=("$host" "$path" "$mode")
    shift
  done
  shift
  while [ "$1" != -- ]; do environment+=("$1"); shift; done
  shift
  exec unshare --mount -- bash -euc '
    rootfs=$1 jail=$2 pid_file=$3 count=$4
    shift 4
    if [ -n "$pid_file" ]; then echo $$ >"$pid_file"; fi
    mount --make-rprivate /
    mount --bind "$rootfs" "$jail"
    mount -o remount,bind,ro "$jail"
    mount --rbind /dev "$jail/dev"
    mount --rbind /proc "$jail/proc"
    for ((i = 0; i < count; i++)); do
      mount --bind "$1" "$jail$2"
      if [ "$3" = ro ]; then mount -o remount,bind,ro "$jail$2"; fi
      shift 3
    done
    exec "$@"' bash "$rootfs" "$jail" "${pid_file:-}" "$((${#mounts[@]} / 3))" "${mounts[@]}" \
    env -i "${image_env[@]}" "${environment[@]}" \
    chroot --userspec="$user" --groups="${user#*:}" "$jail" "$@"
)

step 'read-only root: writes outside the volumes fail'
data="$work/data"
mkdir -p "$data" "$work/tmp"
chmod 777 "$data" "$work/tmp"
tmp_volume="$work/tmp /tmp rw"
# Writes: PATH as USER fails with ERROR.
write_fails() {
  if in_container "$2" "$tmp_volume" -- -- node -e "require('fs').appendFileSync('$1', '')" 2>"$work/err"; then
    echo "container-check: $1 is writable by $2 in the read-only container" >&2
    exit 1
  fi
  grep -q "$3" "$work/err" || { cat "$work/err" >&2; exit 1; }
}
write_fails /probe 0:0 EROFS # even root cannot write: the root is read-only
write_fails /home/vouch/probe "$user" EROFS # the user's own HOME, writable with a writable root
write_fails /opt/vouch/dist/bin/vouch.js "$user" 'EACCES\|EROFS'
in_container "$user" "$tmp_volume" -- -- node -e "require('fs').writeFileSync('/tmp/probe', '')"

step 'read-only root: the quickstart on an OCI layout in a volume'
"$host_node" scripts/demo-image.ts "$data/demo" 1.0 >/dev/null
"$host_node" scripts/demo-image.ts "$data/other" 1.0 >/dev/null 2>&1
chmod -R a+rwX "$data"
volumes=("$data /work rw" "$tmp_volume")
run_vouch() { in_container "$user" "${volumes[@]}" -- VOUCH_PASSWORD=container-check -- "${vouch[@]}" "$@"; }
run_vouch generate-key-pair --output-key-prefix /work/cosign
run_vouch sign --key /work/cosign.key oci:/work/demo:1.0
run_vouch verify --key /work/cosign.pub oci:/work/demo:1.0 >/dev/null
run_vouch copy oci:/work/other:1.0 oci:/work/demo:1.0 >/dev/null
status=0
run_vouch verify --key /work/cosign.pub oci:/work/demo:1.0 >/dev/null 2>&1 || status=$?
expect 'the exit status of verify after tampering' "$status" 1

step 'read-only root: vouch admission manifests'
mkdir -p "$data/policy/keys" "$data/certs"
cp "$data/cosign.pub" "$data/policy/keys/release.pub"
cat >"$data/policy/policy.yaml" <<'POLICY'
apiVersion: vouch.dev/v1alpha1
kind: ImagePolicy
name: container-check
defaultAction: deny
authorities:
  release:
    key: { file: keys/release.pub }
rules:
  - name: pause
    images: [registry.k8s.io/pause]
    action: allow
  - name: app
    images: [registry.example/app/**]
    authorities: [release]
POLICY
"$host_node" src/cli/bin.ts admission cert --dns 127.0.0.1 --out-dir "$data/certs" >/dev/null
chmod -R a+rX "$data"
run_vouch admission manifests --policy /work/policy/policy.yaml --ca-file /work/certs/ca.crt \
  --tls-cert /work/certs/tls.crt --tls-key /work/certs/tls.key --image "$image" >"$work/manifests.yaml"

step "the Deployment's pod: volumes, env, args, user"
mapfile -t spec < <("$host_node" scripts/container-check-pod.ts "$work/manifests.yaml" "$work/volumes")
pod_volumes=() pod_env=() pod_args=()
for line in "${spec[@]}"; do
  case "${line%% *}" in
    user) pod_user=${line#* } ;;
    readonly) expect readOnlyRootFilesystem "${line#* }" true ;;
    mount) pod_volumes+=("${line#* }") ;;
    env) pod_env+=("${line#* }") ;;
    arg) pod_args+=("${line#* }") ;;
  esac
done
expect "the Deployment's runAsUser" "$pod_user" "$user"
port=$("$host_node" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
for i in "${!pod_args[@]}"; do
  if [ "${pod_args[$i]}" = --listen ]; then pod_args[i + 1]="127.0.0.1:$port"; fi
done
run_pod() { in_container "$pod_user" "${pod_volumes[@]}" -- "${pod_env[@]}" -- "$@"; }

step "the pod: vouch trusted-root update from a TUF repository on 127.0.0.1"
mkdir "$work/tuf"
"$host_node" scripts/container-check-tuf.ts "$work/tuf" >"$work/tuf/url" &
pids+=($!)
for _ in $(seq 300); do [ -s "$work/tuf/url" ] && break; sleep 0.1; done
cp "$work/tuf/root.json" "$data/tuf-root.json"
chmod a+r "$data/tuf-root.json"
pod_volumes+=("$data /work ro") # for the initial TUF root
run_pod "${vouch[@]}" trusted-root update --tuf-url "$(cat "$work/tuf/url")" --tuf-root /work/tuf-root.json -o json >"$work/update.json"
grep -q 'rekor.container-check.test' "$work/update.json"

step 'the pod: vouch admission serve, probes, reviews, SIGTERM'
pid_file="$work/serve.pid" run_pod "${vouch[@]}" "${pod_args[@]}" >"$work/serve.log" 2>&1 &
pids+=("$!")
https() { curl --silent --show-error --fail --cacert "$data/certs/ca.crt" "https://127.0.0.1:$port$1" "${@:2}"; }
for _ in $(seq 300); do https /readyz >/dev/null 2>&1 && break; sleep 0.1; done
https /readyz >/dev/null
https /healthz >/dev/null
review() {
  printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"%s","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"default","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' "$1" "$2" |
    https /validate --header 'content-type: application/json' --data-binary @-
}
review allowed registry.k8s.io/pause:3.10 | grep -q '"allowed":true'
review denied docker.io/library/busybox:1 | grep -q '"allowed":false'
kill -TERM "$(cat "$work/serve.pid")"
status=0
wait "${pids[-1]}" || status=$?
expect "serve's exit status after SIGTERM" "$status" 0
grep -q '"msg":"stopped"' "$work/serve.log"
if grep -q -i 'EROFS\|EACCES' "$work/serve.log"; then cat "$work/serve.log" >&2; exit 1; fi

step "ok: $image builds, runs as $user, and runs the webhook with a read-only root"
