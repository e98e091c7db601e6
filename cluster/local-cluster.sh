#!/usr/bin/env bash
# Start, stop or inspect a Dask scheduler and N workers on this host, for
# `distinc update STORE --scheduler ADDRESS` (or DASK_SCHEDULER_ADDRESS=ADDRESS).
#
# Each of the two commands it starts (the scheduler, the workers) runs in a session of its own,
# so `stop` can end each one with everything it spawned (worker nannies and their processes).
set -euo pipefail

usage() {
    cat <<USAGE
usage: $0 start|stop|status [options]

  start    start a scheduler and the workers, wait until the workers joined, print the address
  stop     stop them (SIGTERM, then SIGKILL after --grace seconds); nothing is left running
  status   print the address and the number of workers; exit 0 if running, 3 if not

options (each also read from the environment variable in brackets):
  --workers N        worker processes [DISTINC_WORKERS] (default: the number of CPU cores)
  --threads N        threads per worker [DISTINC_THREADS] (default: 1; partial_fit is serial)
  --memory-limit M   memory per worker, e.g. 4GiB [DISTINC_MEMORY_LIMIT] (default: auto)
  --host HOST        interface to listen on [DISTINC_HOST] (default: 127.0.0.1)
  --port PORT        scheduler port, 0 for any free port [DISTINC_PORT] (default: 8786)
  --dashboard ADDR   scheduler dashboard address [DISTINC_DASHBOARD] (default: :8787)
  --dir DIR          pid files, scheduler file, logs and worker scratch space [DISTINC_CLUSTER_DIR]
                     (default: \$XDG_STATE_HOME/distinc/local-cluster or ~/.local/state/...)
  --python PY        a Python that has distinc installed [DISTINC_PYTHON] (default: python3)
  --grace SECONDS    how long stop waits before SIGKILL [DISTINC_GRACE] (default: 15)
USAGE
}

command=${1:-}
[[ $# -gt 0 ]] && shift
workers=${DISTINC_WORKERS:-$(nproc)}
threads=${DISTINC_THREADS:-1}
memory_limit=${DISTINC_MEMORY_LIMIT:-auto}
host=${DISTINC_HOST:-127.0.0.1}
port=${DISTINC_PORT:-8786}
dashboard=${DISTINC_DASHBOARD:-:8787}
dir=${DISTINC_CLUSTER_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/distinc/local-cluster}
python=${DISTINC_PYTHON:-python3}
grace=${DISTINC_GRACE:-15}

while [[ $# -gt 0 ]]; do
    case $1 in
        --workers) workers=$2 ;;
        --threads) threads=$2 ;;
        --memory-limit) memory_limit=$2 ;;
        --host) host=$2 ;;
        --port) port=$2 ;;
        --dashboard) dashboard=$2 ;;
        --dir) dir=$2 ;;
        --python) python=$2 ;;
        --grace) grace=$2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "$0: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift 2
done

scheduler_file=$dir/scheduler.json

alive() { # alive PIDFILE: the process group recorded in PIDFILE still has a member
    [[ -f $1 ]] && kill -0 -- "-$(cat "$1")" 2>/dev/null
}

started() { # started PIDFILE: the process recorded in PIDFILE is still running
    # (its group may not exist yet: setsid has not necessarily run when this is first asked)
    [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

address() {
    "$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["address"])' "$scheduler_file"
}

stop_group() { # stop_group NAME: SIGTERM the group, SIGKILL it after the grace period
    local pidfile=$dir/$1.pid
    if alive "$pidfile"; then
        local group
        group=$(cat "$pidfile")
        kill -TERM -- "-$group" 2>/dev/null || true
        local waited=0
        while kill -0 -- "-$group" 2>/dev/null && ((waited < grace * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 -- "-$group" 2>/dev/null; then
            echo "$1 did not stop within ${grace}s; killing it" >&2
            kill -KILL -- "-$group" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

do_stop() {
    local was_running=no
    { alive "$dir/workers.pid" || alive "$dir/scheduler.pid"; } && was_running=yes
    stop_group workers
    stop_group scheduler
    rm -f "$scheduler_file"
    if [[ $was_running == yes ]]; then echo "stopped the cluster in $dir"; else echo "not running"; fi
}

do_status() {
    if ! alive "$dir/scheduler.pid" || [[ ! -f $scheduler_file ]]; then
        echo "not running"
        return 3
    fi
    "$python" - "$scheduler_file" <<'PY'
import sys
from distributed import Client

with Client(scheduler_file=sys.argv[1], timeout="10s") as client:
    info = client.scheduler_info(n_workers=-1)
    print(f"scheduler {info['address']} with {len(info['workers'])} worker(s)")
PY
}

do_start() {
    if alive "$dir/scheduler.pid"; then
        echo "$0: a cluster is already running from $dir at $(address); stop it first" >&2
        exit 1
    fi
    mkdir -p "$dir/scratch"
    rm -f "$scheduler_file"
    local listen=()
    [[ $host != 0.0.0.0 ]] && listen=(--host "$host")

    # One task per worker thread at a time, as in distinc's own LocalCluster: the next fit of a
    # partial_fit chain then never waits behind a scan queued on its worker.
    DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION=1.0 \
        setsid "$python" -m dask scheduler --host "$host" --port "$port" \
        --dashboard-address "$dashboard" --scheduler-file "$scheduler_file" \
        >"$dir/scheduler.log" 2>&1 </dev/null &
    echo $! >"$dir/scheduler.pid"
    local waited=0
    until [[ -s $scheduler_file ]]; do
        if ! started "$dir/scheduler.pid" || ((waited > 600)); then
            echo "$0: the scheduler did not start; see $dir/scheduler.log:" >&2
            tail -n 20 "$dir/scheduler.log" >&2
            stop_group scheduler
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done

    # `distinc worker` is `dask worker` in the environment distinc's own LocalCluster gives its
    # workers (glibc's and NumPy's settings for this memory limit); the nannies pass it on.
    setsid "$python" -m distinc worker \
        --scheduler-file "$scheduler_file" "${listen[@]}" --nworkers "$workers" \
        --nthreads "$threads" --memory-limit "$memory_limit" --local-directory "$dir/scratch" \
        >"$dir/workers.log" 2>&1 </dev/null &
    echo $! >"$dir/workers.pid"
    if ! "$python" - "$scheduler_file" "$workers" <<'PY'; then
import sys
from distributed import Client

with Client(scheduler_file=sys.argv[1], timeout="30s") as client:
    client.wait_for_workers(int(sys.argv[2]), timeout=120)
PY
        echo "$0: the workers did not join; see $dir/workers.log:" >&2
        tail -n 20 "$dir/workers.log" >&2
        do_stop >/dev/null
        exit 1
    fi
    echo "scheduler $(address) with $workers worker(s); logs in $dir; stop with: $0 stop --dir $dir"
}

case $command in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
