"""Prometheus metrics at GET /metrics on the dashboard listener, scraped with the real
`curl` during a real `empathy demo --dashboard` (edge units in their own processes, real
UDP) and parsed with the official prometheus_client text parser; the shipped alert rules
and Grafana dashboard are checked against the names the endpoint really serves."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w
import yaml
from prometheus_client.parser import text_string_to_metric_families

from empathy import wire
from empathy.clock import now_us
from test_dashboard_browser import demo_dashboard

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "monitoring"
CURL, PROMTOOL = shutil.which("curl"), shutil.which("promtool")
REQUIRED = {  # family name (as the parser gives it) -> type
    "empathy_packets_received": "counter", "empathy_packets_rejected": "counter",
    "empathy_seats_good": "gauge", "empathy_seats_total": "gauge",
    "empathy_unit_last_seen_seconds": "gauge", "empathy_frames_late": "counter",
    "empathy_frames_dropped": "counter", "empathy_decision_latency_seconds": "histogram",
    "empathy_kernel_drops": "counter"}


def curl(url: str, token: str | None) -> tuple[int, str]:
    """`curl -H "Authorization: Bearer $T" URL`, as an operator or Prometheus would."""
    cmd = [CURL, "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", url]
    if token is not None:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams: dict, sample: str, **labels) -> float:
    for f in fams.values():
        for s in f.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    raise KeyError(f"{sample}{labels}")


@pytest.fixture  # one test's: stopped after it, not left running through the module's others
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics-demo")
    token = "metrics-" + os.urandom(16).hex()
    with demo_dashboard(tmp, token, duration_s=45) as (url, proc):
        yield {"url": url, "token": token, "proc": proc, "out": tmp / "demo"}


def scrape_until(demo, pred, timeout_s=90.0, what=""):
    deadline, fams = time.monotonic() + timeout_s, {}
    while time.monotonic() < deadline:
        code, text = curl(demo["url"] + "metrics", demo["token"])
        assert code == 200, text
        fams = families(text)
        try:
            if pred(fams):
                return text, fams
        except KeyError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {sorted(fams)}")


@pytest.mark.skipif(not CURL, reason="curl (apt) is not installed")
def test_metrics_during_the_demo(demo):
    url = demo["url"] + "metrics"
    assert curl(url, None)[0] == 401 and curl(url, "not-the-token")[0] == 401

    # Forged packets at the host's UDP port (the one its edge units send to): unit 1's
    # samples signed with a key that is not unit 1's. Counted by reason.
    uplink = tomllib.loads((demo["out"] / "edge" / "unit1.toml").read_text())["uplink"]
    host, port = uplink.removeprefix("udp://").rsplit(":", 1)
    forger = os.urandom(32)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for seq in range(5):
            s.sendto(wire.encode(wire.SeatSample(1, 1, 10**6 + seq, now_us()), forger),
                     (host, int(port)))
    text, fams = scrape_until(
        demo, lambda f: value(f, "empathy_decision_latency_seconds_count") >= 1
        and value(f, "empathy_seats_good") == 3
        and value(f, "empathy_packets_rejected_total", reason="bad_tag") >= 5,
        what="a decision, 3 good seats and the rejected packets")
    for name, kind in REQUIRED.items():
        assert name in fams and fams[name].type == kind, (name, fams.get(name))
    assert value(fams, "empathy_seats_total") == 3
    received = value(fams, "empathy_packets_received_total")
    assert received > 100 and value(fams, "empathy_packets_accepted_total") <= received
    units = {s.labels["unit"]: s.value for s in fams["empathy_unit_last_seen_seconds"].samples}
    assert set(units) == {"1", "2", "3"}
    assert all(abs(time.time() - t) < 5 for t in units.values()), units  # Unix time
    assert all(v < 5 for v in (s.value for s in fams["empathy_unit_silent_seconds"].samples))
    # Histogram: the buckets are cumulative and end at +Inf == count; a decision takes
    # well under a second from its window's close.
    buckets = [s for s in fams["empathy_decision_latency_seconds"].samples
               if s.name.endswith("_bucket")]
    assert buckets[-1].labels["le"] == "+Inf"
    assert buckets[-1].value == value(fams, "empathy_decision_latency_seconds_count")
    assert all(a.value <= b.value for a, b in zip(buckets, buckets[1:]))
    assert 0 < value(fams, "empathy_decision_latency_seconds_sum") < \
        value(fams, "empathy_decision_latency_seconds_count")
    assert value(fams, "empathy_kernel_drops_total") >= 0
    assert value(fams, "empathy_frames_rendered_total") > 0
    assert value(fams, "empathy_frames_late_total") >= 0
    assert value(fams, "empathy_show_info", story="Neon Rain") == 1

    # Counters only go up between scrapes.
    later, _ = scrape_until(demo, lambda f: value(f, "empathy_packets_received_total")
                            > received + 30, what="more packets")
    if PROMTOOL:  # Prometheus's own linter finds nothing but the one name the issue chose
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=later, capture_output=True,
                           text=True, timeout=30)
        assert (r.stdout + r.stderr).strip().splitlines() == [
            'empathy_seats_total non-counter metrics should not have "_total" suffix'], r
    (demo["out"].parent / "scrape.txt").write_text(later)

    # Everything the shipped rules and dashboard ask for is served.
    served = {s.name for f in families(later).values() for s in f.samples} | set(fams)
    for where, expr in shipped_expressions():
        for name in re.findall(r"\bempathy_\w+", expr):
            assert name in served, f"{where}: {name} is not a metric the host serves"


def shipped_expressions() -> list[tuple[str, str]]:
    out = []
    for group in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]:
        out += [(f"alerts.yml {r['alert']}", r["expr"]) for r in group["rules"]]
    dash = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    for panel in dash["panels"]:
        out += [(f"dashboard panel {panel['title']!r}", t["expr"])
                for t in panel.get("targets", [])]
    return out


def test_alert_rules_name_the_three_conditions():
    rules = {r["alert"]: r for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())
             ["groups"] for r in g["rules"]}
    exprs = " ".join(r["expr"] for r in rules.values())
    assert "empathy_unit_silent_seconds" in exprs and "> 10" in exprs
    assert "empathy_seats_good" in exprs and "empathy_seats_total" in exprs and "0.8" in exprs
    assert "empathy_frames_late_total" in exprs
    for r in rules.values():
        assert r["labels"]["severity"] and r["annotations"]["summary"]
    assert len(shipped_expressions()) > len(rules)  # the dashboard has queries too


@pytest.mark.skipif(not PROMTOOL, reason="promtool (apt: prometheus) is not installed")
def test_alert_rules_pass_promtool_and_their_unit_tests():
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        r = subprocess.run([PROMTOOL, *args], cwd=MONITORING, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(not PROMTOOL, reason="promtool (apt: prometheus) is not installed")
def test_dashboard_queries_and_scrape_config_pass_promtool(tmp_path):
    # Each Grafana query as a recording rule: promtool then parses its PromQL.
    rules = [{"record": f"dashboard:query{i}", "expr": expr.replace("$instance", ".*")}
             for i, (where, expr) in enumerate(shipped_expressions()) if "panel" in where]
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(
        {"groups": [{"name": "dashboard", "rules": rules}]}))
    r = subprocess.run([PROMTOOL, "check", "rules", "queries.yml"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and f"{len(rules)} rules found" in r.stdout, r.stdout + r.stderr
    # The scrape config, with its token file where this test can make one.
    token = tmp_path / "empathy-metrics.token"
    token.write_text("t\n")
    shutil.copy(MONITORING / "alerts.yml", tmp_path)
    (tmp_path / "prometheus.yml").write_text((MONITORING / "prometheus.yml").read_text()
                                             .replace("/etc/prometheus/empathy-metrics.token",
                                                      str(token)))
    r = subprocess.run([PROMTOOL, "check", "config", "prometheus.yml"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_grafana_dashboard_is_importable_json():
    dash = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    assert dash["uid"] and dash["title"] and dash["__inputs"][0]["pluginId"] == "prometheus"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) >= 8
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}" and p["targets"], p["title"]
        assert all(t["refId"] and t["expr"] for t in p["targets"]), p["title"]


def test_kernel_drops_are_read_for_the_hosts_own_socket():
    from empathy.host.dashboard.metrics import kernel_drops
    from empathy.transports.udp import Receiver

    from test_api import free_port

    rx, quiet = (Receiver(f"udp://127.0.0.1:{free_port()}") for _ in range(2))
    try:
        rx.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's minimum
        assert kernel_drops(rx) == 0 and kernel_drops(quiet) == 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(2000):  # nobody reads: the buffer fills, the kernel drops
                s.sendto(b"x" * 32, ("127.0.0.1", rx.port))
        dropped = kernel_drops(rx)
        assert dropped > 1000 and kernel_drops(quiet) == 0  # counted for that socket only
        assert len(rx.recv_batch(timeout_s=0.5)) + dropped == 2000
    finally:
        rx.close()
        quiet.close()
    assert kernel_drops(object()) is None  # not a UDP socket (MQTT): no figure


def test_a_read_only_metrics_token(tmp_path):
    from test_api import HostRig

    token = "scrape-" + os.urandom(16).hex()
    (tmp_path / "metrics.token").write_text(token + "\n")
    (tmp_path / "metrics.token").chmod(0o600)  # the host refuses one others can read
    rig = HostRig(tmp_path, seats=2)
    cfg = tomllib.loads(rig.config.read_text())
    cfg["dashboard"]["metrics_token_file"] = str(tmp_path / "metrics.token")
    rig.config.write_text(tomli_w.dumps(cfg))
    rig.start()
    try:
        url = rig.url + "metrics"
        for t in (token, rig.token):  # the scraper's token or the operator's
            code, text = curl(url, t)
            assert code == 200 and "empathy_packets_received_total" in text
        assert curl(url, None)[0] == 401 and curl(url, "nope")[0] == 401
        assert curl(url + f"?token={token}", None)[0] == 401  # never in the address
        # The metrics token reads metrics and nothing else.
        assert curl(rig.url + "api/v1/state", token)[0] == 401
        status, _ = rig.post("/api/v1/control", b'{"action": "kill_switch"}', token)
        assert status == 401
        assert rig.get("/api/v1/state", rig.token)[1]["operator"]["killed"] is False
    finally:
        rig.close()
