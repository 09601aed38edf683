#!/usr/bin/env bash
# An S3-compatible server for the test command: moto's server from the venv target/venvs/s3,
# in memory, on a free loopback port, with the bucket `hangar-test`.
#
#   start_moto    sets S3_ENDPOINT (http://127.0.0.1:PORT) and MOTO_PID (its process group);
#                 the caller stops it with: kill -TERM -- -$MOTO_PID

start_moto() {
    local port i
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$LOG_ROOT"
    setsid "$VENV_ROOT/s3/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOG_ROOT/moto.log" 2>&1 </dev/null &
    MOTO_PID=$!
    S3_ENDPOINT=http://127.0.0.1:$port
    for i in $(seq 1 100); do
        if curl -sf -o /dev/null "$S3_ENDPOINT/"; then
            # moto accepts any credentials; the bucket must exist before the first write.
            curl -sf -o /dev/null -X PUT "$S3_ENDPOINT/hangar-test" && return 0
        fi
        kill -0 "$MOTO_PID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
