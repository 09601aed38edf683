#!/usr/bin/env python3
"""Hangar against the reference `mlflow server` and FastTrackML: the same HTTP workloads on
each, one server at a time, every figure printed with Hangar's ratio to each peer.

Run through `scripts/bench`, which builds Hangar, prepares the tools and PostgreSQL, and then
calls this file. Standard library only (it runs in the mlflow venv, or any Python >= 3.9).

Workloads (sizes in brackets are --quick's):
  log-batch     POST runs/log-batch, 1000 metric points per call (10 keys x 100 steps), every
                call new points (distinct steps), one run per client; 1 and 8 clients
  log-metric    POST runs/log-metric, one new point per call, one run per client; 16 clients
  run mix       runs/create (the body `mlflow.start_run` sends) then runs/get of that run; 8 clients
  search        POST runs/search, filter "metrics.acc > 0.5 and params.model = 'cnn'",
                max_results 100, over an experiment of 2,000 [300] and 20,000 [1,500] runs
                (each run: metric acc, param model), by oha, 1 client
  get-history   100,000 [10,000] points of one key logged in batches of 1000, then fetched
                as the MLflow client does (max_results=25000, following next_page_token);
                p50 of 5 [3] fetches and the server's RSS growth while fetching
  idle RSS      VmRSS of the server's whole process tree after start-up and a warm-up
  registry      (Hangar and MLflow; FastTrackML has no registry) model-versions/create of 250
                [50] versions of one model from 1 client, then 250 [50] more from 8 clients;
                model-versions/get and registered-models/get-latest-versions at 8 clients
                (oha) on that model and, for comparison, on a model with one version;
                model-versions/search of all its versions (one page), 1 client; and the
                same creates (1 and 8 clients) of a second model whose versions all come
                from one run (`runs:/<run>/model` with `run_id`, as mlflow.register_model
                sends: MLflow lets a run back any number of versions)
  file transfers (`--workloads files`; after the others on each server) 1 GiB [128 MiB] of
                random bytes with `curl` as the only client, each transfer 3 times (the
                ceiling 5; the fastest counts: other work on a shared machine only slows a
                transfer down, and every run is shown), every upload to a new path, the
                server's whole process tree's peak RSS sampled every 20 ms:
    artifact_upload_1g / artifact_download_1g   PUT / GET <tracking>/api/2.0/mlflow-artifacts/
                artifacts/0/bench/artifacts/<file>   (Hangar and MLflow)
    package_upload_1g / package_download_1g     PUT / GET /api/v4/projects/1/packages/generic/
                bench/1.0.0/<file>   (Hangar only: MLflow has no such API)
    artifact_upload_2g   one 2 GiB PUT (Hangar only; not in --quick): memory stays flat
    curl_ceiling   the same curl PUT and GET against nginx on loopback (WebDAV PUT, sendfile
                GET), the machine's ceiling; runs whenever a transfer workload runs
  Every upload is checked through a 1-byte Range GET (stored size; Hangar's X-Checksum-Sha256
  too), every download byte for byte (size each time, SHA-256 of the first copy). The data
  files are made once under --data-dir and reused; downloaded copies go to --run-dir and are
  removed at once. The page cache is flushed (sync) before each transfer, so one transfer's
  write-back does not slow the next; no server fsyncs a file, and the files stay in the page
  cache (24 GiB of memory), so these are page-cache-to-page-cache figures on every server alike.

The write workloads use hangar-loadgen (crates/loadgen: Rust, hyper, one HTTP/1.1 keep-alive
connection per client) so that every call carries new points (MLflow's metrics table has a
primary key over (run, key, timestamp, step, value), so re-sending one fixed body would measure
its duplicate-handling path, not inserts) and so that the client takes little of the CPU the
servers need; the read workloads with a fixed request use oha. The search set is seeded by a
small asyncio client, untimed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

API = "/api/2.0/mlflow"
SEARCH_FILTER = "metrics.acc > 0.5 and params.model = 'cnn'"
MODELS = ("cnn", "mlp", "rnn", "transformer")
REQUEST_TIMEOUT = 30.0  # seconds, per request of the load generators

# ---------------------------------------------------------------------------------------------
# Processes: every server runs in a process group of its own, recorded in RUN_DIR/pgids so that
# scripts/bench can stop it even if this process is killed hard.

STARTED: list[subprocess.Popen] = []
PGID_FILE: str | None = None


def spawn(cmd, log_path, cwd=None, env=None) -> subprocess.Popen:
    log = open(log_path, "ab")
    log.write(("\n$ " + " ".join(cmd) + "\n").encode())
    log.flush()
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd, env=env,
        start_new_session=True,
    )
    log.close()
    STARTED.append(proc)
    if PGID_FILE:
        with open(PGID_FILE, "a") as f:
            f.write(f"{proc.pid}\n")
    return proc


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    # Whatever of the group is still there (e.g. uvicorn workers).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    if proc in STARTED:
        STARTED.remove(proc)
    if PGID_FILE and os.path.exists(PGID_FILE):
        with open(PGID_FILE) as f:
            rest = [l for l in f.read().split() if l != str(proc.pid)]
        with open(PGID_FILE, "w") as f:
            f.write("".join(p + "\n" for p in rest))


def stop_all() -> None:
    for proc in list(STARTED):
        stop(proc, grace=5.0)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(root: int) -> tuple[float, int]:
    pids = tree_pids(root)
    return sum(rss_kb(p) for p in pids) / 1024.0, len(pids)


class RssSampler:
    """Samples the RSS of a process tree every `interval` seconds in a thread; with `refresh`,
    the tree is looked up again every `refresh` seconds (a worker forked meanwhile counts)."""

    def __init__(self, root: int, interval: float = 0.01, refresh: float | None = None):
        self.root, self.interval, self.refresh = root, interval, refresh
        self.peak = 0.0
        self._stop = threading.Event()
        self._pids = tree_pids(root)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        looked_up = time.monotonic()
        while not self._stop.is_set():
            if self.refresh is not None and time.monotonic() - looked_up >= self.refresh:
                self._pids = tree_pids(self.root)
                looked_up = time.monotonic()
            mb = sum(rss_kb(p) for p in self._pids) / 1024.0
            self.peak = max(self.peak, mb)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# ---------------------------------------------------------------------------------------------
# A blocking client for set-up and the history fetch (http.client, keep-alive).


class HttpError(Exception):
    def __init__(self, method, path, body, status, text):
        self.method, self.path, self.body, self.status, self.text = method, path, body, status, text
        super().__init__(f"{method} {path} -> {status}: {text[:300]}")


class Api:
    def __init__(self, port: int, headers: dict[str, str]):
        self.port, self.headers = port, headers
        self.conn: http.client.HTTPConnection | None = None

    def raw(self, method: str, path: str, body: bytes | None = None, timeout: float = 120.0):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                self.conn.timeout = timeout
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, data
            except (http.client.HTTPException, ConnectionError, socket.timeout, OSError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def call(self, method: str, endpoint: str, obj=None, params=None, timeout: float = 120.0):
        path = API + endpoint
        if params:
            path += "?" + urllib.parse.urlencode(params, doseq=True)
        body = None if obj is None else json.dumps(obj).encode()
        status, data = self.raw(method, path, body, timeout)
        if status != 200:
            raise HttpError(method, path, body, status, data.decode("utf-8", "replace"))
        return json.loads(data) if data.strip() else {}

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------------------------------------
# The load generator: asyncio, HTTP/1.1 keep-alive, one connection per client.


class AConn:
    def __init__(self, port: int, headers: dict[str, str]):
        self.port = port
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head_tmpl = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:" + str(port) + "\r\n" + extra
        self.r: asyncio.StreamReader | None = None
        self.w: asyncio.StreamWriter | None = None

    async def _open(self):
        self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 24)
        sock = self.w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        if self.w is not None:
            self.w.close()
        self.r = self.w = None

    async def _request(self, method: str, path: str, body: bytes | None):
        if self.w is None:
            await self._open()
        head = self.head_tmpl % (method, path)
        if body is not None:
            head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        head += "\r\n"
        self.w.write(head.encode())
        if body is not None:
            self.w.write(body)
        await self.w.drain()
        raw = await self.r.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.r.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    await self.r.readuntil(b"\r\n")
                    break
                parts.append(await self.r.readexactly(size))
                await self.r.readexactly(2)
            data = b"".join(parts)
        elif length is not None:
            data = await self.r.readexactly(length)
        else:
            data = await self.r.read()
            close = True
        if close:
            self.close()
        return status, data

    async def request(self, method: str, path: str, body: bytes | None = None):
        """(status, body); status 0 = transport error or timeout (body says which)."""
        try:
            return await asyncio.wait_for(self._request(method, path, body), REQUEST_TIMEOUT)
        except asyncio.TimeoutError:
            self.close()
            return 0, b"timeout after %ds" % REQUEST_TIMEOUT
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            self.close()
            await asyncio.sleep(0.05)  # no busy loop against a server that is gone
            return 0, repr(e).encode()


class Stats:
    def __init__(self):
        self.lat: list[float] = []
        self.ok = 0
        self.units = 0  # points or ops counted on success
        self.errors: dict[str, int] = {}
        self.samples: list[dict] = []
        self.t0 = self.t1 = 0.0

    def record(self, method, path, body, status, data, dt, units=1):
        if status == 200:
            self.ok += 1
            self.units += units
            self.lat.append(dt)
            return True
        key = "transport error/timeout" if status == 0 else f"HTTP {status}"
        self.errors[key] = self.errors.get(key, 0) + 1
        if len(self.samples) < 3:
            shown = body if body is None or len(body) <= 600 else body[:600] + b"...(%d bytes)" % len(body)
            self.samples.append({
                "request": f"{method} {path}",
                "request_body": None if shown is None else shown.decode("utf-8", "replace"),
                "status": status,
                "response": data[:800].decode("utf-8", "replace"),
            })
        return False

    def summary(self, unit_name: str) -> dict:
        elapsed = max(self.t1 - self.t0, 1e-9)
        return {
            "elapsed_s": round(elapsed, 3),
            "requests_ok": self.ok,
            unit_name: self.units,
            f"{unit_name}_per_s": self.units / elapsed,
            "requests_per_s": self.ok / elapsed,
            "p50_ms": None if not self.lat else pct(self.lat, 0.50) * 1000,
            "p99_ms": None if not self.lat else pct(self.lat, 0.99) * 1000,
            "errors": dict(self.errors),
            "error_count": sum(self.errors.values()),
            "error_samples": self.samples,
        }


async def run_clients(n: int, duration: float, port: int, headers, client_fn, stats: Stats):
    """Runs client_fn(i, conn, deadline, stats) for i < n; stops issuing at the deadline."""
    conns = [AConn(port, headers) for _ in range(n)]
    stats.t0 = time.perf_counter()
    deadline = stats.t0 + duration
    tasks = [asyncio.ensure_future(client_fn(i, conns[i], deadline, stats)) for i in range(n)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), duration + REQUEST_TIMEOUT + 10)
    except asyncio.TimeoutError:
        for t in tasks:
            t.cancel()
        stats.errors["client did not stop in time"] = 1
    stats.t1 = time.perf_counter()
    for c in conns:
        c.close()


# ---------------------------------------------------------------------------------------------
# Servers.


class Server:
    def __init__(self, key, label, proc, port, headers, data_dir, settings):
        self.key, self.label, self.proc, self.port = key, label, proc, port
        self.headers, self.data_dir, self.settings = headers, data_dir, settings
        self.api = Api(port, headers)
        self.log = ""

    def alive(self) -> bool:
        return self.proc.poll() is None


def wait_healthy(proc, port, headers, timeout, log_path, token_file=None) -> dict[str, str]:
    deadline = time.time() + timeout
    last = ""
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} during start-up; log: {log_path}\n"
                               + tail(log_path))
        if token_file is not None:
            if not os.path.exists(token_file):
                time.sleep(0.1)
                continue
            token = open(token_file).read().strip()
            if not token:
                time.sleep(0.1)
                continue
            headers = {**headers, "Authorization": f"Bearer {token}"}
        api = Api(port, headers)
        try:
            api.call("GET", "/experiments/search", params={"max_results": 1}, timeout=5)
            api.close()
            return headers
        except Exception as e:  # not up yet
            last = str(e)
        finally:
            api.close()
        time.sleep(0.25)
    raise RuntimeError(f"not healthy after {timeout:.0f}s ({last}); log: {log_path}\n" + tail(log_path))


def tail(path, n=15) -> str:
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join("    " + l for l in lines[-n:])
    except OSError:
        return ""


def sqlite_journal_mode(db_path: str) -> str:
    """The journal mode recorded in the database file header (WAL is persistent)."""
    try:
        with open(db_path, "rb") as f:
            header = f.read(20)
        return "WAL" if header[18:20] == b"\x02\x02" else "rollback journal (DELETE, SQLite's default)"
    except OSError:
        return "unknown"


def start_hangar(args, backend: str, log_dir: str) -> Server:
    data = tempfile.mkdtemp(prefix=f"hangar-{backend}-", dir=args.run_dir)
    port = free_port()
    cmd = [args.hangar_bin, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"]
    if backend == "postgres":
        cmd += ["--database-url", args.pg_url]
    log = os.path.join(log_dir, f"hangar-{backend}.log")
    # Its defaults, like the peers': request log at INFO (to the log file).
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_") and k != "RUST_LOG"}
    proc = spawn(cmd, log, cwd=data, env=env)
    headers = wait_healthy(proc, port, {}, 60, log, token_file=os.path.join(data, "initial-admin-token"))
    if backend == "sqlite":
        settings = {
            "database": "SQLite " + os.path.join(data, "hangar.db"),
            "journal_mode": sqlite_journal_mode(os.path.join(data, "hangar.db")),
            "synchronous": "FULL (Hangar's default: every acknowledged commit is fsynced)",
        }
    else:
        settings = {"database": "PostgreSQL " + redact(args.pg_url), **pg_settings(args.pg_url)}
    settings["logging"] = "default (request log at INFO)"
    label = "Hangar-SQLite" if backend == "sqlite" else "Hangar-PostgreSQL"
    srv = Server(f"hangar_{backend}", label, proc, port, headers, data, settings)
    srv.log = log
    return srv


def redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", url)


def pg_settings(url: str) -> dict[str, str]:
    psql = shutil.which("psql")
    if not psql:
        return {"postgresql_settings": "unknown (no psql)"}
    try:
        out = subprocess.run(
            [psql, "-X", "-w", "-At", "-d", url, "-c",
             "select name || '=' || setting from pg_settings where name in "
             "('fsync','synchronous_commit','full_page_writes','wal_sync_method','server_version') order by 1"],
            capture_output=True, text=True, timeout=20,
        )
        return {"postgresql_settings": ", ".join(out.stdout.strip().splitlines()) or out.stderr.strip()}
    except Exception as e:  # informative only
        return {"postgresql_settings": f"unknown ({e})"}


def analyze(url: str, srv: Server, runs: int) -> str:
    """ANALYZE after seeding: the state autovacuum brings the tables to within a minute or so.
    Seeded in seconds, their statistics would still describe them (nearly) empty, and the
    planner would sort every run of the experiment instead of reading its index in order
    (measured here: 42 ms instead of 4 ms for 20,000 runs)."""
    done = subprocess.run([shutil.which("psql") or "psql", "-X", "-w", "-q", "-d", url, "-c", "ANALYZE"],
                          capture_output=True, text=True, timeout=300)
    if done.returncode == 0:
        return f"{srv.label}: ANALYZE after seeding {runs:,} runs (what autovacuum does within a minute)"
    return f"{srv.label}: ANALYZE failed: {done.stderr.strip()[:200]}"


def start_mlflow(args, log_dir: str) -> Server:
    data = tempfile.mkdtemp(prefix="mlflow-", dir=args.run_dir)
    port = free_port()
    db = os.path.join(data, "mlflow.db")
    cmd = [args.mlflow, "server", "--backend-store-uri", f"sqlite:///{db}",
           "--default-artifact-root", os.path.join(data, "artifacts"),
           "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    log = os.path.join(log_dir, "mlflow.log")
    proc = spawn(cmd, log, cwd=data, env=env)
    headers = wait_healthy(proc, port, {}, 240, log)
    settings = {
        "database": f"SQLite {db} (SQLAlchemy store)",
        "workers": "1 (uvicorn; --workers 1)",
        "journal_mode": sqlite_journal_mode(db),
        "synchronous": mlflow_synchronous(args.mlflow),
        "logging": "default",
    }
    srv = Server("mlflow", "MLflow", proc, port, headers, data, settings)
    srv.log = log
    return srv


def mlflow_synchronous(mlflow_exe: str) -> str:
    """What MLflow's SQL store sets, read from its installed source."""
    try:
        py = os.path.join(os.path.dirname(mlflow_exe), "python")
        src = subprocess.run(
            [py, "-c", "import mlflow.store.db.utils as u; print(u.__file__)"],
            capture_output=True, text=True, timeout=60,
        ).stdout.strip()
        text = open(src).read()
        pragmas = re.findall(r"PRAGMA ([a-z_]+ ?= ?[^;\"']+)", text)
        if any("synchronous" in p for p in pragmas):
            return "set by MLflow: " + ", ".join(pragmas)
        return ("not set by MLflow, so SQLite's default FULL; its store sets only "
                + ", ".join(p.strip() for p in pragmas))
    except Exception as e:
        return f"unknown ({e})"


