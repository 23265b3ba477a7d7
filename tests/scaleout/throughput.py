"""Throughput of the embedded and the scale-out deployment, 1 and 2 worker processes each, in one run.

    .venv/bin/python tests/scaleout/throughput.py [--requests 12] [--concurrency 4] [--rounds 2]

Not a test (it asserts nothing): a measurement for issue 5's report. All four deployments run at once on
this machine and are measured in turns, round after round, each round starting with the next deployment,
so that background load slows each alike: compare the ratios, not the absolute figures, on a shared
machine. Each request is a 1 MP JPEG uploaded with ``wait`` (the API answers when the task is done),
through ``bgremover.benchmark.service``.
ONNX threads per worker = 2 // workers, so each deployment can use both cores.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: web.*, scaleout.*, conftest

from bgremover.benchmark.service import ServiceResult, measure_service  # noqa: E402
from bgremover.benchmark.workload import build_workloads  # noqa: E402
from bgremover.client import Client  # noqa: E402
from scaleout.cluster import FAST, Cluster  # noqa: E402
from scaleout.services import PgSchema, RedisNamespace, require_services  # noqa: E402
from web.service_process import ServiceProcess, embedded_env  # noqa: E402

LIMITS = {"BGREMOVER_RATE_LIMIT_PER_MINUTE": "1000000", "BGREMOVER_READ_RATE_LIMIT_PER_MINUTE": "1000000",
          "BGREMOVER_MAX_TASKS_IN_FLIGHT": "1000",
          "BGREMOVER_MAX_QUEUE_DEPTH": "10000"}


def embedded(root: Path, workers: int) -> ServiceProcess:
    env = embedded_env(root / "data", BGREMOVER_ONNX_THREADS=str(max(1, 2 // workers)), **LIMITS)
    return ServiceProcess(mode="embedded", env=env, data_dir=root / "data", log_path=root / "serve.log",
                          args=["--workers", str(workers)]).start()


def scaleout(root: Path, workers: int) -> Cluster:
    fleet = Cluster(root, PgSchema(), RedisNamespace(),
                    {"BGREMOVER_ONNX_THREADS": str(max(1, 2 // workers)), **LIMITS})
    fleet.add_api()
    for _ in range(workers):
        fleet.add_worker()
    return fleet


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=12, help="images per deployment per round")
    p.add_argument("--concurrency", type=int, default=4, help="client threads")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--megapixels", type=float, default=1.0)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    require_services()
    work = Path(tempfile.mkdtemp(prefix="bgr-throughput-"))
    photo = build_workloads([args.megapixels], work / "photos")[0]
    data = photo.path.read_bytes()
    print(f"photo {photo.width}x{photo.height} ({len(data)} bytes), {args.requests} requests x "
          f"{args.rounds} rounds at concurrency {args.concurrency}; load {os.getloadavg()}", flush=True)

    clusters: list[Cluster] = []
    targets: dict[str, ServiceProcess] = {}
    try:
        for w in (1, 2):
            targets[f"embedded, serve --workers {w}"] = embedded(work / f"embedded{w}", w)
            fleet = scaleout(work / f"scaleout{w}", w)
            clusters.append(fleet)
            targets[f"scale-out, api-only + {w} worker process(es)"] = fleet.apis[0]
        keys = {name: svc.new_account(100_000).key for name, svc in targets.items()}
        results: dict[str, list[ServiceResult]] = {name: [] for name in targets}
        names = list(targets)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:  # each round starts elsewhere
                svc = targets[name]
                def make(svc: ServiceProcess = svc, key: str = keys[name]):  # one client per thread
                    client = Client(svc.base_url, key, timeout=300)
                    return lambda d: client.remove(d, model=FAST, wait=60)

                res = measure_service(name, make, data, concurrency=args.concurrency, requests=args.requests,
                                      warmup=2)
                results[name].append(res)
                print(f"round {r + 1}: {name:45s} {res.throughput:6.2f} img/s  median latency "
                      f"{res.latency_median:5.2f} s  errors {res.errors}  load {os.getloadavg()[0]:.1f}",
                      flush=True)
        base = statistics.mean(x.throughput for x in results["embedded, serve --workers 1"])
        summary = []
        print("\nmean over rounds (ratio to embedded with 1 worker):")
        for name, rs in results.items():
            tput = statistics.mean(x.throughput for x in rs)
            lat = statistics.median([t for x in rs for t in x.latencies])
            summary.append({"deployment": name, "images_per_s": tput, "ratio": tput / base, "latency_median_s": lat,
                            "errors": sum(x.errors for x in rs), "rounds": [x.to_json() for x in rs]})
            print(f"  {name:45s} {tput:6.2f} img/s  x{tput / base:4.2f}  median latency {lat:5.2f} s")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"photo": [photo.width, photo.height], "load_end": os.getloadavg(),
                                             "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                             "results": summary}, indent=1))
    finally:
        for svc in targets.values():
            if svc.mode == "embedded":
                svc.stop()
        for fleet in clusters:
            fleet.stop()
            fleet.schema.drop()
            fleet.redis_ns.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
