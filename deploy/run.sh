#!/usr/bin/env bash
# Serve the app with REPLICAS processes behind HAProxy on PORT, in the foreground:
#
#     deploy/run.sh REPLICAS PORT
#
# Each replica is `streamlit run app.py` on 127.0.0.1 (ports PORT+1, PORT+2, ...; or from $BNN_REPLICA_PORT on),
# and they share one run store, $BNN_SHARED_RUNS (default: .shared-runs/ in the repository), so that a link opened
# on one replica and then on another trains once. HAProxy (deploy/haproxy.cfg) listens on PORT on every address,
# with sticky sessions and websockets. SIGTERM or Ctrl-C stops everything; so does any one process ending (a
# supervisor such as systemd then starts the whole again). Needs haproxy: apt-get install -y haproxy.
set -euo pipefail

usage="usage: deploy/run.sh REPLICAS PORT  (e.g. deploy/run.sh 2 8501)"
if [[ $# -ne 2 || ! $1 =~ ^[1-9][0-9]*$ || ! $2 =~ ^[1-9][0-9]*$ ]]; then
    echo "$usage" >&2
    exit 2
fi
replicas=$1
port=$2
first=${BNN_REPLICA_PORT:-$((port + 1))}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$(command -v python || command -v python3)}
if ! command -v haproxy >/dev/null; then
    echo "deploy/run.sh needs HAProxy: apt-get install -y haproxy" >&2
    exit 2
fi
export BNN_SHARED_RUNS=${BNN_SHARED_RUNS:-$root/.shared-runs}
mkdir -p "$BNN_SHARED_RUNS"
scratch=$(mktemp -d -t bnn-deploy-XXXXXX)
pids=()

stop_all() {
    trap - TERM INT
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do  # up to 10 s for a graceful stop, then no more waiting
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ $alive == 0 ]] && break
        sleep 0.2
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$scratch"
}
trap 'stop_all; exit 143' TERM
trap 'stop_all; exit 130' INT

# The proxy's config: deploy/haproxy.cfg and one server line per replica, checked before anything starts.
config=$scratch/haproxy.cfg
cp "$root/deploy/haproxy.cfg" "$config"
for ((i = 1; i <= replicas; i++)); do
    echo "    server r$i 127.0.0.1:$((first + i - 1)) cookie r$i" >>"$config"
done
export BNN_PROXY_PORT=$port
haproxy -c -q -f "$config"

cd "$root"  # Streamlit reads .streamlit/config.toml from the folder it starts in
# Two malloc arenas per replica, unless set otherwise: with glibc's default of 8 per core, what a closed room freed
# stayed scattered over many of them (ui/server/heap.py, docs/server.md#memory-after-a-room).
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
for ((i = 1; i <= replicas; i++)); do
    BNN_REPLICA=r$i "$python" -m streamlit run app.py --server.headless true \
        --server.address 127.0.0.1 --server.port $((first + i - 1)) &
    pids+=($!)
done
# The proxy starts once every replica listens, so that the first browsers find them all up.
for ((i = 1; i <= replicas; i++)); do
    until (exec 3<>"/dev/tcp/127.0.0.1/$((first + i - 1))") 2>/dev/null; do
        if ! kill -0 "${pids[i - 1]}" 2>/dev/null; then
            echo "deploy/run.sh: replica r$i did not start" >&2
            stop_all
            exit 1
        fi
        sleep 0.2
    done
done
haproxy -db -f "$config" &
pids+=($!)
echo "deploy/run.sh: $replicas replica(s) behind HAProxy at http://localhost:$port (runs shared in $BNN_SHARED_RUNS)"

set +e
wait -n "${pids[@]}"
status=$?
set -e
echo "deploy/run.sh: a process ended (exit $status); stopping the others" >&2
stop_all
exit 1
