#!/usr/bin/env bash
# How fast the router follows a command, and what HTTPS through it costs:
#  1. maintenance:on → the first 503 a client sees, and ps:resume → the held
#     request's answer, both from the command's start over SSH, against the
#     bare minimum in the same run: the same SSH door running `version`.
#     Skiff's own part (the difference) targets ≤ 100 ms.
#  2. A TLS handshake and first byte through the router (a custom
#     certificate made here) against a plain request straight to the app's
#     instance, with curl's own timings.
# Prints medians of RUNS each and their ratios.
# Needs: the set-up (npm start or npm test ran once), curl, openssl.
# Usage: bench/router-change.sh [RUNS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
# shellcheck source=bench/lib.sh
source bench/lib.sh
needs curl openssl
bash scripts/setup.sh --test >/dev/null

work="$(mktemp -d /tmp/skiff-bench.XXXXXX)"
pids=()
cleanup() {
  stop_all
  pkill -f "$work/home/caddy/holds" 2>/dev/null || true
  docker rm -f $(docker ps -aq --filter label=skiff.app=rc) >/dev/null 2>&1 || true
  docker rmi -f $(docker images -q --filter label=skiff.app=rc) >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$work/id"
skiff_port="$(free_port)"
router_port="$(free_port)"
tls_port="$(free_port)"
# The CA is never reached: the app's host has a custom certificate, which Caddy serves instead of asking for one.
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$router_port" SKIFF_ROUTER_TLS_PORT="$tls_port" SKIFF_HTTP_PORT=0 SKIFF_DRAIN_SECONDS=0 \
  SKIFF_ACME_EMAIL=bench@skiff.test SKIFF_ACME_CA=https://127.0.0.1:9/dir
start_skiff
ssh_cmd=(ssh -i "$work/id" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p "$skiff_port" git@127.0.0.1)
export GIT_SSH_COMMAND="ssh -i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
work_trees main rc
git -C "$work/rc-app" remote add paas "ssh://git@127.0.0.1:$skiff_port/rc.git"
git -C "$work/rc-app" push -q paas main 2>/dev/null

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.crt" -days 2 -subj /CN=bench-root -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/rc.key" -out "$work/rc.csr" -subj /CN=rc.localhost 2>/dev/null
printf 'subjectAltName=DNS:rc.localhost\n' > "$work/rc.ext"
openssl x509 -req -in "$work/rc.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -out "$work/rc.crt" -extfile "$work/rc.ext" -days 2 2>/dev/null
cat "$work/rc.crt" "$work/rc.key" | "${ssh_cmd[@]}" certs:add rc >/dev/null

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# probe.js PORT STATUS CA: asks over HTTPS every 2 ms on one connection; prints when STATUS first comes (at most 10 s).
# held.js PORT CA: one request, printing when it is answered.
cat > "$work/probe.js" <<'PROBE'
const https = require('https'); const fs = require('fs');
const [port, want, ca] = [process.argv[2], Number(process.argv[3]), fs.readFileSync(process.argv[4])];
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
const end = Date.now() + 10000;
const ask = () => new Promise((resolve) => https.get({ host: '127.0.0.1', port, servername: 'rc.localhost', headers: { host: 'rc.localhost' }, ca, agent }, (r) => { r.resume(); r.on('end', () => resolve(r.statusCode)); }).on('error', () => resolve(0)));
(async () => { while (Date.now() < end) { if ((await ask()) === want) { console.log(Date.now()); process.exit(0); } await new Promise((r) => setTimeout(r, 2)); } console.log(-1); })();
PROBE
cat > "$work/held.js" <<'HELD'
const https = require('https'); const fs = require('fs');
const [port, ca] = [process.argv[2], fs.readFileSync(process.argv[3])];
https.get({ host: '127.0.0.1', port, servername: 'rc.localhost', headers: { host: 'rc.localhost' }, ca, agent: false }, (r) => { r.resume(); r.on('end', () => console.log(Date.now())); }).on('error', () => console.log(-1));
HELD

baseline=() maintenance=() resume=()
for _ in $(seq 1 "$runs"); do
  start=$(now_ms); "${ssh_cmd[@]}" version >/dev/null; baseline+=($(( $(now_ms) - start )))

  node "$work/probe.js" "$tls_port" 503 "$work/ca.crt" > "$work/seen" & probe=$!
  sleep 0.3
  start=$(now_ms); "${ssh_cmd[@]}" maintenance:on rc >/dev/null; wait "$probe"
  maintenance+=($(( $(cat "$work/seen") - start )))
  "${ssh_cmd[@]}" maintenance:off rc >/dev/null

  "${ssh_cmd[@]}" ps:pause rc --max 60 >/dev/null
  node "$work/held.js" "$tls_port" "$work/ca.crt" > "$work/answered" & held=$!
  sleep 0.3
  start=$(now_ms); "${ssh_cmd[@]}" ps:resume rc >/dev/null; wait "$held"
  resume+=($(( $(cat "$work/answered") - start )))
done

# TLS: handshake and first byte through the router, against a plain request to the instance.
instance="$(docker port "$(docker ps -q --filter label=skiff.app=rc --filter label=skiff.process=web | head -1)" 5000/tcp | head -1)"
tls=() direct=()
for _ in $(seq 1 "$runs"); do
  tls+=("$(curl -s -o /dev/null -w '%{time_starttransfer}' --cacert "$work/ca.crt" --resolve "rc.localhost:$tls_port:127.0.0.1" "https://rc.localhost:$tls_port/")")
  direct+=("$(curl -s -o /dev/null -w '%{time_starttransfer}' "http://$instance/")")
done

node -e '
const [b, m, r, t, d] = process.argv.slice(1).map((s) => s.trim().split(/\s+/).map(Number));
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
console.log(`median ssh round trip (version): ${med(b)} ms`);
console.log(`median maintenance:on to first 503: ${med(m)} ms; Skiff\x27s own part ${med(m) - med(b)} ms (target <= 100); ratio ${(med(m) / med(b)).toFixed(2)}`);
console.log(`median ps:resume to the held request answered: ${med(r)} ms; Skiff\x27s own part ${med(r) - med(b)} ms (target <= 100); ratio ${(med(r) / med(b)).toFixed(2)}`);
console.log(`median TLS handshake + first byte through the router: ${(med(t) * 1000).toFixed(1)} ms; plain request to the instance: ${(med(d) * 1000).toFixed(1)} ms; ratio ${(med(t) / med(d)).toFixed(2)}`);
' "${baseline[*]}" "${maintenance[*]}" "${resume[*]}" "${tls[*]}" "${direct[*]}"
