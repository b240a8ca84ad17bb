#!/usr/bin/env bash
# Test hosts for integration and end-to-end tests: each one looks like a real server (own address,
# own sshd on port 22, own dockerd at the default socket path as seen over SSH), built from network
# namespaces on this machine. Idempotent: `start` skips whatever is already running.
#
#   scripts/test-hosts.sh start [N]   ensure hosts 1..N run (default 2); extra running hosts are kept
#   scripts/test-hosts.sh stop        stop every host, remove namespaces and links (data is kept)
#   scripts/test-hosts.sh status      one line per host
#   scripts/test-hosts.sh env         shell exports describing the running hosts
#   scripts/test-hosts.sh clean       stop, then delete the state directory
#
# State lives in $HOLDFAST_TESTHOSTS_DIR or <repo>/.testhosts. Host 1 is a Swarm manager; hosts 2 and
# 3, when started, join its swarm as workers (and stay ordinary engines for containers).
# Namespace and link names are machine-wide, so one set of test hosts serves the whole machine: the
# state directory that started them is recorded, and another checkout's start, stop or clean is
# refused (naming it) while they run, instead of tearing down hosts someone else's tests use.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${HOLDFAST_TESTHOSTS_DIR:-$REPO_DIR/.testhosts}"
EXEC_ROOT_BASE=/run/holdfast-testhosts

SUBNET_PREFIX=10.213.0
SUBNET_BITS=24
GATEWAY="$SUBNET_PREFIX.1"
BRIDGE=hf-br0
MAX_HOSTS=20
SWARM_POOL=10.230.0.0/16
SWARM_MANAGER=1
# Hosts 2..SWARM_LAST_WORKER join host 1's swarm as workers.
SWARM_LAST_WORKER=3
SWARM_READY_SECONDS=60

IMAGE_REPO=holdfast-test/busybox
# Bump when the image recipe changes so existing hosts get the new image.
IMAGE_RECIPE=1
PACKAGES=(docker.io openssh-server iproute2 busybox-static)

# Bump when the way sshd or dockerd is started changes, so running hosts pick it up.
SSHD_RECIPE=3
DOCKERD_RECIPE=2
DOCKERD_READY_SECONDS=60
SSHD_READY_SECONDS=15

log() { printf 'test-hosts: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

host_name() { echo "hf-h$1"; }
host_addr() { echo "$SUBNET_PREFIX.$(($1 + 1))"; }
host_dir() { echo "$STATE_DIR/h$1"; }
host_sock() { echo "$(host_dir "$1")/docker/docker.sock"; }
host_exec_root() { echo "$EXEC_ROOT_BASE/h$1"; }
netns_path() { echo "/var/run/netns/$(host_name "$1")"; }
hdocker() { local i=$1; shift; docker -H "unix://$(host_sock "$i")" "$@"; }

# True when the pid in file $1 runs in host $2's network namespace (a namespace deleted and made
# again leaves old daemons running, unreachable, in the old one).
in_host_netns() {
  local pid
  pid=$(<"$1")
  [[ $(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) == "$(stat -L -c %i "$(netns_path "$2")" 2>/dev/null)" ]]
}

pid_alive() {
  local file=$1 pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# Wait until a pid has exited, up to $2 seconds; SIGKILL after that.
stop_pid_file() {
  local file=$1 grace=$2 pid waited=0
  pid_alive "$file" || { rm -f "$file"; return 0; }
  pid=$(<"$file")
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= grace * 10)); then
      log "pid $pid did not stop in ${grace}s; killing"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$file"
}

# ---------------------------------------------------------------------------------------------
# Packages

package_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do package_installed "$p" || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  # Package scripts must not start system-wide sshd/dockerd: the test hosts run their own.
  flock /tmp/apt.lock bash -c '
    set -e
    export DEBIAN_FRONTEND=noninteractive
    own_policy=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
      own_policy=1
    fi
    trap "[[ -n \$own_policy ]] && rm -f /usr/sbin/policy-rc.d" EXIT
    if ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then apt-get update -q; fi
    if ! apt-get install -y -q --no-install-recommends "$@"; then
      apt-get update -q
      apt-get install -y -q --no-install-recommends "$@"
    fi
  ' install "${missing[@]}"
}

