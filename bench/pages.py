#!/usr/bin/env python3
"""How fast Hangar's web pages render: the models index of a project with 1,000 models
(2 versions each) and a version page whose candidate has 10,000 metric points, plus the
experiment page of that model with its runs. The issue's target: each renders in <= 50 ms.

Hangar only: the reference MLflow server has no server-rendered page to compare with (its UI
is a single-page app that fetches JSON), so the figures are absolute, measured on this
machine, the median of sequential requests by one signed-in browser session (keep-alive),
after warm-up requests. Usage (scripts/bench --pages runs it):

    bench/pages.py --hangar-bin target/release/hangar [--backend sqlite|postgres --pg-url URL]
                   [--models 1000] [--points 10000] [--requests 200]
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the shared server start-up, process and percentile helpers)

PASSWORD = "bench-password-1234"


def seed(srv: bench.Server, models: int, points: int) -> dict:
    """1,000 models of 2 versions, and `big`, whose version 1.0.0 has `points` metric points."""
    t = time.time()
    api = srv.api
    for i in range(models):
        name = f"model-{i:04d}"
        api.call("POST", "/registered-models/create", {"name": name, "description": f"Model **{i}**"})
        for _ in range(2):
            api.call("POST", "/model-versions/create", {"name": name, "source": "s3://bucket/m"})
    api.call("POST", "/registered-models/create", {"name": "big"})
    version = api.call("POST", "/model-versions/create", {"name": "big", "source": "s3://b/m"})
    run_id = version["model_version"]["run_id"]
    keys = ["loss", "val_loss", "accuracy", "val_accuracy", "lr"]
    steps = points // len(keys)
    batch = []
    for step in range(steps):
        for k, key in enumerate(keys):
            batch.append({"key": key, "value": 1.0 / (1 + step + k), "timestamp": 1_700_000_000_000 + step,
                          "step": step})
            if len(batch) == 1000:
                api.call("POST", "/runs/log-batch", {"run_id": run_id, "metrics": batch})
                batch = []
    if batch:
        api.call("POST", "/runs/log-batch", {"run_id": run_id, "metrics": batch})
    api.call("POST", "/runs/log-batch", {"run_id": run_id,
                                         "params": [{"key": f"p{i}", "value": str(i)} for i in range(20)]})
    return {"seconds": round(time.time() - t, 1), "run_id": run_id}


class Browser:
    """One keep-alive connection carrying a session cookie, as a browser's."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def sign_in(self, username: str) -> None:
        body = urllib.parse.urlencode({"username": username, "password": PASSWORD, "redirect_to": "/"})
        self.conn.request("POST", "/users/sign_in", body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = self.conn.getresponse()
        resp.read()
        cookie = resp.getheader("set-cookie") or ""
        if resp.status != 303 or not cookie:
            raise RuntimeError(f"sign-in failed: {resp.status}")
        self.cookie = cookie.split(";")[0]

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path, headers={"Cookie": self.cookie})
        resp = self.conn.getresponse()
        return resp.status, resp.read()


def time_page(browser: Browser, path: str, requests: int, must_contain: bytes) -> dict:
    status, body = browser.get(path)
    if status != 200 or must_contain not in body:
        raise RuntimeError(f"GET {path}: {status}, {len(body)} bytes, without {must_contain!r}")
    for _ in range(5):
        browser.get(path)
    times = []
    for _ in range(requests):
        t = time.perf_counter()
        status, body = browser.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert status == 200
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(bench.pct(times, 0.95), 2),
            "max_ms": round(max(times), 2), "bytes": len(body), "requests": requests}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hangar-bin", required=True)
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--pg-url", default="")
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--out", default="target/bench/pages.json")
    args = ap.parse_args()
    args.hangar_bin = os.path.abspath(args.hangar_bin)
    args.run_dir = tempfile.mkdtemp(prefix="hangar-pages-")
    log_dir = os.path.join("target", "bench", "logs")
    os.makedirs(log_dir, exist_ok=True)
    srv = bench.start_hangar(args, args.backend, log_dir)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_")}
        cmd = [args.hangar_bin, "admin", "--data-dir", srv.data_dir]
        if args.backend == "postgres":
            cmd += ["--database-url", args.pg_url]
        subprocess.run(cmd + ["user", "set-password", "admin"], input=PASSWORD.encode(), env=env,
                       check=True, cwd=srv.data_dir)
        print(f"seeding {args.models} models x 2 versions and {args.points} metric points "
              f"on Hangar-{args.backend}…", flush=True)
        seeded = seed(srv, args.models, args.points)
        print(f"  seeded in {seeded['seconds']} s", flush=True)
        browser = Browser(srv.port)
        browser.sign_in("admin")
        models = "/admin/default/-/ml/models"
        # The model `big` and its version: their ids from the JSON API.
        status, body = browser.get("/api/v4/projects/1/ml/models?search=big")
        big = json.loads(body)[0]
        status, body = browser.get(f"/api/v4/projects/1/ml/models/{big['id']}/versions")
        version = json.loads(body)[0]
        pages = {
            f"models index ({args.models + 1} models, page 1, newest)": (models, b">big</a>"),
            "models index, by name": (f"{models}?sort=name_asc", b">model-0000</a>"),
            "models index, by latest version": (f"{models}?sort=latest_version_desc", b">big</a>"),
            "models index, searched": (f"{models}?search=model-09", b">model-0999</a>"),
            f"version page ({args.points:,} metric points, 5 charts)":
                (f"{models}/{big['id']}/versions/{version['id']}", b"<svg"),
            f"model page ({args.models} models' project)": (f"{models}/{big['id']}", b"1.0.0"),
        }
        results = {}
        for title, (path, marker) in pages.items():
            results[title] = time_page(browser, path, args.requests, marker)
            r = results[title]
            verdict = "ok" if r["p50_ms"] <= 50 else "over"
            print(f"  {title:<52} p50 {r['p50_ms']:>7.2f} ms  p95 {r['p95_ms']:>7.2f} ms  "
                  f"max {r['max_ms']:>7.2f} ms  {r['bytes']:>8,} B  target <= 50 ms: {verdict}", flush=True)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"backend": args.backend, "seed": seeded, "pages": results}, f, indent=2)
        print(f"results: {args.out}")
    finally:
        bench.stop(srv.proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
