"""Every metric the alert rules and the dashboard use is one the relay really exports.

Runs the relay as the Deployment would (its args, its environment, the ConfigMap's relay.yaml, the
demo credentials where the Secret's would be) against the embedded broker (`dev-broker`) and the
mParticle simulator, with a few hundred seeded events, and reads its /metrics until every name the
rules and the dashboard use is there (some series appear only with the first record, response or
statistics report) or the time is up. A metric renamed on one side only fails here. Label names
the expressions match on or group by must be labels of the metrics they use (or target labels
Prometheus adds). The Deployment's probe paths must answer 200 on the running relay.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import promql

RELAY_PREFIX = "currents_relay_"
# Series the rules use that the relay does not export, and who does.
EXTERNAL_METRICS = {
    "up": ("Prometheus, per scrape target", {"job", "instance"}),
    "kube_pod_status_ready": ("kube-state-metrics", {"namespace", "pod", "uid", "condition"}),
}
# Labels Prometheus (and the ServiceMonitor's relabelling) put on every scraped series.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "container", "service", "endpoint"}
DEMO_FEEDS = ["ios", "android", "web", "unbound"]  # the simulator's demo inputs: key demo-<feed>-key, secret demo-<feed>-secret
SEED_EVENTS = 300
DEADLINE_S = 90


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError):
        return None, ""


def exported(text):
    """{sample or family name: label names} from Prometheus text (TYPE lines name families without series)."""
    names = {}
    for line in text.splitlines():
        type_line = re.match(r"#\s*TYPE\s+(\S+)", line)
        if type_line:
            names.setdefault(type_line.group(1), set())
        elif line and not line.startswith("#"):
            match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?", line)
            if match:
                names.setdefault(match.group(1), set()).update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', match.group(2) or ""))
    return names


class Stack:
    """The embedded broker, the simulator and the relay as processes of their own, stopped in reverse."""

    def __init__(self, binary, work):
        self.binary, self.work, self.processes = str(binary), Path(work), []

    def start(self, name, args, env=None):
        log = open(self.work / f"{name}.log", "w", encoding="utf-8")
        process = subprocess.Popen([self.binary, *args], stdout=log, stderr=subprocess.STDOUT, env=env or clean_environment(),
                                   start_new_session=True)
        self.processes.append((name, process, log))
        return process

    def log_tail(self, name, lines=12):
        path = self.work / f"{name}.log"
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def wait_for(self, condition, process, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and process.poll() is None:
            value = condition()
            if value:
                return value
            time.sleep(0.2)
        return condition()

    def stop(self):
        # The relay first (it commits and leaves the group while the broker is up), the broker last.
        for name, process, log in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=45)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()


def used_metrics(rules, dashboard):
    """{metric: [where it is used]} and [(where, expression)] over the rules and the dashboard."""
    uses, expressions = {}, []
    for rule in rules:
        expressions.append((f"alert {rule.get('alert')}", str(rule.get("expr", "")), "promql"))
    expressions += dashboard
    for where, expr, kind in expressions:
        names = promql.grafana_query_metrics(expr) if kind == "grafana" else promql.metric_names(expr)
        for name in names:
            uses.setdefault(name, []).append(where)
    return uses, expressions


def clean_environment():
    """The caller's environment without CURRENTS_RELAY_* (so it cannot change the verdict)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CURRENTS_RELAY_")}


def relay_environment(deployment, bootstrap, simulator_url, port):
    """The Deployment's environment, with what the Secret and the cluster would give."""
    env = clean_environment()
    container = deployment["spec"]["template"]["spec"]["containers"][0] if deployment else {}
    env.update({e["name"]: str(e["value"]) for e in container.get("env") or [] if "value" in e})
    for feed in DEMO_FEEDS:
        env[f"CURRENTS_RELAY_MPARTICLE_FEEDS_{feed.upper()}_KEY"] = f"demo-{feed}-key"
        env[f"CURRENTS_RELAY_MPARTICLE_FEEDS_{feed.upper()}_SECRET"] = f"demo-{feed}-secret"
    env.update({
        "CURRENTS_RELAY_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CURRENTS_RELAY_MPARTICLE_BASE_URL": simulator_url,
        "CURRENTS_RELAY_MPARTICLE_ENVIRONMENT": "development",
        "CURRENTS_RELAY_HTTP_PORT": str(port),
    })
    return env


