"""Run ``rembg s`` (the peer venv's own server) with every non-loopback connection refused.

Run by the peer venv's interpreter: ``python rembg_launch.py WORKER_PY PORT``. WORKER_PY is bgremover's
benchmark worker, whose ``guard_network`` the benchmark already uses to keep rembg from downloading.
"""
import importlib.util
import sys
import webbrowser

worker_py, port = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("bench_worker", worker_py)
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
worker.guard_network()
webbrowser.open = lambda *a, **k: False  # rembg s opens a browser at start-up

sys.argv = ["rembg", "s", "--host", "127.0.0.1", "--port", port, "--log_level", "warning", "--threads", "2"]
import rembg.cli  # noqa: E402, F401  (the module runs its click group on import)
