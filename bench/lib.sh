# Shared by the benchmarks (sourced, not run): loopback ports, OpenSSH's sshd
# as the baseline's door, a Skiff server, and the fixture app as git work trees.
# Each expects $work (a temporary folder) and a pids array its cleanup kills.

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
