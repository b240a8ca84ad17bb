#!/usr/bin/env bash
# Prepares this checkout to run Holdfast, or to run Holdfast and its whole test suite.
#
#   scripts/setup.sh deps   npm dependencies only (enough for type-checking and unit tests).
#   scripts/setup.sh run    npm dependencies + build (dist/). Holdfast's embedded PGlite store needs
#                           no system package, so this installs nothing system-wide.
#   scripts/setup.sh test   everything `run` does, plus the Debian packages the integration and
#                           end-to-end tests start for real (dockerd, sshd, PostgreSQL, Chromium, ...)
#                           and kubectl 1.20 unpacked into .tools/ for the Kubernetes-mode tests.
#
# Target: Debian 12 as root with Node 20 and npm. Idempotent: a step whose result is already in place
# is skipped, so a second run takes about a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/.tools"
CACHE_DIR="${HOLDFAST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/holdfast}"

# What the tests start for real. busybox-static provides the shell, httpd and nc of the test images;
# PostgreSQL and MariaDB (mariadb-server's server and client tools) go into the database test images.
TEST_PACKAGES=(docker.io openssh-server iproute2 busybox-static postgresql mariadb-server-core mariadb-client chromium git)
KUBECTL_PACKAGE=kubernetes-client
KUBECTL_MINOR=20