def run_relay(binary, deployment, relay_yaml, wanted):
    """Runs the stack; returns (exported names with labels, {probe path: status}, problem or "")."""
    container = deployment["spec"]["template"]["spec"]["containers"][0] if deployment else {}
    probes = [p["httpGet"]["path"] for p in (container.get(k) for k in ("livenessProbe", "readinessProbe")) if p and p.get("httpGet")]
    with tempfile.TemporaryDirectory(prefix="check-deploy-metrics.") as work:
        stack = Stack(binary, work)
        try:
            bootstrap_file = Path(work) / "bootstrap"
            broker = stack.start("dev-broker", ["dev-broker", "--partitions", "4", "--bootstrap-file", str(bootstrap_file)])
            bootstrap = stack.wait_for(lambda: bootstrap_file.exists() and bootstrap_file.read_text().strip(), broker, 60)
            if not bootstrap:
                return {}, {}, f"dev-broker wrote no bootstrap list: {stack.log_tail('dev-broker')}"
            simulator = stack.start("simulate", ["simulate", "--port", "0"])
            listening = lambda: re.search(r"listening on (http://\S+)", (Path(work) / "simulate.log").read_text())  # noqa: E731
            found = stack.wait_for(listening, simulator, 60)
            if not found:
                return {}, {}, f"the simulator did not start: {stack.log_tail('simulate')}"
            seeded = subprocess.run([str(binary), "seed", "--bootstrap-servers", bootstrap, "--events", str(SEED_EVENTS)],
                                    capture_output=True, text=True, timeout=120, env=clean_environment())
            if seeded.returncode != 0:
                return {}, {}, f"seed failed: {seeded.stderr.strip()[-300:]}"

            config = Path(work) / "relay.yaml"
            config.write_text(relay_yaml, encoding="utf-8")
            args = [str(a) for a in container.get("args") or ["run", "--config", "CONFIG"]]
            args[args.index("--config") + 1] = str(config)
            port = free_port()
            relay = stack.start("relay", args, env=relay_environment(deployment, bootstrap, found.group(1), port))
            base = f"http://127.0.0.1:{port}"

            def progress():
                status, text = http_get(f"{base}/metrics")
                names = exported(text) if status == 200 else {}
                ready = http_get(f"{base}/health/ready")[0] == 200
                return names if names and set(wanted) <= set(names) and ready else None

            names = stack.wait_for(progress, relay, DEADLINE_S)
            if names is None:  # the time is up: compare what is there
                status, text = http_get(f"{base}/metrics")
                names = exported(text) if status == 200 else {}
            statuses = {path: http_get(base + path)[0] for path in probes}
            if relay.poll() is not None:
                return names, statuses, f"the relay exited ({relay.returncode}): {stack.log_tail('relay')}"
            return names, statuses, "" if names else f"no /metrics from the relay: {stack.log_tail('relay')}"
        finally:
            stack.stop()


def check(report, binary, rules, dashboard, deployment, relay_yaml):
    uses, expressions = used_metrics(rules, dashboard)
    relay_names = sorted(name for name in uses if name.startswith(RELAY_PREFIX))
    unknown = sorted(name for name in uses if not name.startswith(RELAY_PREFIX) and name not in EXTERNAL_METRICS)
    report.check(not unknown, f"the rules and the dashboard use {len(relay_names)} relay metrics, and only "
                 f"{', '.join(f'{n} ({EXTERNAL_METRICS[n][0]})' for n in sorted(set(uses) & set(EXTERNAL_METRICS)))} besides",
                 "metrics neither the relay nor a known exporter provides: "
                 + "; ".join(f"{name} (in {', '.join(uses[name][:3])})" for name in unknown))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        report.fail(f"relay binary {binary} not found: cannot compare the metric names with a running relay")
        return
    if not relay_yaml:
        report.fail("no relay.yaml rendered from deploy/kubernetes/base: the relay cannot run as the Deployment would")
        return
    started = time.monotonic()
    names, statuses, problem = run_relay(binary, deployment, relay_yaml, relay_names)
    elapsed = time.monotonic() - started
    if problem:
        report.fail(f"relay run on the embedded broker: {problem}")
        return
    missing = [name for name in relay_names if name not in names]
    report.check(not missing,
                 f"all {len(relay_names)} relay metrics of the rules and the dashboard are in the /metrics of a relay run as the "
                 f"Deployment runs it, on the embedded broker ({len(names)} names exported, {elapsed:.0f} s)",
                 "not in the relay's /metrics (renamed on one side?): "
                 + "; ".join(f"{name} (in {', '.join(uses[name][:3])})" for name in missing))

    wrong_labels = []
    for where, expr, kind in expressions:
        if kind != "promql":
            continue
        metrics = promql.metric_names(expr)
        known = set(TARGET_LABELS)
        for name in metrics:
            known |= names.get(name, set()) | EXTERNAL_METRICS.get(name, ("", set()))[1]
        if metrics & set(names) or metrics & set(EXTERNAL_METRICS):
            extra = promql.label_names(expr) - known
            if extra:
                wrong_labels.append(f"{where}: {sorted(extra)}")
    report.check(not wrong_labels, "every label the rules and the dashboard match on or group by is a label of the metrics they use",
                 f"labels the metrics do not have: {'; '.join(wrong_labels)}")

    bad = {path: status for path, status in statuses.items() if status != 200}
    report.check(statuses and not bad, f"the Deployment's probes answer 200 on the running relay ({', '.join(statuses)})",
                 f"the Deployment's probe paths on the running relay: {statuses}")