# ---------------------------------------------------------------------------------------------
# Network: one bridge on this machine with the gateway address; one namespace per host, joined to
# the bridge by a veth pair, so hosts reach this machine and each other (Swarm joins need that).

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  if ! ip -4 addr show dev "$BRIDGE" | grep -q "inet $GATEWAY/"; then
    ip addr add "$GATEWAY/$SUBNET_BITS" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  # A dockerd in this machine's own namespace may set FORWARD to DROP; bridged test traffic must
  # still pass when bridge-netfilter is active.
  if iptables -S FORWARD >/dev/null 2>&1 &&
    ! iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; then
    iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  fi
}

ensure_netns() {
  local i=$1 ns veth_host addr
  ns=$(host_name "$i")
  veth_host="$ns-br"
  addr=$(host_addr "$i")
  [[ -e $(netns_path "$i") ]] || ip netns add "$ns"
  if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
    ip link del "$veth_host" 2>/dev/null || true
    ip link add "$veth_host" type veth peer name "$ns-eth"
    ip link set "$ns-eth" netns "$ns"
    ip -n "$ns" link set "$ns-eth" name eth0
  fi
  ip link set "$veth_host" master "$BRIDGE"
  ip link set "$veth_host" up
  ip -n "$ns" link set lo up
  if ! ip -n "$ns" -4 addr show dev eth0 | grep -q "inet $addr/"; then
    ip -n "$ns" addr add "$addr/$SUBNET_BITS" dev eth0
  fi
  ip -n "$ns" link set eth0 up
  # No default route: nothing beyond the test subnet is reachable from a test host, and without a
  # route an attempt (a registry lookup, say) fails at once instead of waiting out a timeout.
  ip -n "$ns" route del default 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# dockerd

write_daemon_json() {
  local i=$1 dir
  dir=$(host_dir "$i")
  # Own bridge and address pools per host, away from the test subnet and from each other.
  cat >"$dir/daemon.json" <<EOF
{
  "bip": "10.220.$i.1/24",
  "default-address-pools": [ { "base": "10.$((220 + i)).0.0/16", "size": 24 } ],
  "storage-driver": "overlay2",
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "2" }
}
EOF
}

