"""/metrics is valid Prometheus exposition: `promtool check metrics` accepts
it, every label set appears once, GET and POST of a route are told apart,
and the standard process metrics describe the server process."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter

import pytest

from test_operations import parse_prometheus, value_of

PROMTOOL = shutil.which("promtool")


def metrics_text(server) -> str:
    # GET and POST of one route (the POST is refused: no token) and HEAD.
    assert server.get("/api/v1/articles?edition=en&limit=1").status == 200
    assert server.request("POST", "/api/v1/articles", json_body={}).status == 401
    assert server.request("HEAD", "/healthz").status == 200
    r = server.get("/metrics")
    assert r.status == 200
    return r.text


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) not installed")
def test_promtool_accepts_the_exposition(server):
    text = metrics_text(server)
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, f"promtool:\n{proc.stdout}{proc.stderr}"


def test_every_label_set_appears_once_and_methods_are_told_apart(server):
    _, samples = parse_prometheus(metrics_text(server))
    keys = Counter((n, tuple(sorted(l.items()))) for n, l, _ in samples)
    dupes = [k for k, c in keys.items() if c > 1]
    assert not dupes, dupes
    assert value_of(samples, "depesche_http_requests_total", route="/api/v1/articles", method="GET",
                    status=200) >= 1
    assert value_of(samples, "depesche_http_requests_total", route="/api/v1/articles", method="POST",
                    status=401) >= 1
    assert value_of(samples, "depesche_http_request_duration_seconds_count", route="/healthz",
                    method="HEAD") >= 1


def test_process_metrics_describe_the_server_process(server):
    types, samples = parse_prometheus(metrics_text(server))
    pid = server.proc.pid
    assert types["process_cpu_seconds_total"] == "counter"
    for name in ("process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"):
        assert types[name] == "gauge", name
    rss = value_of(samples, "process_resident_memory_bytes")
    with open(f"/proc/{pid}/status") as f:
        vm_rss = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))
    assert 0.5 * vm_rss < rss < 2 * vm_rss, (rss, vm_rss)
    fds = value_of(samples, "process_open_fds")
    assert abs(fds - len(os.listdir(f"/proc/{pid}/fd"))) <= 8, fds
    assert value_of(samples, "process_cpu_seconds_total") > 0
    start = value_of(samples, "process_start_time_seconds")
    assert time.time() - 3600 < start <= time.time() + 1, start
