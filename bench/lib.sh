# Shared by the benchmarks (sourced, not run): loopback ports, OpenSSH's sshd
# as the baseline's door, a Skiff server, and the fixture app as git work trees.
# Each expects $work (a temporary folder) and a pids array its cleanup kills.

# needs TOOL...: stops with the line that installs them when one is missing.
needs() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo " !     $tool is missing: apt-get install hyperfine openssh-server curl" >&2; exit 1; }
  done
}

# Ends the benchmark's processes, and its Skiff's Caddy (which outlives the server on purpose).
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/home/caddy/caddy.pid" ] && kill "$(cat "$work/home/caddy/caddy.pid")" 2>/dev/null || true
}

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# OpenSSH's sshd on loopback, letting $work/id in as root; sets sshd_port.
start_sshd() {
  sshd_port="$(free_port)"
  ssh-keygen -q -t ed25519 -N '' -f "$work/sshd_host_key"
  cp "$work/id.pub" "$work/authorized_keys"
  mkdir -p /run/sshd
  cat > "$work/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $sshd_port
HostKey $work/sshd_host_key
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
PidFile $work/sshd.pid
CONF
  /usr/sbin/sshd -D -f "$work/sshd_config" -E "$work/sshd.log" &
  pids+=($!)
}

# `skiff server` with the SKIFF_* settings exported by the caller, $work/id.pub as admin key 'bench'.
start_skiff() {
  node bin/skiff.js keys:add bench --admin < "$work/id.pub" >/dev/null
  node bin/skiff.js server > "$work/skiff.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do grep -q 'listening for SSH' "$work/skiff.log" && break; sleep 0.2; done
}

# A git work tree $work/NAME-app of the hello fixture, one commit on BRANCH: work_trees BRANCH NAME...
work_trees() {
  local branch="$1" name
  shift
  for name in "$@"; do
    mkdir -p "$work/$name-app"
    cp -r test/fixtures/apps/dockerfile-hello/. "$work/$name-app/"
    git -C "$work/$name-app" init -q -b "$branch"
    git -C "$work/$name-app" add -A
    git -C "$work/$name-app" -c user.name=b -c user.email=b@b commit -qm init
  done
}

# $work/by-hand.sh WORK NAME: what Skiff does for a Dockerfile app, step for step,
# by hand: push the NAME-app work tree to its bare repo behind sshd, archive,
# docker build, docker run, wait for HTTP 200, stop the old container.
write_by_hand() {
  cat > "$work/by-hand.sh" <<'HAND'
#!/usr/bin/env bash
set -euo pipefail
work="$1" name="$2"
# Each step's milliseconds, one run per block in $work/NAME-steps.txt, for the breakdown beside Skiff's.
last="$(date +%s%N)"
step() { local now; now="$(date +%s%N)"; echo "$1 $(((now - last) / 1000000))" >>"$work/$name-steps.txt"; last="$now"; }
cd "$work/$name-app"
git push -q origin main
step push
sha="$(git rev-parse HEAD)"
rm -rf "$work/checkout-$name" && mkdir "$work/checkout-$name"
git -C "$work/$name.git" archive --format=tar "$sha" | tar -x -C "$work/checkout-$name"
step archive
docker build -q -t "skiff-bench-$name:latest" "$work/checkout-$name" >/dev/null
step "docker build"
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
old="$(docker ps -q --filter label=skiff.bench="$name")"
docker run -d --label skiff.bench="$name" -e PORT=5000 -p "127.0.0.1:$port:5000" --restart unless-stopped --init "skiff-bench-$name:latest" >/dev/null
step "docker run"
until curl -fs -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.2; done
step "first answer"
[ -z "$old" ] || docker rm -f $old >/dev/null
step "stop old"
echo -- >>"$work/$name-steps.txt"
HAND
  chmod +x "$work/by-hand.sh"
}

# A new commit in $work/NAME-app: change NAME
change() { echo "change $RANDOM$RANDOM" > "$work/$1-app/index.html" && git -C "$work/$1-app" -c user.name=b -c user.email=b@b commit -qam change; }

# The resident memory of a process, in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# The medians of hyperfine's two commands in RESULTS and their ratio, against TARGET:
# print_ratio RESULTS BASELINE_COMMAND SKIFF_COMMAND TARGET
print_ratio() {
  node -e '
const [file, base, skiff, target] = process.argv.slice(1);
const r = require(file).results;
const med = (name) => r.find((x) => x.command === name).median;
const width = Math.max(base.length, skiff.length) + 1;
console.log(`median ${`${base}:`.padEnd(width)} ${med(base).toFixed(3)} s`);
console.log(`median ${`${skiff}:`.padEnd(width)} ${med(skiff).toFixed(3)} s`);
console.log(`ratio skiff / ${base}: ${(med(skiff) / med(base)).toFixed(2)} (target <= ${target})`);
' "$@"
}