docker_ready() { hdocker "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_dockerd() {
  local i=$1 dir pidfile waited=0
  dir=$(host_dir "$i")
  pidfile="$dir/dockerd.pid"
  if pid_alive "$pidfile" && ! in_host_netns "$pidfile" "$i"; then
    log "$(host_name "$i"): dockerd runs in a stale network namespace; restarting it"
    stop_pid_file "$pidfile" 30
  fi
  if pid_alive "$pidfile" && [[ $(cat "$dir/dockerd.recipe" 2>/dev/null) != "$DOCKERD_RECIPE" ]]; then
    log "$(host_name "$i"): dockerd started the old way; restarting it"
    stop_pid_file "$pidfile" 30
  fi
  if pid_alive "$pidfile" && docker_ready "$i"; then return 0; fi
  if pid_alive "$pidfile"; then
    log "$(host_name "$i"): dockerd running but not answering; waiting"
  else
    mkdir -p "$dir/docker" "$(host_exec_root "$i")"
    write_daemon_json "$i"
    rm -f "$pidfile" "$(host_sock "$i")"
    # nsenter (not `ip netns exec`, which remounts /sys and hides the cgroup mounts dockerd needs).
    echo "$DOCKERD_RECIPE" >"$dir/dockerd.recipe"
    # Own UTS namespace so the daemon (and a Swarm node) carries the host's name. No registry is
    # reachable, so Swarm tasks use the images already on the host instead of trying to pull first.
    DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid nsenter --net="$(netns_path "$i")" unshare --uts \
      sh -c 'hostname "$1" && shift && exec dockerd "$@"' dockerd-host "$(host_name "$i")" \
      --config-file "$dir/daemon.json" \
      --data-root "$dir/docker" \
      --exec-root "$(host_exec_root "$i")" \
      --pidfile "$pidfile" \
      --host "unix://$(host_sock "$i")" \
      </dev/null >>"$dir/dockerd.log" 2>&1 9>&- &
  fi
  until docker_ready "$i"; do
    if ((waited >= DOCKERD_READY_SECONDS * 5)); then
      tail -n 20 "$dir/dockerd.log" >&2 || true
      die "$(host_name "$i"): dockerd did not answer within ${DOCKERD_READY_SECONDS}s (log: $dir/dockerd.log)"
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

ensure_swarm_manager() {
  local i=$1 state
  state=$(hdocker "$i" info --format '{{.Swarm.LocalNodeState}}')
  [[ $state == active ]] && return 0
  # No IPVS in this kernel: the ingress routing mesh will not route; tests publish in mode=host.
  hdocker "$i" swarm init --advertise-addr "$(host_addr "$i")" --listen-addr "$(host_addr "$i"):2377" \
    --default-addr-pool "$SWARM_POOL" >/dev/null
}

swarm_worker_state() {
  hdocker "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}} {{range .Swarm.RemoteManagers}}{{.Addr}},{{end}}'
}

# Host $1 becomes (or stays) a worker of host 1's swarm, Ready in the manager's node list. A worker
# that belongs to another swarm (host 1 cleaned and made again) leaves it first; nodes of this host
# that the manager still lists as down (earlier joins) are removed.
ensure_swarm_worker() {
  local i=$1 manager_addr state node_id managers waited=0 stale token
  manager_addr="$(host_addr "$SWARM_MANAGER"):2377"
  read -r state node_id managers < <(swarm_worker_state "$i")
  # A restarted worker reconnects by itself: give it time before judging it.
  while [[ $state == pending && $managers == *"$manager_addr"* ]] && ((waited < SWARM_READY_SECONDS * 5)); do
    sleep 0.2
    waited=$((waited + 1))
    read -r state node_id managers < <(swarm_worker_state "$i")
  done
  if [[ $state == active && $managers == *"$manager_addr"* ]] && hdocker "$SWARM_MANAGER" node inspect "$node_id" >/dev/null 2>&1; then
    :
  else
    [[ $state == inactive ]] || hdocker "$i" swarm leave --force >/dev/null
    stale=$(hdocker "$SWARM_MANAGER" node ls --filter "name=$(host_name "$i")" --format '{{.ID}} {{.Hostname}} {{.Status}}' |
      awk -v h="$(host_name "$i")" '$2 == h && $3 != "Ready" {print $1}')
    [[ -z $stale ]] || hdocker "$SWARM_MANAGER" node rm --force $stale >/dev/null
    token=$(hdocker "$SWARM_MANAGER" swarm join-token -q worker)
    log "$(host_name "$i"): joining the swarm of $(host_name "$SWARM_MANAGER") as a worker"
    hdocker "$i" swarm join --token "$token" --advertise-addr "$(host_addr "$i")" \
      --listen-addr "$(host_addr "$i"):2377" "$manager_addr" >/dev/null
    read -r state node_id managers < <(swarm_worker_state "$i")
  fi
  waited=0
  until [[ $(hdocker "$SWARM_MANAGER" node inspect --format '{{.Status.State}}' "$node_id" 2>/dev/null) == ready ]]; do
    if ((waited >= SWARM_READY_SECONDS * 5)); then
      die "$(host_name "$i"): swarm node $node_id not ready on $(host_name "$SWARM_MANAGER") within ${SWARM_READY_SECONDS}s"
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

# ---------------------------------------------------------------------------------------------
# sshd: same network namespace as the host's dockerd, plus a private mount namespace in which that
# dockerd's socket sits at the default path, so `ssh host docker …` talks to the host's own daemon.

ensure_client_key() {
  if [[ ! -s $STATE_DIR/id_ed25519 ]]; then
    rm -f "$STATE_DIR/id_ed25519" "$STATE_DIR/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C holdfast-test-client -f "$STATE_DIR/id_ed25519"
  fi
  cp "$STATE_DIR/id_ed25519.pub" "$STATE_DIR/authorized_keys"
  chmod 600 "$STATE_DIR/id_ed25519" "$STATE_DIR/authorized_keys"
}

write_sshd_config() {
  local i=$1 dir
  dir=$(host_dir "$i")
  if [[ ! -s $dir/ssh_host_ed25519_key ]]; then
    rm -f "$dir/ssh_host_ed25519_key" "$dir/ssh_host_ed25519_key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "$(host_name "$i")" -f "$dir/ssh_host_ed25519_key"
  fi
  cat >"$dir/sshd_config" <<EOF
ListenAddress $(host_addr "$i"):22
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $STATE_DIR/authorized_keys
# The state directory sits inside a checkout whose parent modes this script does not control.
StrictModes no
UsePAM no
PrintMotd no
PrintLastLog no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
ClientAliveInterval 30
LogLevel INFO
EOF
}

sshd_ready() {
  local i=$1
  timeout 1 bash -c "exec 3<>/dev/tcp/$(host_addr "$i")/22" 2>/dev/null
}

ensure_sshd() {
  local i=$1 dir pidfile waited=0
  dir=$(host_dir "$i")
  pidfile="$dir/sshd.pid"
  if pid_alive "$pidfile" && in_host_netns "$pidfile" "$i" && sshd_ready "$i" &&
    [[ $(cat "$dir/sshd.recipe" 2>/dev/null) == "$SSHD_RECIPE" ]]; then
    return 0
  fi
  stop_pid_file "$pidfile" 5
  write_sshd_config "$i"
  unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -t -f "$1"' \
    sshd-check "$dir/sshd_config" || die "$(host_name "$i"): invalid sshd config $dir/sshd_config"
  # A tmpfs on /run inside the private mount namespace gives sshd its privilege-separation
  # directory and a /var/run/docker.sock without touching this machine's /run. The socket path is a
  # symlink rather than a bind mount of the socket file: dockerd makes a new socket inode each time
  # it starts, and a bind mount would keep pointing at the old one. root's home is a fresh tmpfs, as
  # on a new server: this machine's shell startup files stay out of the hosts' sessions.
  setsid nsenter --net="$(netns_path "$i")" unshare --mount --propagation private --uts \
    sh -c 'hostname "$4" && mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd &&
           ln -s "$1" /run/docker.sock && mount -t tmpfs -o mode=700 tmpfs /root &&
           exec /usr/sbin/sshd -D -f "$2" -E "$3"' \
    sshd-host "$(host_sock "$i")" "$dir/sshd_config" "$dir/sshd.log" "$(host_name "$i")" \
    </dev/null >>"$dir/sshd.log" 2>&1 9>&- &
  echo "$SSHD_RECIPE" >"$dir/sshd.recipe"
  until pid_alive "$pidfile" && sshd_ready "$i"; do
    if ((waited >= SSHD_READY_SECONDS * 5)); then
      tail -n 20 "$dir/sshd.log" >&2 || true
      die "$(host_name "$i"): sshd did not listen on $(host_addr "$i"):22 within ${SSHD_READY_SECONDS}s"
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

host_key_fingerprint() {
  ssh-keygen -l -E sha256 -f "$(host_dir "$1")/ssh_host_ed25519_key.pub" | awk '{print $2}'
}

# ---------------------------------------------------------------------------------------------
# Test image: busybox-static with its applets, httpd serving /www on 8080. Built once with
# `docker import`, saved, and loaded into every host so the image ID is the same everywhere.

image_tar() { echo "$STATE_DIR/images/busybox-r$IMAGE_RECIPE-$1.tar"; }

build_rootfs() {
  local root=$1 version=$2 applet
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,www,var/log}
  chmod 1777 "$root/tmp"
  chmod 700 "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list-full); do
    [[ $applet == bin/busybox ]] && continue
    ln -sf /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf '<!doctype html><title>holdfast test</title><p>holdfast-test busybox v%s</p>\n' "$version" \
    >"$root/www/index.html"
}

# Imports version $2 into host $1 and saves it as a tarball for the other hosts.
import_image() {
  local i=$1 version=$2 work tag
  tag="$IMAGE_REPO:$version"
  work=$(mktemp -d)
  build_rootfs "$work/rootfs" "$version"
  tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 -C "$work/rootfs" -c . |
    hdocker "$i" import \
      --change 'CMD ["httpd","-f","-v","-p","8080","-h","/www"]' \
      --change 'EXPOSE 8080' \
      --change "LABEL dev.holdfast.test-image.recipe=$IMAGE_RECIPE dev.holdfast.test-image.version=$version" \
      - "$tag" >/dev/null
  rm -rf "$work"
  mkdir -p "$STATE_DIR/images"
  hdocker "$i" save -o "$(image_tar "$version").tmp" "$tag"
  mv "$(image_tar "$version").tmp" "$(image_tar "$version")"
}

has_current_image() {
  local recipe
  recipe=$(hdocker "$1" image inspect --format '{{index .Config.Labels "dev.holdfast.test-image.recipe"}}' \
    "$IMAGE_REPO:$2" 2>/dev/null) || return 1
  [[ $recipe == "$IMAGE_RECIPE" ]]
}

ensure_images() {
  local i=$1 version
  for version in 1 2; do
    has_current_image "$i" "$version" && continue
    if [[ -s $(image_tar "$version") ]]; then
      hdocker "$i" load -q -i "$(image_tar "$version")" >/dev/null
    else
      import_image "$i" "$version"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# Descriptions for tests

running_hosts() {
  local i
  for ((i = 1; i <= MAX_HOSTS; i++)); do
    [[ -e $(netns_path "$i") ]] && pid_alive "$(host_dir "$i")/dockerd.pid" && echo "$i"
  done
  return 0
}

is_swarm_worker() { (($1 > SWARM_MANAGER && $1 <= SWARM_LAST_WORKER)); }
joined_swarm() { [[ $(hdocker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null) == active ]]; }

json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

write_hosts_json() {
  local first=1 i out="$STATE_DIR/hosts.json"
  {
    printf '{\n  "stateDir": %s,\n' "$(json_string "$STATE_DIR")"
    printf '  "subnet": "%s.0/%s",\n  "gateway": "%s",\n' "$SUBNET_PREFIX" "$SUBNET_BITS" "$GATEWAY"
    printf '  "images": { "v1": "%s:1", "v2": "%s:2" },\n' "$IMAGE_REPO" "$IMAGE_REPO"
    printf '  "hosts": ['
    for i in $(running_hosts); do
      ((first)) || printf ','
      first=0
      printf '\n    {\n'
      printf '      "index": %d,\n      "name": "%s",\n      "address": "%s",\n' "$i" "$(host_name "$i")" "$(host_addr "$i")"
      printf '      "port": 22,\n      "user": "root",\n'
      printf '      "privateKeyPath": %s,\n' "$(json_string "$STATE_DIR/id_ed25519")"
      printf '      "hostKeyFingerprint": "%s",\n' "$(host_key_fingerprint "$i")"
      printf '      "hostPublicKey": "%s",\n' "$(awk '{print $1" "$2}' "$(host_dir "$i")/ssh_host_ed25519_key.pub")"
      printf '      "dockerSocket": %s,\n' "$(json_string "$(host_sock "$i")")"
      printf '      "remoteDockerSocket": "/var/run/docker.sock",\n'
      printf '      "swarmManager": %s,\n' "$([[ $i == "$SWARM_MANAGER" ]] && echo true || echo false)"
      printf '      "swarmWorker": %s,\n' "$(is_swarm_worker "$i" && joined_swarm "$i" && echo true || echo false)"
      printf '      "dockerdPidFile": %s,\n' "$(json_string "$(host_dir "$i")/dockerd.pid")"
      printf '      "sshdPidFile": %s\n    }' "$(json_string "$(host_dir "$i")/sshd.pid")"
    done
    printf '\n  ]\n}\n'
  } >"$out.tmp"
  mv "$out.tmp" "$out"
}

print_env() {
  local i n=0 hosts
  hosts=$(running_hosts)
  [[ -n $hosts ]] || die "no test hosts are running; run: $0 start"
  printf 'export HF_TESTHOSTS_DIR=%q\n' "$STATE_DIR"
  printf 'export HF_TEST_IMAGE_V1=%q\nexport HF_TEST_IMAGE_V2=%q\n' "$IMAGE_REPO:1" "$IMAGE_REPO:2"
  for i in $hosts; do
    n=$((n + 1))
    printf 'export HF_HOST%d_NAME=%q\n' "$i" "$(host_name "$i")"
    printf 'export HF_HOST%d_ADDR=%q\n' "$i" "$(host_addr "$i")"
    printf 'export HF_HOST%d_PORT=22\n' "$i"
    printf 'export HF_HOST%d_USER=root\n' "$i"
    printf 'export HF_HOST%d_KEY=%q\n' "$i" "$STATE_DIR/id_ed25519"
    printf 'export HF_HOST%d_HOSTKEY_FINGERPRINT=%q\n' "$i" "$(host_key_fingerprint "$i")"
    printf 'export HF_HOST%d_DOCKER_SOCK=%q\n' "$i" "$(host_sock "$i")"
    [[ $i == "$SWARM_MANAGER" ]] && printf 'export HF_HOST%d_SWARM_MANAGER=1\n' "$i"
    is_swarm_worker "$i" && joined_swarm "$i" && printf 'export HF_HOST%d_SWARM_WORKER=1\n' "$i"
  done
  printf 'export HF_HOST_COUNT=%d\n' "$n"
}

# The state directory whose hosts run on this machine now, if any.
OWNER_FILE="$EXEC_ROOT_BASE/state-dir"
ensure_owner() {
  local mine owner i
  mine=$(realpath "$STATE_DIR")
  if [[ -s $OWNER_FILE ]]; then
    owner=$(<"$OWNER_FILE")
    if [[ $owner != "$mine" ]]; then
      for ((i = 1; i <= MAX_HOSTS; i++)); do
        pid_alive "$owner/h$i/dockerd.pid" || pid_alive "$owner/h$i/sshd.pid" || continue
        die "the test hosts on this machine run from $owner; use them with HOLDFAST_TESTHOSTS_DIR=$owner, or stop them first with HOLDFAST_TESTHOSTS_DIR=$owner $0 stop"
      done
    fi
  fi
  mkdir -p "$EXEC_ROOT_BASE"
  printf '%s\n' "$mine" >"$OWNER_FILE"
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_start() {
  local count=${1:-2} i
  [[ $count =~ ^[0-9]+$ ]] && ((count >= 1 && count <= MAX_HOSTS)) ||
    die "host count must be a number from 1 to $MAX_HOSTS, got '$count'"
  ensure_packages
  ensure_bridge
  ensure_client_key
  for ((i = 1; i <= count; i++)); do
    mkdir -p "$(host_dir "$i")"
    ensure_netns "$i"
    ensure_dockerd "$i"
    ((i == SWARM_MANAGER)) && ensure_swarm_manager "$i"
    is_swarm_worker "$i" && ensure_swarm_worker "$i"
    ensure_sshd "$i"
    ensure_images "$i"
  done
  write_hosts_json
  log "$count host(s) ready; description in $STATE_DIR/hosts.json"
}

cmd_stop() {
  local i dir
  for ((i = 1; i <= MAX_HOSTS; i++)); do
    dir=$(host_dir "$i")
    [[ -d $dir || -e $(netns_path "$i") ]] || continue
    stop_pid_file "$dir/sshd.pid" 5
    stop_pid_file "$dir/dockerd.pid" 30
    ip netns del "$(host_name "$i")" 2>/dev/null || true
    ip link del "$(host_name "$i")-br" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
  [[ -f $STATE_DIR/hosts.json ]] && write_hosts_json
  log "stopped"
}

cmd_status() {
  local i dir ns sshd dockerd api any=0
  for ((i = 1; i <= MAX_HOSTS; i++)); do
    dir=$(host_dir "$i")
    [[ -d $dir || -e $(netns_path "$i") ]] || continue
    any=1
    ns=absent; [[ -e $(netns_path "$i") ]] && ns=present
    dockerd=stopped; pid_alive "$dir/dockerd.pid" && dockerd="running(pid $(<"$dir/dockerd.pid"))"
    sshd=stopped; pid_alive "$dir/sshd.pid" && sshd="running(pid $(<"$dir/sshd.pid"))"
    api=down; docker_ready "$i" && api=up
    printf '%s %s netns=%s dockerd=%s api=%s sshd=%s\n' "$(host_name "$i")" "$(host_addr "$i")" "$ns" "$dockerd" "$api" "$sshd"
  done
  ((any)) || echo "no test hosts in $STATE_DIR"
}

main() {
  local cmd=${1:-}
  shift || true
  [[ $(id -u) == 0 ]] || die "must run as root (network namespaces, dockerd)"
  case $cmd in
  start | stop | clean)
    mkdir -p "$STATE_DIR"
    chmod 700 "$STATE_DIR"
    # One runner at a time: concurrent test processes may all ask for hosts.
    exec 9>"$STATE_DIR/run.lock"
    flock 9
    ensure_owner
    case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop ;;
    clean) cmd_stop && rm -rf "$STATE_DIR"/h* "$STATE_DIR"/images "$STATE_DIR"/hosts.json ;;
    esac
    ;;
  status) cmd_status ;;
  env) print_env ;;
  *)
    echo "usage: $0 start [N] | stop | status | env | clean" >&2
    exit 2
    ;;
  esac
}

main "$@"