def start_fml(args, log_dir: str) -> Server:
    data = tempfile.mkdtemp(prefix="fasttrackml-", dir=args.run_dir)
    port = free_port()
    db = os.path.join(data, "fasttrackml.db")
    cmd = [args.fml, "server", "--listen-address", f"127.0.0.1:{port}",
           "--database-uri", f"sqlite://{db}",
           "--default-artifact-root", os.path.join(data, "artifacts")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FML_")}
    log = os.path.join(log_dir, "fasttrackml.log")
    proc = spawn(cmd, log, cwd=data, env=env)
    headers = wait_healthy(proc, port, {}, 120, log)
    settings = {
        "database": f"SQLite {db} (FastTrackML's defaults)",
        "journal_mode": sqlite_journal_mode(db),
        "synchronous": "NORMAL (not set by FastTrackML; the mattn/go-sqlite3 driver's default)",
        "pool": "1 writer connection + a read pool of 20 (--database-pool-max default)",
        "logging": "default (request log at info)",
    }
    srv = Server("fasttrackml", "FastTrackML", proc, port, headers, data, settings)
    srv.log = log
    return srv


# The curl ceiling's file server. nginx, because it moves bytes between the socket and the disk
# with no interpreter in the way (GET with sendfile, PUT through WebDAV's streaming to a temp
# file renamed into place), so it shows what curl and this machine's loopback and page cache
# allow; `python3 -m http.server` is GET-only and Python-bound, i.e. slower than the servers it
# would bound. client_body_buffer_size 1m: with the default 16k, nginx writes a PUT in 16 KiB
# pieces and reaches about half the rate (measured here), and a ceiling should be the best a
# plain server does. One process (master_process off), no access log, temp files under its
# folder. scripts/bench unpacks Debian's nginx package under target/bench/tools when the
# machine has none (no service is installed or started).
NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location / {{
            dav_methods PUT DELETE;
            create_full_put_path on;
        }}
    }}
}}
"""


def start_nginx(args, log_dir: str) -> Server:
    data = tempfile.mkdtemp(prefix="nginx-", dir=args.run_dir)
    port = free_port()
    os.makedirs(os.path.join(data, "www"))
    os.makedirs(os.path.join(data, "tmp"))
    conf = os.path.join(data, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=data, port=port))
    log = os.path.join(log_dir, "nginx.log")
    cmd = [args.nginx, "-p", data, "-c", conf, "-e", os.path.join(data, "error.log")]
    proc = spawn(cmd, log, cwd=data)
    deadline = time.time() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}; log: {log}\n" + tail(log)
                               + "\n" + tail(os.path.join(data, "error.log")))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.time() > deadline:
                raise RuntimeError(f"nginx does not listen on {port} after 20s; log: {log}")
            time.sleep(0.1)
    version = subprocess.run([args.nginx, "-v"], capture_output=True, text=True).stderr.strip()
    settings = {"server": f"{version} ({args.nginx})",
                "config": "1 process, sendfile on, WebDAV PUT, client_body_buffer_size 1m, no access log"}
    srv = Server("nginx", "nginx (curl ceiling)", proc, port, {}, data, settings)
    srv.log = log
    return srv


# ---------------------------------------------------------------------------------------------
# Workloads.


def create_experiment(srv: Server, name: str) -> str:
    return srv.api.call("POST", "/experiments/create", {"name": name})["experiment_id"]


def create_run(srv: Server, exp: str, name: str) -> str:
    run = srv.api.call("POST", "/runs/create", {
        "experiment_id": exp, "run_name": name, "start_time": int(time.time() * 1000),
        "user_id": "bench", "tags": [{"key": "mlflow.runName", "value": name}],
    })["run"]
    return run["info"].get("run_id") or run["info"]["run_uuid"]


def batch_template(run_id: str) -> bytes:
    """A log-batch body of 1000 points (10 keys x 100 steps); @R@ and @T@ are replaced per
    call so that step = R*100 + j is new on every call and timestamp = now."""
    points = []
    for i in range(1000):
        j = i // 10
        value = ((i * 7919) % 1000) / 1000.0
        points.append('{"key":"m%d","value":%r,"timestamp":@T@,"step":@R@%02d}' % (i % 10, value, j))
    return ('{"run_id":"%s","metrics":[%s]}' % (run_id, ",".join(points))).encode()


def run_loadgen(args, srv: Server, workload: list[str], clients: int, duration: float) -> dict:
    """hangar-loadgen's JSON summary of one write workload against srv."""
    cmd = [args.loadgen, "--port", str(srv.port), "--clients", str(clients), "--duration", str(duration)]
    for k, v in srv.headers.items():
        cmd += ["--header", f"{k}: {v}"]
    cmd += workload
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    STARTED.append(proc)
    try:
        out, err = proc.communicate(timeout=duration + REQUEST_TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise RuntimeError("hangar-loadgen did not finish in time")
    finally:
        if proc in STARTED:
            STARTED.remove(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"hangar-loadgen exited {proc.returncode}: {err.decode(errors='replace')[:500]}")
    return json.loads(out)


def wl_log_batch(args, srv: Server, clients: int, duration: float) -> dict:
    exp = create_experiment(srv, f"bench-log-batch-{clients}")
    runs = [create_run(srv, exp, f"lb-{clients}-{i}") for i in range(clients)]
    path = API + "/runs/log-batch"
    for run in runs:  # warm-up, untimed: one call per run (steps 0..99); the load starts at 100
        srv.api.raw("POST", path, batch_template(run).replace(b"@R@", b"").replace(
            b"@T@", str(int(time.time() * 1000)).encode()))
    srv.api.close()
    return run_loadgen(args, srv, ["log-batch", "--runs", ",".join(runs), "--first-block", "1"],
                       clients, duration)


def wl_log_metric(args, srv: Server, clients: int, duration: float) -> dict:
    exp = create_experiment(srv, f"bench-log-metric-{clients}")
    runs = [create_run(srv, exp, f"lm-{i}") for i in range(clients)]
    for run in runs:  # warm-up, untimed
        srv.api.call("POST", "/runs/log-metric", {"run_id": run, "key": "warmup", "value": 0.0,
                                                  "timestamp": int(time.time() * 1000), "step": 0})
    srv.api.close()
    return run_loadgen(args, srv, ["log-metric", "--runs", ",".join(runs)], clients, duration)


def wl_run_mix(args, srv: Server, clients: int, duration: float) -> dict:
    exp = create_experiment(srv, "bench-run-mix")
    for i in range(3):  # warm-up, untimed
        run = create_run(srv, exp, f"mix-warmup-{i}")
        srv.api.call("GET", "/runs/get", params={"run_id": run, "run_uuid": run})
    srv.api.close()
    return run_loadgen(args, srv, ["run-mix", "--experiment", exp], clients, duration)


def seed_search_runs(srv: Server, exp: str, start: int, end: int, timeout: float) -> dict:
    """Runs start..end-1 of the search experiment: runs/create, then one log-batch with the
    metric acc and the param model. Values are a fixed pseudo-random sequence."""
    create_path = API + "/runs/create"
    batch_path = API + "/runs/log-batch"
    base_ms = 1_700_000_000_000
    stats = Stats()
    next_i = [start]

    async def client(i, conn, deadline, st):
        while next_i[0] < end and time.perf_counter() < deadline:
            k = next_i[0]
            next_i[0] += 1
            rnd = random.Random(k)
            acc, model = rnd.random(), MODELS[rnd.randrange(len(MODELS))]
            body = json.dumps({"experiment_id": exp, "run_name": f"s{k}", "user_id": "bench",
                               "start_time": base_ms + k}).encode()
            status, data = await conn.request("POST", create_path, body)
            if not st.record("POST", create_path, body, status, data, 0, units=0):
                continue
            info = json.loads(data)["run"]["info"]
            run_id = info.get("run_id") or info["run_uuid"]
            body = json.dumps({"run_id": run_id,
                               "metrics": [{"key": "acc", "value": acc, "timestamp": base_ms + k, "step": 0}],
                               "params": [{"key": "model", "value": model}]}).encode()
            status, data = await conn.request("POST", batch_path, body)
            st.record("POST", batch_path, body, status, data, 0, units=1)

    asyncio.run(run_clients(8, timeout, srv.port, srv.headers, client, stats))
    out = stats.summary("runs")
    out["complete"] = stats.units == end - start
    return out


def mlflow_bulk_seed(srv: Server, exp: str, start: int, end: int) -> dict:
    """Runs start..end-1 of the search experiment written straight into MLflow's SQLite file,
    each a copy of the last run seeded over HTTP with its own id, name, start_time, acc and
    model: MLflow seeds too slowly over HTTP for 20,000 runs in a bounded time."""
    db = os.path.join(srv.data_dir, "mlflow.db")
    t0 = time.perf_counter()
    conn = sqlite3.connect(db, timeout=60)
    try:
        (template,) = conn.execute(
            "select run_uuid from runs where experiment_id = ? and name = ?", (int(exp), f"s{start - 1}")
        ).fetchone()
        tables = {}
        for t in ("runs", "tags", "params", "metrics", "latest_metrics"):
            cols = [r[1] for r in conn.execute(f"pragma table_info({t})")]
            rows = conn.execute(f"select * from {t} where run_uuid = ?", (template,)).fetchall()
            tables[t] = (cols, rows)
        base_ms = 1_700_000_000_000
        out = {t: [] for t in tables}
        for k in range(start, end):
            rnd = random.Random(k)
            acc, model = rnd.random(), MODELS[rnd.randrange(len(MODELS))]
            uid = uuid.uuid4().hex
            for t, (cols, rows) in tables.items():
                for row in rows:
                    d = dict(zip(cols, row))
                    d["run_uuid"] = uid
                    if t == "runs":
                        d["name"], d["start_time"] = f"s{k}", base_ms + k
                        d["artifact_uri"] = (d.get("artifact_uri") or "").replace(template, uid)
                    elif t == "tags" and d["key"] == "mlflow.runName":
                        d["value"] = f"s{k}"
                    elif t == "params" and d["key"] == "model":
                        d["value"] = model
                    elif t in ("metrics", "latest_metrics") and d["key"] == "acc":
                        d["value"], d["timestamp"] = acc, base_ms + k
                    out[t].append(tuple(d[c] for c in cols))
        for t, (cols, _) in tables.items():
            conn.executemany(f"insert into {t} ({','.join(cols)}) values ({','.join('?' * len(cols))})", out[t])
        conn.commit()
    finally:
        conn.close()
    return {"runs": end - start, "complete": True, "bulk_s": round(time.perf_counter() - t0, 2),
            "runs_per_s": (end - start) / (time.perf_counter() - t0), "error_count": 0, "bulk": True}


def expected_matches(n: int) -> int:
    c = 0
    for k in range(n):
        rnd = random.Random(k)
        acc, model = rnd.random(), MODELS[rnd.randrange(len(MODELS))]
        c += acc > 0.5 and model == "cnn"
    return c


def run_oha(args, srv: Server, method: str, path: str, body: bytes | None, conc: int,
            duration: float) -> dict:
    url = f"http://127.0.0.1:{srv.port}{path}"
    cmd = [args.oha, "--no-tui", "--output-format", "json", "-c", str(conc), "-z", f"{duration}s",
           "-t", f"{int(REQUEST_TIMEOUT)}s", "-m", method]
    for k, v in srv.headers.items():
        cmd += ["-H", f"{k}: {v}"]
    if body is not None:
        cmd += ["-H", "content-type: application/json", "-d", body.decode()]
    cmd.append(url)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    STARTED.append(proc)
    try:
        out, err = proc.communicate(timeout=duration + REQUEST_TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise RuntimeError("oha did not finish in time")
    finally:
        if proc in STARTED:
            STARTED.remove(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"oha exited {proc.returncode}: {err.decode(errors='replace')[:500]}")
    res = json.loads(out)
    summ = res.get("summary", {})
    lat = res.get("latencyPercentiles", {})
    codes = {str(k): v for k, v in (res.get("statusCodeDistribution") or {}).items()}
    errs = {k: v for k, v in (res.get("errorDistribution") or {}).items() if "deadline" not in k}
    ok = codes.get("200", 0)
    bad = {f"HTTP {k}": v for k, v in codes.items() if k != "200"}
    bad.update(errs)
    total_time = summ.get("total") or duration
    return {
        "elapsed_s": total_time,
        "requests_ok": ok,
        "requests_per_s": ok / total_time if total_time else None,
        "p50_ms": None if lat.get("p50") is None else lat["p50"] * 1000,
        "p99_ms": None if lat.get("p99") is None else lat["p99"] * 1000,
        "errors": bad,
        "error_count": sum(bad.values()),
        "clients": conc,
        "tool": "oha",
    }


def probe_error(srv: Server, method: str, path: str, body: bytes | None) -> dict:
    """One more request like the failing one, to record the exact response."""
    try:
        status, data = srv.api.raw(method, path, body, timeout=REQUEST_TIMEOUT)
        return {"request": f"{method} {path}", "request_body": None if body is None else body.decode()[:600],
                "status": status, "response": data[:800].decode("utf-8", "replace")}
    except Exception as e:
        return {"request": f"{method} {path}", "status": 0, "response": repr(e)}


def wl_search(args, srv: Server, exp: str, n_runs: int, duration: float) -> dict:
    path = API + "/runs/search"
    body = json.dumps({"experiment_ids": [exp], "filter": SEARCH_FILTER, "run_view_type": "ACTIVE_ONLY",
                       "max_results": 100, "order_by": []}).encode()
    # One checked call first: the page must hold 100 runs, all matching.
    check = srv.api.call("POST", "/runs/search", json.loads(body))
    runs = check.get("runs", [])
    want = min(100, expected_matches(n_runs))
    notes = []
    bad = 0
    for r in runs:
        data = r.get("data", {})
        acc = {m["key"]: m["value"] for m in data.get("metrics", [])}.get("acc")
        model = {p["key"]: p["value"] for p in data.get("params", [])}.get("model")
        bad += not (acc is not None and acc > 0.5 and model == "cnn")
    if len(runs) != want or bad:
        notes.append(f"result check: {len(runs)} runs returned (expected {want}), {bad} not matching")
    out = run_oha(args, srv, "POST", path, body, 1, duration)
    out["runs_in_experiment"] = n_runs
    out["returned"] = len(runs)
    out["has_next_page_token"] = bool(check.get("next_page_token"))
    if out["error_count"]:
        out["error_samples"] = [probe_error(srv, "POST", path, body)]
    if notes:
        out["notes"] = notes
    return out


REGISTRY_MODEL = "bench-registry"
REGISTRY_SMALL_MODEL = "bench-registry-one"
REGISTRY_RUN_MODEL = "bench-registry-from-run"


def registry_model(srv: Server, name: str) -> None:
    """Creates the registered model unless it exists."""
    try:
        srv.api.call("POST", "/registered-models/create", {"name": name})
    except Exception as e:  # noqa: BLE001 - an existing model is fine
        if "RESOURCE_ALREADY_EXISTS" not in str(e):
            raise


def wl_registry_create(args, srv: Server, clients: int, count: int, duration: float) -> dict:
    """`count` model-versions/create calls on one model, shared by `clients` clients."""
    registry_model(srv, REGISTRY_MODEL)
    srv.api.close()
    out = run_loadgen(args, srv, ["create-versions", "--model", REGISTRY_MODEL, "--count", str(count)],
                      clients, duration)
    if out.get("versions", 0) < count:
        out["notes"] = [f"only {out.get('versions', 0)} of {count} versions created in {duration:.0f}s"]
    return out


def wl_registry_create_from_run(args, srv: Server, clients: int, count: int, duration: float) -> dict:
    """`count` model-versions/create calls on one model, every version from the same run."""
    registry_model(srv, REGISTRY_RUN_MODEL)
    run_id = create_run(srv, "0", f"trained-{clients}")
    srv.api.close()
    out = run_loadgen(args, srv, ["create-versions", "--model", REGISTRY_RUN_MODEL, "--count", str(count),
                                  "--run", run_id], clients, duration)
    if out.get("versions", 0) < count:
        out["notes"] = [f"only {out.get('versions', 0)} of {count} versions created in {duration:.0f}s"]
    return out


def wl_registry_read(args, srv: Server, what: str, model: str, duration: float) -> dict:
    """8 clients reading one version (`get`) or the latest version (`latest`) of `model`."""
    if model == REGISTRY_SMALL_MODEL:
        registry_model(srv, model)
        found = srv.api.call("GET", "/model-versions/search", params={"filter": f"name='{model}'"})
        if not found.get("model_versions"):
            srv.api.call("POST", "/model-versions/create", {"name": model, "source": "s3://bench/model"})
    srv.api.close()
    if what == "get":
        path = f"{API}/model-versions/get?name={urllib.parse.quote(model)}&version=1"
        out = run_oha(args, srv, "GET", path, None, 8, duration)
    else:
        body = json.dumps({"name": model}).encode()
        out = run_oha(args, srv, "POST", f"{API}/registered-models/get-latest-versions", body, 8, duration)
    versions = srv.api.call("GET", "/model-versions/search",
                            params={"filter": f"name='{model}'", "max_results": 1000})
    out["versions_of_model"] = len(versions.get("model_versions", []))
    return out


def wl_registry_search(args, srv: Server, duration: float) -> dict:
    """model-versions/search for every version of the bench model (one page), 1 client."""
    query = urllib.parse.urlencode({"filter": f"name='{REGISTRY_MODEL}'", "max_results": 1000})
    path = f"{API}/model-versions/search?{query}"
    check = srv.api.call("GET", "/model-versions/search",
                         params={"filter": f"name='{REGISTRY_MODEL}'", "max_results": 1000})
    out = run_oha(args, srv, "GET", path, None, 1, duration)
    out["returned"] = len(check.get("model_versions", []))
    return out


def wl_history(srv: Server, points: int, reps: int, seed_timeout: float) -> dict:
    exp = create_experiment(srv, "bench-history")
    run = create_run(srv, exp, "history")
    # Seed: `points` points of one key, 1000 per log-batch, steps 0..points-1.
    t0 = time.perf_counter()
    base_ms = int(time.time() * 1000)
    for b in range(points // 1000):
        if time.perf_counter() - t0 > seed_timeout:
            raise RuntimeError(f"seeding the history took more than {seed_timeout:.0f}s "
                               f"({b * 1000} of {points} points)")
        metrics = ",".join('{"key":"loss","value":%r,"timestamp":%d,"step":%d}'
                           % (1.0 / (s + 1), base_ms + s, s) for s in range(b * 1000, b * 1000 + 1000))
        body = ('{"run_id":"%s","metrics":[%s]}' % (run, metrics)).encode()
        status, data = srv.api.raw("POST", API + "/runs/log-batch", body)
        if status != 200:
            raise HttpError("POST", API + "/runs/log-batch", body, status, data.decode("utf-8", "replace"))
    seed_s = time.perf_counter() - t0
    srv.api.close()

    def fetch(api: Api):
        pages, token = [], None
        while True:
            q = {"run_uuid": run, "metric_key": "loss", "run_id": run, "max_results": 25000}
            if token:
                q["page_token"] = token
            path = API + "/metrics/get-history?" + urllib.parse.urlencode(q)
            status, data = api.raw("GET", path, timeout=REQUEST_TIMEOUT * 4)
            if status != 200:
                raise HttpError("GET", path, None, status, data.decode("utf-8", "replace"))
            pages.append(data)
            if len(pages) > 2 * points // 25000 + 10:
                raise RuntimeError("get-history does not stop paginating")
            i = data.rfind(b'"next_page_token"')
            token = None
            if i >= 0:
                m = re.match(rb'"next_page_token"\s*:\s*"([^"]*)"', data[i:])
                token = m.group(1).decode() if m else None
            if not token:
                return pages

    times, counts, page_counts = [], [], []
    base_rss, _ = tree_rss_mb(srv.proc.pid)
    with RssSampler(srv.proc.pid) as sampler:
        for _ in range(reps):
            api = Api(srv.port, srv.headers)
            t = time.perf_counter()
            pages = fetch(api)
            times.append(time.perf_counter() - t)
            api.close()
            page_counts.append(len(pages))
            counts.append(sum(len(json.loads(p).get("metrics", [])) for p in pages))
    after_rss, _ = tree_rss_mb(srv.proc.pid)
    out = {
        "points": points,
        "seed_s": round(seed_s, 2),
        "seed_points_per_s": points / seed_s,
        "fetch_s": times,
        "p50_s": statistics.median(times),
        "pages": page_counts[0],
        "points_returned": counts[0],
        "rss_before_mb": base_rss,
        "rss_peak_mb": max(sampler.peak, base_rss),
        "rss_after_mb": after_rss,
        "rss_growth_mb": max(sampler.peak, base_rss) - base_rss,
        "error_count": 0,
    }
    if any(c != points for c in counts):
        out["notes"] = [f"points returned per fetch: {counts} (expected {points})"]
    return out


def idle_rss(srv: Server) -> dict:
    # Warm-up: a handful of ordinary calls, then let it settle.
    for _ in range(20):
        srv.api.call("GET", "/experiments/search", params={"max_results": 10})
    exp = create_experiment(srv, "bench-warmup")
    run = create_run(srv, exp, "warmup")
    srv.api.call("POST", "/runs/log-metric", {"run_id": run, "key": "x", "value": 1.0,
                                              "timestamp": int(time.time() * 1000), "step": 0})
    srv.api.call("GET", "/runs/get", params={"run_id": run})
    srv.api.close()
    time.sleep(3)
    samples = []
    for _ in range(3):
        mb, n = tree_rss_mb(srv.proc.pid)
        samples.append(mb)
        time.sleep(0.5)
    if not srv.alive() or min(samples) <= 0:
        raise RuntimeError(f"the server exited during the warm-up ({srv.proc.returncode})")
    return {"rss_mb": statistics.median(samples), "processes": n, "error_count": 0}


# ---------------------------------------------------------------------------------------------
# File transfers (issue 5): the same curl command against every server.

MIB = 1 << 20
TRANSFER_WORKLOADS = ("artifact_upload_1g", "artifact_download_1g", "package_upload_1g",
                      "package_download_1g", "artifact_upload_2g")
# Names that --workloads expands (besides matching any part of a workload's name).
WORKLOAD_GROUPS = {"files": TRANSFER_WORKLOADS + ("curl_ceiling",)}
BASE_WORKLOADS = ("idle_rss", "log_batch_c1", "log_batch_c8", "log_metric_c16", "run_mix_c8", "history",
                  "seed_search_small", "search_small", "seed_search_large", "search_large")
REGISTRY_WORKLOADS = ("registry_create_c1", "registry_create_c8", "registry_get_c8", "registry_latest_c8",
                      "registry_latest_one_c8", "registry_search", "registry_from_run_c1", "registry_from_run_c8")
SEARCH_WORKLOADS = ("seed_search_small", "search_small", "seed_search_large", "search_large")


def server_workloads(key: str) -> tuple:
    """Every workload `key` can run: a server none of whose workloads is selected is not started."""
    if key == "nginx":
        return ("curl_ceiling",)
    if key == "fasttrackml":
        return BASE_WORKLOADS
    if key == "mlflow":
        return BASE_WORKLOADS + REGISTRY_WORKLOADS + ("artifact_upload_1g", "artifact_download_1g")
    return BASE_WORKLOADS + REGISTRY_WORKLOADS + TRANSFER_WORKLOADS


def selected(args, name: str) -> bool:
    """--workloads: comma-separated parts of names, or a group of WORKLOAD_GROUPS. The curl
    ceiling comes with any transfer workload: their tables are read against it."""
    if not args.workloads:
        return True
    words = []
    for w in args.workloads.split(","):
        w = w.strip()
        words += WORKLOAD_GROUPS.get(w, (w,) if w else ())
    if any(w in name for w in words):
        return True
    return name == "curl_ceiling" and any(selected(args, t) for t in TRANSFER_WORKLOADS)


class DataFile:
    def __init__(self, path: str, size: int, sha256: str):
        self.path, self.size, self.sha256 = path, size, sha256

    @property
    def label(self) -> str:
        return fmt_size(self.size)


def fmt_size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / MIB:g} MiB"


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(8 * MIB)
            if not block:
                return h.hexdigest()
            h.update(block)


def data_file(folder: str, size: int) -> DataFile:
    """`size` random bytes under `folder`, made once and reused (its SHA-256 beside it)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"random-{size // MIB}MiB.bin")
    sums = path + ".sha256"
    try:
        st = os.stat(path)
        recorded = open(sums).read().split()
        if st.st_size == size and recorded[:2] == [str(size), str(st.st_mtime_ns)]:
            return DataFile(path, size, recorded[2])
    except (OSError, IndexError):
        pass
    print(f"  making {path} ({fmt_size(size)} of random bytes, once) ...", end="", flush=True)
    t = time.perf_counter()
    h = hashlib.sha256()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(16 * MIB, left))
            h.update(block)
            f.write(block)
            left -= len(block)
    os.replace(tmp, path)
    sha = h.hexdigest()
    with open(sums, "w") as f:
        f.write(f"{size} {os.stat(path).st_mtime_ns} {sha}\n")
    print(f" {time.perf_counter() - t:.0f}s", flush=True)
    return DataFile(path, size, sha)


def transfer_path(srv: Server, kind: str, name: str) -> str:
    if kind == "artifact":
        return f"/api/2.0/mlflow-artifacts/artifacts/0/bench/artifacts/{name}"
    if kind == "package":
        return f"/api/v4/projects/1/packages/generic/bench/1.0.0/{name}"
    return f"/bench/{name}"  # nginx


def run_curl(args, srv: Server, path: str, upload: str | None, output: str, size: int) -> dict:
    """One curl transfer: PUT of the file `upload` (-T), else GET into `output` (-o). No
    `Expect: 100-continue` (curl sends it for large uploads and waits up to 1 s for an answer
    that some servers do not give), so every server gets the same requests."""
    cmd = [args.curl, "-sS", "--noproxy", "*", "-o", output,
           "-w", "%{http_code} %{size_upload} %{size_download} %{time_total}"]
    for k, v in srv.headers.items():
        cmd += ["-H", f"{k}: {v}"]
    if upload:
        cmd += ["-H", "Expect:", "-T", upload]
    cmd.append(f"http://127.0.0.1:{srv.port}{path}")
    timeout = 60 + size / MIB / 2  # at least 2 MiB/s
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    STARTED.append(proc)
    t = time.perf_counter()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise RuntimeError(f"curl {'PUT' if upload else 'GET'} {path} did not finish in {timeout:.0f}s")
    finally:
        if proc in STARTED:
            STARTED.remove(proc)
    wall = time.perf_counter() - t
    fields = out.decode().split()
    if proc.returncode != 0 or len(fields) != 4:
        raise RuntimeError(f"curl {'PUT' if upload else 'GET'} {path} exited {proc.returncode}: "
                           f"{err.decode(errors='replace').strip()[:300]} {out.decode(errors='replace')[:100]}")
    return {"status": int(fields[0]), "size_upload": int(fields[1]), "size_download": int(fields[2]),
            "seconds": float(fields[3]), "wall_s": wall}


def response_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(600).decode("utf-8", "replace")
    except OSError:
        return ""


def check_stored(srv: Server, path: str, data: DataFile) -> str:
    """The stored file after an upload, through a 1-byte Range GET: its size (Content-Range)
    and, where the server tells it (Hangar's X-Checksum-Sha256), its SHA-256."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    try:
        conn.request("GET", path, headers={**srv.headers, "Range": "bytes=0-0"})
        resp = conn.getresponse()
        if resp.status == 206:
            total = int((resp.getheader("content-range") or "/-1").rsplit("/", 1)[-1])
            resp.read()
        elif resp.status == 200:  # no Range support: the length, without reading the body
            total = int(resp.getheader("content-length") or -1)
        else:
            raise RuntimeError(f"GET {path} after the upload -> {resp.status}: {resp.read(300)!r}")
        if total != data.size:
            raise RuntimeError(f"stored size {total}, not the {data.size} uploaded")
        sha = resp.getheader("x-checksum-sha256")
        if sha:
            if sha.lower() != data.sha256:
                raise RuntimeError(f"stored SHA-256 {sha}, not the uploaded file's {data.sha256}")
            return "stored size + SHA-256 (the server's)"
        return "stored size"
    finally:
        conn.close()


def timed_transfers(args, srv: Server, paths: list[str], data: DataFile, upload: bool) -> dict:
    """One curl transfer of `data` to or from each of `paths`; the server tree's RSS is sampled
    every 20 ms, and its growth is the peak over all of them minus the RSS before the first."""
    reps = len(paths)
    pid = srv.proc.pid
    before, procs = tree_rss_mb(pid)
    peak = before
    times, checks = [], []
    resp = os.path.join(args.run_dir, f"response-{srv.key}.txt")
    copy = os.path.join(args.run_dir, f"download-{srv.key}.bin")
    expected = (200, 201, 204) if upload else (200,)
    try:
        for i, path in enumerate(paths):
            os.sync()  # the last transfer's write-back is not this one's
            with RssSampler(pid, 0.02, refresh=0.5) as sampler:
                r = run_curl(args, srv, path, data.path if upload else None, resp if upload else copy, data.size)
            peak = max(peak, sampler.peak)
            moved = r["size_upload"] if upload else r["size_download"]
            if r["status"] not in expected or moved != data.size:
                body = response_text(resp if upload else copy)
                raise RuntimeError(f"{'PUT' if upload else 'GET'} {path} -> HTTP {r['status']}, "
                                   f"{moved} of {data.size} bytes: {body[:300]!r}")
            times.append(r["seconds"])
            if upload:
                checks.append(check_stored(srv, path, data))
            else:
                got = os.path.getsize(copy)
                if got != data.size:
                    raise RuntimeError(f"downloaded {got} bytes, not {data.size}")
                if i == 0:
                    sha = file_sha256(copy)
                    if sha != data.sha256:
                        raise RuntimeError(f"downloaded SHA-256 {sha}, not the uploaded file's {data.sha256}")
                checks.append("size of every copy, SHA-256 of the first")
                os.remove(copy)
    finally:
        for p in (resp, copy):
            try:
                os.remove(p)
            except FileNotFoundError:
                pass
    after, _ = tree_rss_mb(pid)
    rates = [data.size / MIB / t for t in times]
    return {
        "bytes": data.size,
        "reps": reps,
        "seconds": times,
        "mib_s_each": [round(x, 1) for x in rates],
        # The fastest run: on this shared machine other work only ever slows a transfer down,
        # so the best of a few is the closest to what the server itself allows.
        "mib_s": max(rates),
        "mib_s_median": statistics.median(rates),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_after_mb": round(after, 1),
        "rss_growth_mb": round(peak - before, 1),
        "processes": procs,
        "checked": sorted(set(checks)),
        "paths": sorted(set(paths)),
        "error_count": 0,
    }


# Every upload goes to a new path. Replacing an existing file costs a server on ext4 a flush to
# the disk (auto_da_alloc: a file renamed over another, or truncated and rewritten, is written
# back before the rename or close returns, about 3x slower here) that some servers pay and others
# (a new blob every time, as Hangar) do not; new paths measure them all alike.


def wl_upload(args, srv: Server, kind: str, data: DataFile, reps: int, uploaded: dict) -> dict:
    paths = [transfer_path(srv, kind, f"big-{data.size // MIB}MiB-{i + 1}.bin") for i in range(reps)]
    out = timed_transfers(args, srv, paths, data, upload=True)
    uploaded[(kind, data.size)] = paths[-1]
    return out


def wl_download(args, srv: Server, kind: str, data: DataFile, reps: int, uploaded: dict) -> dict:
    path = uploaded.get((kind, data.size))
    if path is None:  # its upload workload was not selected, or failed: upload, untimed
        path = transfer_path(srv, kind, f"big-{data.size // MIB}MiB-0.bin")
        timed_transfers(args, srv, [path], data, upload=True)
        uploaded[(kind, data.size)] = path
    return timed_transfers(args, srv, [path] * reps, data, upload=False)


def wl_curl_ceiling(args, srv: Server, data: DataFile, reps: int) -> dict:
    """curl PUT then GET of the same file against nginx."""
    uploaded: dict = {}
    up = wl_upload(args, srv, "plain", data, reps, uploaded)
    down = wl_download(args, srv, "plain", data, reps, uploaded)
    return {"upload": up, "download": down, "error_count": 0}


def bench_server(args, srv: Server, sizes: dict, note) -> dict:
    results: dict[str, dict] = {}
    q = sizes

    def step(name, fn, *a):
        if not selected(args, name):
            return None
        if not srv.alive():
            results[name] = {"skipped": f"server exited ({srv.proc.returncode})"}
            return None
        print(f"    {name} ...", end="", flush=True)
        t = time.perf_counter()
        try:
            r = fn(*a)
        except Exception as e:
            detail = f"{type(e).__name__}: {e}"
            print(f" FAILED: {detail[:400]}", flush=True)
            note(f"{srv.label}: {name} failed: {detail[:400]}")
            results[name] = {"failed": detail}
            return None
        results[name] = r
        print(f" {short(name, r)} ({time.perf_counter() - t:.0f}s)", flush=True)
        if r.get("error_count"):
            note(f"{srv.label}: {name}: {r['error_count']} failed requests {r.get('errors')}")
            for s in r.get("error_samples", [])[:2]:
                note(f"{srv.label}: {name}: e.g. {s['request']} -> {s['status']} {s['response'][:300]!r}")
        for n in r.get("notes", []):
            note(f"{srv.label}: {name}: {n}")
        return r

    if srv.key == "nginx":  # the curl ceiling's file server runs that alone
        if q["xfer_size"] in args.xfer_files:
            step("curl_ceiling", wl_curl_ceiling, args, srv, args.xfer_files[q["xfer_size"]], q["ceiling_reps"])
        return results
    step("idle_rss", idle_rss, srv)
    step("log_batch_c1", wl_log_batch, args, srv, 1, q["duration"])
    step("log_batch_c8", wl_log_batch, args, srv, 8, q["duration"])
    step("log_metric_c16", wl_log_metric, args, srv, 16, q["duration"])
    step("run_mix_c8", wl_run_mix, args, srv, 8, q["duration"])
    step("history", wl_history, srv, q["history_points"], q["history_reps"], q["seed_timeout"])
    if srv.key != "fasttrackml":  # FastTrackML has no model registry
        step("registry_create_c1", wl_registry_create, args, srv, 1, q["registry_versions"] // 2, q["registry_duration"])
        step("registry_create_c8", wl_registry_create, args, srv, 8, q["registry_versions"] // 2, q["registry_duration"])
        step("registry_get_c8", wl_registry_read, args, srv, "get", REGISTRY_MODEL, q["duration"])
        step("registry_latest_c8", wl_registry_read, args, srv, "latest", REGISTRY_MODEL, q["duration"])
        step("registry_latest_one_c8", wl_registry_read, args, srv, "latest", REGISTRY_SMALL_MODEL, q["duration"])
        step("registry_search", wl_registry_search, args, srv, q["search_duration"])
        step("registry_from_run_c1", wl_registry_create_from_run, args, srv, 1, q["registry_versions"] // 2,
             q["registry_duration"])
        step("registry_from_run_c8", wl_registry_create_from_run, args, srv, 8, q["registry_versions"] // 2,
             q["registry_duration"])

    def search():
        """Search: one experiment grown from the small size to the large one."""
        try:
            exp = create_experiment(srv, "bench-search")
        except Exception as e:
            note(f"{srv.label}: cannot create the search experiment: {e}")
            return
        have = 0
        rate = None
        for key, n in (("search_small", q["search_small"]), ("search_large", q["search_large"])):
            if (srv.key == "mlflow" and rate and have > 0
                    and (n - have) / rate > q["http_seed_budget"]):
                note(f"{srv.label}: runs {have + 1:,}-{n:,} of the search set were written straight into its "
                     f"SQLite file (copies of an HTTP-created run with their own id, name, start_time, acc and "
                     f"model): over HTTP it seeds {rate:,.0f} runs/s, {(n - have) / rate:,.0f}s for the rest")
                r = step(f"seed_{key}", mlflow_bulk_seed, srv, exp, have, n)
            else:
                r = step(f"seed_{key}", seed_search_runs, srv, exp, have, n, q["seed_timeout"])
                if r is not None and r.get("runs"):
                    rate = r["runs_per_s"]
            if r is None:
                break
            have += r["runs"]
            if not r["complete"]:
                note(f"{srv.label}: seeding stopped at {have} runs after {q['seed_timeout']:.0f}s; "
                     f"no search over {n} runs")
                results[key] = {"skipped": f"only {have} runs seeded in {q['seed_timeout']:.0f}s"}
                break
            if srv.key == "hangar_postgres":
                note(analyze(args.pg_url, srv, have))
            step(key, wl_search, args, srv, exp, n, q["search_duration"])

    if any(selected(args, n) for n in SEARCH_WORKLOADS):
        search()
    # File transfers last: their gigabytes of write-back must not slow the other workloads.
    uploaded: dict = {}
    files, reps = args.xfer_files, q["xfer_reps"]
    one, big = files.get(q["xfer_size"]), files.get(q["xfer_big_size"])
    if one is not None and srv.key != "fasttrackml":  # (not among issue 5's servers)
        step("artifact_upload_1g", wl_upload, args, srv, "artifact", one, reps, uploaded)
        step("artifact_download_1g", wl_download, args, srv, "artifact", one, reps, uploaded)
        if srv.key.startswith("hangar"):  # MLflow has no package API
            step("package_upload_1g", wl_upload, args, srv, "package", one, reps, uploaded)
            step("package_download_1g", wl_download, args, srv, "package", one, reps, uploaded)
    if big is not None and srv.key.startswith("hangar"):
        step("artifact_upload_2g", wl_upload, args, srv, "artifact", big, q["xfer_big_reps"], uploaded)
    mb, _ = tree_rss_mb(srv.proc.pid)
    results["rss_after_mb"] = {"rss_mb": mb}
    return results


def short(name: str, r: dict) -> str:
    if name == "idle_rss":
        return f"{r['rss_mb']:.1f} MB in {r['processes']} process(es)"
    if name.startswith("log_batch"):
        return f"{r['points_per_s']:,.0f} points/s, p99 {fmt_ms(r['p99_ms'])}, errors {r['error_count']}"
    if name.startswith("log_metric"):
        return f"{r['requests_per_s']:,.0f} req/s, p99 {fmt_ms(r['p99_ms'])}, errors {r['error_count']}"
    if name.startswith("run_mix"):
        return f"{r['ops_per_s']:,.0f} ops/s, p99 {fmt_ms(r['p99_ms'])}, errors {r['error_count']}"
    if name.startswith("seed") and r.get("bulk"):
        return f"{r['runs']} runs written to the SQLite file in {r['bulk_s']}s"
    if name.startswith("seed"):
        return f"{r['runs']} runs at {r['runs_per_s']:,.0f} runs/s, errors {r['error_count']}"
    if name.startswith("search"):
        return f"p50 {fmt_ms(r['p50_ms'])}, p99 {fmt_ms(r['p99_ms'])}, {r['requests_per_s']:,.1f} req/s"
    if name.startswith(("registry_create", "registry_from_run")):
        return f"{r['versions']} versions at {r['versions_per_s']:,.0f}/s, p99 {fmt_ms(r['p99_ms'])}, errors {r['error_count']}"
    if name.startswith("registry_search"):
        return f"p50 {fmt_ms(r['p50_ms'])} for {r['returned']} versions, errors {r['error_count']}"
    if name.startswith("registry"):
        return f"{r['requests_per_s']:,.0f} req/s, p99 {fmt_ms(r['p99_ms'])}, errors {r['error_count']}"
    if name in TRANSFER_WORKLOADS:
        return short_transfer(r)
    if name == "curl_ceiling":
        return f"PUT {short_transfer(r['upload'])}; GET {short_transfer(r['download'])}"
    if name == "history":
        return (f"p50 {r['p50_s']:.3f}s over {r['pages']} page(s), RSS +{r['rss_growth_mb']:.1f} MB, "
                f"seeded at {r['seed_points_per_s']:,.0f} points/s")
    return ""


def short_transfer(r: dict) -> str:
    return (f"{r['mib_s']:,.0f} MiB/s (best of {'/'.join(f'{x:,.0f}' for x in r['mib_s_each'])}), "
            f"RSS +{r['rss_growth_mb']:.1f} MB, checked {' and '.join(r['checked'])}")


# ---------------------------------------------------------------------------------------------
# Report.


def fmt_ms(v):
    if v is None:
        return "—"
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def fmt_n(v):
    if v is None:
        return "—"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.1f}k"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}"


def _v(x, default):
    return default if x is None else x


def workloads(sizes):
    s_small, s_large, hp = sizes["search_small"], sizes["search_large"], sizes["history_points"]
    rv = sizes["registry_versions"]

    def get(key, field):
        return lambda res: (res.get(key) or {}).get(field)

    def detail_rate(key):
        def d(res):
            r = res.get(key) or {}
            if "p50_ms" not in r:
                return ""
            return f"p50 {fmt_ms(r['p50_ms'])}, p99 {fmt_ms(r['p99_ms'])}" + (
                f", {r['error_count']} errors" if r.get("error_count") else "")
        return d

    def detail_search(key):
        def d(res):
            r = res.get(key) or {}
            if "p99_ms" not in r:
                return ""
            return f"p99 {fmt_ms(r['p99_ms'])}, {r['requests_ok']} calls" + (
                f", {r['error_count']} errors" if r.get("error_count") else "")
        return d

    def detail_hist(res):
        r = res.get("history") or {}
        if "rss_growth_mb" not in r:
            return ""
        return f"RSS +{r['rss_growth_mb']:.1f} MB, {r['pages']} pages"

    def detail_rss(res):
        r = res.get("idle_rss") or {}
        after = (res.get("rss_after_mb") or {}).get("rss_mb")
        if "processes" not in r:
            return ""
        return f"{r['processes']} process(es)" + (f"; {after:.0f} MB after the run" if after else "")

    return [
        dict(key="log_batch_c1", title="log-batch, 1000 points per call, 1 client", unit="points/s",
             value=get("log_batch_c1", "points_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("log_batch_c1"),
             target=("≥ 100k points/s", lambda res: _v(get("log_batch_c1", "points_per_s")(res), 0) >= 100_000)),
        dict(key="log_batch_c8", title="log-batch, 1000 points per call, 8 clients", unit="points/s",
             value=get("log_batch_c8", "points_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("log_batch_c8"),
             target=("≥ 300k points/s", lambda res: _v(get("log_batch_c8", "points_per_s")(res), 0) >= 300_000)),
        dict(key="log_metric_c16", title="log-metric, 16 clients", unit="req/s",
             value=get("log_metric_c16", "requests_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("log_metric_c16"),
             extra=("p99", get("log_metric_c16", "p99_ms"), False),
             target=("≥ 3,000 req/s, p99 ≤ 20 ms",
                     lambda res: _v(get("log_metric_c16", "requests_per_s")(res), 0) >= 3000
                     and _v(get("log_metric_c16", "p99_ms")(res), 1e9) <= 20)),
        dict(key="run_mix_c8", title="run mix: runs/create + runs/get, 8 clients", unit="ops/s",
             value=get("run_mix_c8", "ops_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("run_mix_c8"),
             target=("≥ 4,000 ops/s", lambda res: _v(get("run_mix_c8", "ops_per_s")(res), 0) >= 4000)),
        dict(key="search_small", title=f"search-runs, metric+param filter, {s_small:,} runs (p50)", unit="",
             value=get("search_small", "p50_ms"), higher=False, fmt=fmt_ms,
             detail=detail_search("search_small"),
             target=("p50 ≤ 5 ms", lambda res: _v(get("search_small", "p50_ms")(res), 1e9) <= 5)),
        dict(key="search_large", title=f"search-runs, metric+param filter, {s_large:,} runs (p50)", unit="",
             value=get("search_large", "p50_ms"), higher=False, fmt=fmt_ms,
             detail=detail_search("search_large"),
             target=("p50 ≤ 20 ms", lambda res: _v(get("search_large", "p50_ms")(res), 1e9) <= 20)),
        dict(key="history", title=f"get-history of a {hp:,}-step metric (p50 of full fetch)", unit="",
             value=lambda res: None if get("history", "p50_s")(res) is None else get("history", "p50_s")(res) * 1000,
             higher=False, fmt=fmt_ms, detail=detail_hist,
             target=("≤ 0.2 s, RSS growth ≤ 32 MB",
                     lambda res: _v(get("history", "p50_s")(res), 1e9) <= 0.2
                     and _v(get("history", "rss_growth_mb")(res), 1e9) <= 32)),
        dict(key="registry_create_c1", title=f"model-versions/create, 1 client ({rv // 2:,} versions of one model)",
             unit="versions/s", value=get("registry_create_c1", "versions_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("registry_create_c1"),
             target=("≥ 200 versions/s", lambda res: _v(get("registry_create_c1", "versions_per_s")(res), 0) >= 200)),
        dict(key="registry_create_c8", title=f"model-versions/create, 8 clients ({rv // 2:,} more versions)",
             unit="versions/s", value=get("registry_create_c8", "versions_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("registry_create_c8"),
             target=("≥ 1,500 versions/s", lambda res: _v(get("registry_create_c8", "versions_per_s")(res), 0) >= 1500)),
        dict(key="registry_from_run_c1",
             title=f"model-versions/create from one run, 1 client ({rv // 2:,} versions)",
             unit="versions/s", value=get("registry_from_run_c1", "versions_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("registry_from_run_c1"),
             target=("≥ 200 versions/s", lambda res: _v(get("registry_from_run_c1", "versions_per_s")(res), 0) >= 200)),
        dict(key="registry_from_run_c8",
             title=f"model-versions/create from one run, 8 clients ({rv // 2:,} more)",
             unit="versions/s", value=get("registry_from_run_c8", "versions_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("registry_from_run_c8"),
             target=("≥ 1,500 versions/s", lambda res: _v(get("registry_from_run_c8", "versions_per_s")(res), 0) >= 1500)),
        dict(key="registry_get_c8", title=f"model-versions/get, 8 clients, model of {rv:,} versions", unit="req/s",
             value=get("registry_get_c8", "requests_per_s"), higher=True, fmt=fmt_n,
             detail=detail_rate("registry_get_c8"),
             target=("≥ 10,000 req/s", lambda res: _v(get("registry_get_c8", "requests_per_s")(res), 0) >= 10_000)),
        dict(key="registry_latest_c8", title=f"get-latest-versions, 8 clients, model of {rv:,} versions",
             unit="req/s", value=get("registry_latest_c8", "requests_per_s"), higher=True, fmt=fmt_n,
             detail=lambda res: detail_rate("registry_latest_c8")(res) + (
                 f"; 1-version model: {fmt_n(get('registry_latest_one_c8', 'requests_per_s')(res))} req/s"
                 if get("registry_latest_one_c8", "requests_per_s")(res) else ""),
             target=("cost independent of the version count (≥ 0.8× the 1-version model's rate)",
                     lambda res: _v(get("registry_latest_c8", "requests_per_s")(res), 0)
                     >= 0.8 * _v(get("registry_latest_one_c8", "requests_per_s")(res), 1e12))),
        dict(key="registry_search", title=f"model-versions/search of all {rv:,} versions of a model (p50)", unit="",
             value=get("registry_search", "p50_ms"), higher=False, fmt=fmt_ms,
             detail=detail_search("registry_search"),
             target=None),
        dict(key="idle_rss", title="idle RSS (whole process tree)", unit="MB",
             value=get("idle_rss", "rss_mb"), higher=False, fmt=lambda v: "—" if v is None else f"{v:,.1f} MB",
             detail=detail_rss,
             target=("≤ 30 MB", lambda res: _v(get("idle_rss", "rss_mb")(res), 1e9) <= 30)),
    ] + transfer_workloads(sizes)


def ceiling_value(all_results: dict, direction: str):
    r = all_results.get("nginx")
    if not isinstance(r, dict):
        return None
    return ((r.get("curl_ceiling") or {}).get(direction) or {}).get("mib_s")


def transfer_workloads(sizes):
    """The file-transfer tables: MiB/s (higher is better), with the RSS growth beside it, the
    ratio to MLflow (a package transfer is compared with MLflow's artifact transfer the same
    way: MLflow has no package API) and the share of the curl ceiling."""
    one = f'{fmt_size(sizes["xfer_size"])}, best of {sizes["xfer_reps"]}'
    big = fmt_size(sizes["xfer_big_size"] or 2 << 30)

    def get(key, field):
        return lambda res: (res.get(key) or {}).get(field)

    def detail(key):
        def d(res):
            r = res.get(key) or {}
            if "mib_s" not in r:
                return ""
            return (f"RSS +{r['rss_growth_mb']:.1f} MB (peak {r['rss_peak_mb']:.0f} MB, "
                    f"{r['processes']} process(es)); runs {'/'.join(f'{x:,.0f}' for x in r['mib_s_each'])} MiB/s"
                    + (f", median {r['mib_s_median']:,.0f}" if len(r['mib_s_each']) > 1 else ""))
        return d

    def growth(key):  # for the ratio: at least 1 MB, so that noise around 0 gives no 500×
        return lambda res: None if get(key, "rss_growth_mb")(res) is None else max(1.0, get(key, "rss_growth_mb")(res))

    def target(key, direction, mlflow_key):
        def check(res, all_results):
            r = res.get(key) or {}
            mine, ceiling = r.get("mib_s"), ceiling_value(all_results, direction)
            mlflow = all_results.get("mlflow")
            theirs = (mlflow.get(mlflow_key) or {}).get("mib_s") if isinstance(mlflow, dict) else None
            return (mine is not None and theirs is not None and ceiling is not None
                    and mine >= 1.5 * theirs and mine >= 0.8 * ceiling and r["rss_growth_mb"] <= 32)
        return ("≥ 1.5× MLflow, ≥ 80 % of the curl ceiling, RSS growth ≤ 32 MB", check)

    hangars = {"hangar_sqlite", "hangar_postgres"}
    out = []
    for key, title, direction, mlflow_key in (
        ("artifact_upload_1g", f"mlflow-artifacts upload (PUT) of {one}", "upload", "artifact_upload_1g"),
        ("artifact_download_1g", f"mlflow-artifacts download (GET) of {one}", "download", "artifact_download_1g"),
        ("package_upload_1g", f"generic package upload (PUT) of {one}; MLflow: its artifact PUT",
         "upload", "artifact_upload_1g"),
        ("package_download_1g", f"generic package download (GET) of {one}; MLflow: its artifact GET",
         "download", "artifact_download_1g"),
    ):
        out.append(dict(key=key, title=title, unit="MiB/s", value=get(key, "mib_s"), higher=True,
                        fmt=fmt_n, detail=detail(key), extra=("RSS growth", growth(key), False),
                        servers=hangars | {"mlflow"}, peer_key=mlflow_key, ceiling=direction,
                        target=target(key, direction, mlflow_key), target_all=True))
    key = "artifact_upload_2g"

    def flat(res, all_results):
        r = res.get(key) or {}
        return r.get("rss_growth_mb") is not None and r["rss_growth_mb"] <= 32

    out.append(dict(key=key, title=f"mlflow-artifacts upload (PUT) of {big}: memory stays flat", unit="MiB/s",
                    value=get(key, "mib_s"), higher=True, fmt=fmt_n,
                    detail=lambda res: detail(key)(res) + (
                        f"; {fmt_size(sizes['xfer_size'])}: RSS +{res['artifact_upload_1g']['rss_growth_mb']:.1f} MB"
                        if (res.get("artifact_upload_1g") or {}).get("rss_growth_mb") is not None else ""),
                    servers=hangars, ceiling="upload", optional=True,
                    target=("RSS growth ≤ 32 MB, as for 1 GiB", flat), target_all=True))
    return out


def ratio(h, p, higher):
    if h is None or p is None or h <= 0 or p <= 0:
        return None
    return h / p if higher else p / h


def fmt_ratio(r):
    if r is None:
        return "—"
    return f"{r:.0f}×" if r >= 100 else f"{r:.1f}×"


def report(all_results: dict, labels: dict, sizes: dict, quick: bool, args=None) -> list[dict]:
    hangars = [k for k in ("hangar_sqlite", "hangar_postgres") if k in all_results]
    peers = [k for k in ("mlflow", "fasttrackml") if k in all_results]
    order = hangars + peers
    rows_out = []
    width = max([len(labels[k]) for k in order + (["nginx"] if "nginx" in all_results else [])] or [12])
    print()
    print("=" * 100)
    print("Results. Ratios: how many times Hangar is better than the peer (higher throughput, or lower")
    print("latency/time/memory); above 1× Hangar is ahead." + (" QUICK RUN: small sizes, short runs;"
          " the targets are meant for the full sizes." if quick else ""))
    loads = []
    for k in order + (["nginx"] if "nginx" in all_results else []):
        r = all_results[k]
        if isinstance(r, dict) and r.get("load_avg_at_start"):
            loads.append(f"{labels[k]} {r['load_avg_at_start']} → {r['load_avg_at_end']}")
    if loads:
        print("Load average (1, 5, 15 min) while each server ran, start → end: " + "; ".join(loads))
    for w in workloads(sizes):
        if args is not None and args.workloads and not selected(args, w["key"]):
            continue  # not asked for
        if w.get("optional") and not any(isinstance(all_results[k], dict) and w["key"] in all_results[k]
                                         for k in order):
            continue  # e.g. the 2 GiB upload of a --quick run
        servers = [k for k in order if "servers" not in w or k in w["servers"]]
        ratio_peers = [p for p in peers if p in servers]
        peer_value = (lambda res: (res.get(w["peer_key"]) or {}).get("mib_s")) if "peer_key" in w else w["value"]
        ceiling = ceiling_value(all_results, w["ceiling"]) if "ceiling" in w else None
        print()
        unit = f" ({w['unit']})" if w["unit"] else ""
        target_text = w["target"][0] if w["target"] else None
        print(f"{w['title']}{unit}    " + (f"target for Hangar: {target_text}" if target_text
                                          else "no target set: compare the ratios"))
        table = {"workload": w["key"], "title": w["title"], "unit": w["unit"], "target": target_text, "rows": []}
        for k in servers:
            res = all_results[k]
            if isinstance(res, str):  # the server did not run
                print(f"  {labels[k]:<{width}}  {'—':>9}   not measured: {res[:80]}")
                table["rows"].append({"server": labels[k], "value": None, "note": res})
                continue
            v = w["value"](res) if k in hangars else peer_value(res)
            row = {"server": labels[k], "value": v, "detail": w["detail"](res)}
            if k not in hangars and "peer_key" in w:
                row["detail"] = w["detail"]({w["key"]: res.get(w["peer_key"])})
            line = f"  {labels[k]:<{width}}  {w['fmt'](v):>9}   {row['detail']}"
            if k in hangars:
                ratios = []
                for p in ratio_peers:
                    pres = all_results[p]
                    pv = None if isinstance(pres, str) else peer_value(pres)
                    r = ratio(v, pv, w["higher"])
                    row[f"ratio_{p}"] = r
                    part = f"{fmt_ratio(r)} {labels[p]}"
                    if "extra" in w and not isinstance(pres, str):
                        ename, eget, ehigher = w["extra"]
                        pe = eget({w["key"]: pres.get(w.get("peer_key", w["key"]))})
                        er = ratio(eget(res), pe, ehigher)
                        row[f"ratio_{ename}_{p}"] = er
                        part += f" ({ename} {fmt_ratio(er)})"
                    ratios.append(part)
                if ceiling is not None and v is not None:
                    row["of_curl_ceiling"] = v / ceiling
                    ratios.append(f"{100 * v / ceiling:.0f} % of the curl ceiling")
                line += "   |  " + ", ".join(ratios) if ratios else ""
                if w["target"]:
                    check = w["target"][1]
                    ok = v is not None and (check(res, all_results) if w.get("target_all") else check(res))
                    row["target_met"] = ok
                    line += f"   {'✓' if ok else '✗'} {w['target'][0]}"
            res_row = (res.get(w["key"] if k in hangars else w.get("peer_key", w["key"])) or {})
            if "failed" in res_row or "skipped" in res_row:
                line += "   (" + (res_row.get("failed") or res_row.get("skipped"))[:120] + ")"
            print(line)
            table["rows"].append(row)
        if "ceiling" in w and "nginx" in all_results:
            res = all_results["nginx"]
            if isinstance(res, str):
                print(f"  {labels['nginx']:<{width}}  {'—':>9}   not measured: {res[:80]}")
                table["rows"].append({"server": labels["nginx"], "value": None, "note": res})
            else:
                c = (res.get("curl_ceiling") or {})
                r = c.get(w["ceiling"]) or {}
                det = (f"curl alone against nginx, {fmt_size(r['bytes'])}; RSS +{r['rss_growth_mb']:.1f} MB; "
                       f"runs {'/'.join(f'{x:,.0f}' for x in r['mib_s_each'])} MiB/s, "
                       f"median {r['mib_s_median']:,.0f}" if "mib_s" in r
                       else (c.get("failed") or c.get("skipped") or "")[:120])
                print(f"  {labels['nginx']:<{width}}  {fmt_n(ceiling):>9}   {det}")
                table["rows"].append({"server": labels["nginx"], "value": ceiling, "detail": det})
        rows_out.append(table)
    return rows_out


# ---------------------------------------------------------------------------------------------


def exit_text(code) -> str:
    if code is None:
        return "running"
    if code < 0:
        return f"killed by signal {-code} ({signal.Signals(-code).name})"
    if code == 0:
        return "exit 0: a graceful shutdown, i.e. SIGTERM or SIGINT from outside this benchmark"
    return f"exit {code}"


def reset_pg(url: str) -> None:
    """Empties the PostgreSQL database for a second attempt."""
    subprocess.run([shutil.which("psql") or "psql", "-X", "-w", "-q", "-d", url, "-c",
                    "drop schema public cascade; create schema public;"],
                   check=True, capture_output=True, timeout=60)


def run_one(args, key, labels, sizes, notes, all_results, settings, attempt) -> bool:
    """Starts one server, runs every workload, stops it. True when the server was stopped
    from outside mid-run and this was the first attempt: the caller runs it again."""
    t = time.time()
    srv = None
    retry = False
    first_note = len(notes)
    note = notes.append
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        if key == "hangar_sqlite":
            srv = start_hangar(args, "sqlite", args.log_dir)
        elif key == "hangar_postgres":
            if attempt > 1:
                reset_pg(args.pg_url)
            srv = start_hangar(args, "postgres", args.log_dir)
        elif key == "mlflow":
            if not args.mlflow:
                raise RuntimeError("no mlflow executable given")
            srv = start_mlflow(args, args.log_dir)
        elif key == "fasttrackml":
            if not args.fml:
                raise RuntimeError("FastTrackML is not installed")
            srv = start_fml(args, args.log_dir)
        elif key == "nginx":
            srv = start_nginx(args, args.log_dir)
        print(f"    started on 127.0.0.1:{srv.port} in {time.time() - t:.1f}s; load average {load}", flush=True)
        for k, v in srv.settings.items():
            print(f"    {k}: {v}")
        settings[key] = {**srv.settings, "startup_s": round(time.time() - t, 1), "load_avg_at_start": load}
        results = bench_server(args, srv, sizes, note)
        if not srv.alive():
            why = exit_text(srv.proc.returncode)
            note(f"{labels[key]} stopped during the run ({why}); log {srv.log}:\n" + tail(srv.log, 8))
            if attempt == 1 and srv.proc.returncode in (0, -signal.SIGTERM, -signal.SIGINT, -signal.SIGKILL):
                retry = True
        all_results[key] = results
        results["load_avg_at_start"] = load
        results["load_avg_at_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
        results["attempt"] = attempt
    except Exception as e:
        msg = f"{type(e).__name__}: {e}"
        print(f"    not measured: {msg}", flush=True)
        note(f"{labels[key]}: not measured: {msg}")
        all_results[key] = msg.splitlines()[0]
    finally:
        if srv is not None:
            srv.api.close()
            stop(srv.proc)
            shutil.rmtree(srv.data_dir, ignore_errors=True)
    print(f"    ({time.time() - t:.0f}s)", flush=True)
    if retry:
        notes[first_note:] = [f"attempt 1 (run again): {n}" for n in notes[first_note:]]
    return retry


def main() -> int:
    global PGID_FILE, REQUEST_TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hangar-bin", required=True)
    ap.add_argument("--oha", required=True)
    ap.add_argument("--loadgen", required=True, help="the hangar-loadgen binary (crates/loadgen)")
    ap.add_argument("--mlflow", help="the `mlflow` executable of a venv with mlflow's server")
    ap.add_argument("--fml", help="FastTrackML's `fml` binary")
    ap.add_argument("--nginx", help="an nginx binary with the WebDAV module: the file server of the curl ceiling")
    ap.add_argument("--curl", default=shutil.which("curl"), help="curl, the client of the transfer workloads")
    ap.add_argument("--data-dir", help="where the transfer workloads' random files are made once and kept "
                    "(default: data/ beside --results; best on the disk of --run-dir)")
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--pg-url", help="a fresh, empty PostgreSQL database for Hangar")
    ap.add_argument("--only", choices=("hangar",))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--duration", type=float, help="seconds per throughput workload (default 15, quick 4)")
    ap.add_argument("--http-seed-budget", type=float,
                    help="seconds MLflow may spend seeding the large search set over HTTP before the rest is "
                         "written into its SQLite file (default 240, quick 60)")
    ap.add_argument("--run-dir", required=True, help="temp data folders go here (emptied first)")
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--results", required=True, help="the JSON file to write")
    ap.add_argument("--workloads", help="comma-separated subset by part of the name, e.g. log_batch,history "
                    "(idle_rss, log_batch_c1, log_batch_c8, log_metric_c16, run_mix_c8, history, search, "
                    "registry, artifact_upload_1g, artifact_download_1g, package_upload_1g, package_download_1g, "
                    "artifact_upload_2g, curl_ceiling), or `files` for all the transfer workloads; a server "
                    "with none of them is not started, and the curl ceiling comes with any transfer workload")
    ap.add_argument("--servers", help="comma-separated subset: hangar_sqlite,hangar_postgres,mlflow,fasttrackml,nginx")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    shutil.rmtree(args.run_dir, ignore_errors=True)
    os.makedirs(args.run_dir)
    os.makedirs(args.log_dir, exist_ok=True)
    for name in ("hangar-sqlite.log", "hangar-postgres.log", "mlflow.log", "fasttrackml.log", "nginx.log"):
        try:
            os.remove(os.path.join(args.log_dir, name))
        except FileNotFoundError:
            pass
    PGID_FILE = os.path.join(args.run_dir, "pgids")
    open(PGID_FILE, "w").close()

    if args.quick:
        sizes = dict(duration=4.0, search_small=300, search_large=1500, search_duration=3.0,
                     history_points=10_000, history_reps=3, seed_timeout=120.0,
                     http_seed_budget=60.0, registry_versions=100, registry_duration=30.0,
                     xfer_size=128 * MIB, xfer_big_size=None, xfer_reps=3, xfer_big_reps=1,
                     ceiling_reps=5)
    else:
        sizes = dict(duration=15.0, search_small=2000, search_large=20000, search_duration=10.0,
                     history_points=100_000, history_reps=5, seed_timeout=900.0,
                     http_seed_budget=240.0, registry_versions=500, registry_duration=120.0,
                     xfer_size=1 << 30, xfer_big_size=2 << 30, xfer_reps=3, xfer_big_reps=1,
                     ceiling_reps=5)
    if args.duration:
        sizes["duration"] = args.duration
    if args.http_seed_budget is not None:
        sizes["http_seed_budget"] = args.http_seed_budget

    plan = []
    if args.backend in ("sqlite", "both"):
        plan.append("hangar_sqlite")
    if args.backend in ("postgres", "both"):
        if args.pg_url:
            plan.append("hangar_postgres")
        else:
            print("note: no --pg-url, so no Hangar-PostgreSQL")
    if args.only != "hangar":
        plan += ["fasttrackml", "mlflow"]
    # The curl ceiling is the machine's, not a peer's: measured with --only hangar too.
    if selected(args, "curl_ceiling"):
        if args.nginx:
            plan.insert(0, "nginx")
        else:
            print("note: no --nginx, so no curl ceiling for the transfer workloads")
    if args.servers:
        want = set(args.servers.split(","))
        plan = [p for p in plan if p in want]
    plan = [p for p in plan if any(selected(args, w) for w in server_workloads(p))]
    labels = {"hangar_sqlite": "Hangar-SQLite", "hangar_postgres": "Hangar-PostgreSQL",
              "mlflow": "MLflow", "fasttrackml": "FastTrackML", "nginx": "nginx (curl ceiling)"}

    notes: list[str] = []

    def note(msg):
        notes.append(msg)

    # The transfer workloads' data files, made once (random bytes), on the servers' disk.
    args.xfer_files = {}
    xfer_meta = {}
    if any(selected(args, w) for w in TRANSFER_WORKLOADS + ("curl_ceiling",)) and any(
            p in plan for p in ("hangar_sqlite", "hangar_postgres", "mlflow", "nginx")):
        data_dir = args.data_dir or os.path.join(os.path.dirname(os.path.abspath(args.results)), "data")
        os.makedirs(data_dir, exist_ok=True)
        wanted = [sizes["xfer_size"]]
        if sizes["xfer_big_size"] and selected(args, "artifact_upload_2g") and any(
                p.startswith("hangar") for p in plan):
            wanted.append(sizes["xfer_big_size"])
        missing = 0
        for n in wanted:
            f = os.path.join(data_dir, f"random-{n // MIB}MiB.bin")
            if not (os.path.exists(f) and os.path.getsize(f) == n):
                missing += n
        # Besides missing data files: per server at most its stored copies (each upload a new
        # file: reps x 1 GiB artifacts and packages, the 2 GiB upload) and one downloaded copy,
        # plus 1 GiB to spare.
        need = (missing + (2 * max(sizes["xfer_reps"], sizes["ceiling_reps"]) + 1) * sizes["xfer_size"]
                + (sizes["xfer_big_size"] or 0) + (1 << 30))
        free = shutil.disk_usage(data_dir).free
        same_disk = os.stat(data_dir).st_dev == os.stat(args.run_dir).st_dev
        if not args.curl:
            note("no curl: the transfer workloads are skipped")
        elif free < need:
            note(f"only {fmt_size(free)} free on {data_dir}, the transfer workloads need about "
                 f"{fmt_size(need)}: skipped")
        else:
            for n in wanted:
                args.xfer_files[n] = data_file(data_dir, n)
            xfer_meta = {"data_files": {fmt_size(d.size): {"path": d.path, "sha256": d.sha256}
                                        for d in args.xfer_files.values()},
                         "curl": subprocess.run([args.curl, "--version"], capture_output=True,
                                                text=True).stdout.split("\n")[0],
                         "same_disk_as_servers": same_disk}
            if not same_disk:
                note(f"the data files ({data_dir}) are not on the servers' disk ({args.run_dir})")

    def oha_version():
        try:
            return subprocess.run([args.oha, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            return "unknown"

    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "oha": oha_version(),
        "quick": args.quick,
        "sizes": sizes,
        "search_filter": SEARCH_FILTER,
        **({"transfers": xfer_meta} if xfer_meta else {}),
    }
    try:
        with open("/proc/meminfo") as f:
            meta["mem_total"] = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    print(f"machine: {meta['cpus']} CPUs, {meta.get('mem_total', '?')}, load average "
          f"{' '.join(f'{x:.2f}' for x in meta['loadavg_at_start'])} (shared: figures are noisy)")

    all_results: dict[str, object] = {}
    settings: dict[str, dict] = {}
    t_start = time.time()
    try:
        for key in plan:
            print(f"\n--- {labels[key]}", flush=True)
            for attempt in (1, 2):
                retry = run_one(args, key, labels, sizes, notes, all_results, settings, attempt)
                if not retry:
                    break
                print(f"    {labels[key]} was stopped from outside during the run: starting it again",
                      flush=True)
    finally:
        stop_all()

    tables = report(all_results, labels, sizes, args.quick, args)
    print()
    print("Durability and settings, as found (nothing was tuned):")
    for key in plan:
        if key in settings:
            s = settings[key]
            print(f"  {labels[key]}: " + "; ".join(f"{k} {v}" for k, v in s.items()
                                                    if k not in ("startup_s", "load_avg_at_start")))
    if "hangar_postgres" in plan:
        print("  Hangar-PostgreSQL's idle RSS is Hangar's alone, not the PostgreSQL server's.")
    print("Method: write workloads with hangar-loadgen (Rust, keep-alive, new points every call); "
          "search with oha, 1 client;\n  MLflow runs `mlflow server --workers 1`; all servers one at a "
          "time on 127.0.0.1, each on a fresh data folder.")
    if args.xfer_files:
        print("  Transfers: `curl -T file` (PUT, no Expect: 100-continue; each to a new path) and `curl -o file` "
              f"(GET), best of {sizes['xfer_reps']} per workload\n  ({sizes['ceiling_reps']} for the ceiling), "
              "each after a sync; RSS growth = the server tree's peak "
              "(sampled every 20 ms) minus its RSS before the first transfer; data files "
              + ", ".join(d.path for d in args.xfer_files.values()) + ".")
    if notes:
        print()
        print("Notes:")
        for n in notes:
            print("  - " + n)
    elapsed = time.time() - t_start
    print(f"\nbench.py took {elapsed / 60:.1f} min; results in {args.results}")
    with open(args.results, "w") as f:
        json.dump({"meta": {**meta, "elapsed_s": round(elapsed, 1)}, "settings": settings,
                   "results": all_results, "tables": tables, "notes": notes}, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