log() { printf 'setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs "$@" and logs how long it took, so a slow step is easy to spot.
timed() {
  local label=$1 start=$SECONDS
  shift
  "$@"
  log "$label done in $((SECONDS - start))s"
}

usage() {
  echo "usage: $0 deps | run | test" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# npm dependencies

# npm records what it installed in node_modules/.package-lock.json. The tree is current when every
# package of package-lock.json is installed at the locked version (platform-specific optional
# packages are absent on other platforms by design).
npm_tree_current() {
  [[ -f $ROOT/node_modules/.package-lock.json ]] || return 1
  (cd "$ROOT" && node --input-type=module -e '
    import { readFileSync } from "node:fs";
    const locked = JSON.parse(readFileSync("package-lock.json", "utf8")).packages ?? {};
    const installed = JSON.parse(readFileSync("node_modules/.package-lock.json", "utf8")).packages ?? {};
    for (const [path, entry] of Object.entries(locked)) {
      if (path === "" || entry.link) continue;
      const got = installed[path];
      if (!got) { if (entry.optional) continue; process.exit(1); }
      if (got.version !== entry.version) process.exit(1);
    }
  ')
}

ensure_npm_deps() {
  [[ -f $ROOT/package-lock.json ]] || die "package-lock.json is missing in $ROOT"
  if npm_tree_current; then
    log "npm dependencies are current"
    return 0
  fi
  # The lock serialises npm runs of several checkouts or shells on one machine.
  if [[ -d $ROOT/node_modules ]]; then
    # An existing tree is brought up to the lockfile in place: quicker than npm ci's full reinstall.
    log "npm dependencies differ from package-lock.json: npm install"
    (cd "$ROOT" && flock /tmp/npm.lock npm install --no-audit --no-fund --loglevel=error)
  else
    log "installing npm dependencies: npm ci"
    (cd "$ROOT" && flock /tmp/npm.lock npm ci --no-audit --no-fund --loglevel=error)
  fi
  npm_tree_current || die "node_modules still differs from package-lock.json after npm install"
}

# ---------------------------------------------------------------------------------------------
# Build (tsc -> dist/)

BUILD_STAMP="$ROOT/dist/.build-stamp"

# Any source or build configuration newer than the last successful build?
build_outdated() {
  [[ -f $BUILD_STAMP ]] || return 0
  local newer
  newer=$(cd "$ROOT" && find . \
    \( -path ./node_modules -o -path ./dist -o -path ./.git -o -path ./.tools -o -path ./.testhosts \
       -o -path ./.holdfast -o -path ./test-results -o -path '*/node_modules' -o -path ./dashboard/dist \) -prune -o \
    -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.mts' -o -name '*.js' -o -name '*.mjs' -o -name '*.jsx' \
       -o -name '*.json' -o -name '*.css' -o -name '*.html' -o -name '*.sql' -o -name '*.yaml' -o -name '*.yml' \) \
    -newer "$BUILD_STAMP" -print -quit)
  [[ -n $newer ]]
}

ensure_build() {
  if ! build_outdated; then
    log "build is current (dist/)"
    return 0
  fi
  mkdir -p "$ROOT/dist"
  log "building: npm run build"
  # Stamp the start time, not the end: a file edited during the build triggers the next one.
  local stamp_tmp="$BUILD_STAMP.tmp.$$"
  touch "$stamp_tmp"
  if ! (cd "$ROOT" && flock "$ROOT/dist/.build.lock" npm run --silent build); then
    rm -f "$stamp_tmp"
    die "the build failed (compiler errors above)"
  fi
  mv "$stamp_tmp" "$BUILD_STAMP"
}

# ---------------------------------------------------------------------------------------------
# Debian packages

APT_LISTS_UPDATED=

package_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# apt-get update at most once per run, and only when something has to be fetched.
apt_update_once() {
  [[ -n $APT_LISTS_UPDATED ]] && return 0
  log "apt-get update"
  flock /tmp/apt.lock apt-get update -q >/dev/null
  APT_LISTS_UPDATED=1
}

ensure_packages() {
  local missing=() package
  for package in "$@"; do package_installed "$package" || missing+=("$package"); done
  if ((${#missing[@]} == 0)); then
    log "Debian packages present: $*"
    return 0
  fi
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  [[ $(id -u) == 0 ]] || die "missing packages (${missing[*]}): run this script as root to install them"
  apt_update_once
  log "installing ${missing[*]}"
  # Package scripts must not start system-wide dockerd, sshd or PostgreSQL: the tests start their
  # own instances, with private sockets, ports and data directories.
  flock /tmp/apt.lock bash -c '
    set -e
    own_policy=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      own_policy=1
    fi
    trap "[[ -n \$own_policy ]] && rm -f /usr/sbin/policy-rc.d" EXIT
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
  ' install "${missing[@]}"
}

# ---------------------------------------------------------------------------------------------
# kubectl 1.20, unpacked privately. Debian's kubernetes-client would own /usr/bin/kubectl, which
# another package (a cloud SDK's kubectl) may own already; the tests need this exact client.

KUBECTL_DIR="$TOOLS_DIR/kubernetes-client"
KUBECTL_BIN="$TOOLS_DIR/bin/kubectl"

kubectl_current() {
  [[ -x $KUBECTL_BIN ]] &&
    "$KUBECTL_BIN" version --client 2>/dev/null | grep -q "Minor:\"$KUBECTL_MINOR\""
}

ensure_kubectl() {
  if kubectl_current; then
    log "kubectl 1.$KUBECTL_MINOR present ($KUBECTL_BIN)"
    return 0
  fi
  local deb_dir="$CACHE_DIR/debs" deb
  mkdir -p "$deb_dir"
  deb=$(compgen -G "$deb_dir/${KUBECTL_PACKAGE}_*.deb" | sort | tail -n 1 || true)
  if [[ -z $deb ]]; then
    apt-cache show "$KUBECTL_PACKAGE" >/dev/null 2>&1 || apt_update_once
    log "downloading $KUBECTL_PACKAGE"
    # Download as root into our own folder: the _apt sandbox user cannot write there.
    (cd "$deb_dir" && apt-get download -q -o APT::Sandbox::User=root "$KUBECTL_PACKAGE" >/dev/null)
    deb=$(compgen -G "$deb_dir/${KUBECTL_PACKAGE}_*.deb" | sort | tail -n 1 || true)
    [[ -n $deb ]] || die "apt-get download $KUBECTL_PACKAGE left no .deb in $deb_dir"
  fi
  mkdir -p "$TOOLS_DIR"
  rm -rf "$KUBECTL_DIR.tmp"
  dpkg-deb -x "$deb" "$KUBECTL_DIR.tmp"
  [[ -x $KUBECTL_DIR.tmp/usr/bin/kubectl ]] || die "$deb has no usr/bin/kubectl"
  rm -rf "$KUBECTL_DIR"
  mv "$KUBECTL_DIR.tmp" "$KUBECTL_DIR"
  mkdir -p "$TOOLS_DIR/bin"
  ln -sfn ../kubernetes-client/usr/bin/kubectl "$KUBECTL_BIN"
  kubectl_current || die "$KUBECTL_BIN is not kubectl 1.$KUBECTL_MINOR"
  log "kubectl 1.$KUBECTL_MINOR unpacked to $KUBECTL_BIN"
}

# ---------------------------------------------------------------------------------------------

main() {
  local mode=${1:-}
  [[ $# -le 1 ]] || usage
  case $mode in
  deps | run | test) ;;
  *) usage ;;
  esac
  command -v node >/dev/null || die "node is not on PATH (Holdfast needs Node.js 20 or later)"
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  ((node_major >= 20)) || die "Node.js 20 or later is required, found $(node --version)"

  local start=$SECONDS
  if [[ $mode == test ]]; then
    # System packages first: they take longest on a fresh machine and need no project files.
    timed "Debian packages" ensure_packages "${TEST_PACKAGES[@]}"
    timed "kubectl" ensure_kubectl
  fi
  timed "npm dependencies" ensure_npm_deps
  [[ $mode == deps ]] || timed "build" ensure_build
  log "ready for '$mode' in $((SECONDS - start))s"
}

main "$@"
