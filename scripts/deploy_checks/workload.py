"""The rendered base's Deployment, ConfigMap, Service and PodDisruptionBudget against what the relay
needs: probes on its health paths, a grace period longer than its shutdown, memory from the measured
peak, a locked-down container, spread over nodes, the configuration from the ConfigMap with no
secret in it (check-config passes with the Secret's variables), no static membership id shared by
every replica, and a Service and a budget that select the pods.
"""

import os
import re
import subprocess
import tempfile

import yaml

from .report import DEPLOY, ROOT

SECRETS_EXAMPLE = DEPLOY / "kubernetes" / "base" / "secrets.env.example"
PERFORMANCE = ROOT / "docs" / "performance.md"
CONFIG_DIR = "/etc/currents-relay"
UNITS = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|_KEY)$|PROPERTIES_.*(PASSWORD|SECRET)")


def quantity_bytes(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G|)", str(text or ""))
    return float(match.group(1)) * UNITS[match.group(2)] if match else None


def measured_peak_mb():
    """The measured peak RSS at the default in-flight limits (docs/performance.md's in-flight table)."""
    text = PERFORMANCE.read_text(encoding="utf-8")
    match = re.search(r"^\|\s*[\d,]+ \(default\)\s*\|\s*[\d.]+\s*\|\s*~(\d+)\s*MB\s*\|", text, flags=re.M)
    return int(match.group(1)) if match else None


def option(args, name, default):
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else default


def selects(selector, labels):
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def secrets_example_environment():
    """The uncommented NAME=value lines of secrets.env.example."""
    env = {}
    for line in SECRETS_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(CURRENTS_RELAY_[A-Z0-9_]+)=(.*)$", line.strip())
        if match:
            env[match.group(1)] = match.group(2)
    return env


# ------------------------------------------------------------------------------------ the pods

def check_probes_and_ports(report, container, relay_config):
    port = int((relay_config.get("http") or {}).get("port", 9464))
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
    report.check(ports.get("metrics") == port, f"the container port named metrics is http.port ({port})",
                 f"the container needs a port named metrics = relay.yaml http.port {port} (ports: {ports})")
    for probe, path in [("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")]:
        get = (container.get(probe) or {}).get("httpGet") or {}
        report.check(get.get("path") == path and get.get("port") in ("metrics", port), f"{probe}: GET {path} on port metrics",
                     f"{probe} must GET {path} on port metrics (has {get})")


def check_grace_period(report, pod, container, relay_config):
    args = [str(a) for a in container.get("args") or []]
    shutdown = int(option(args, "--shutdown-timeout", 30))
    drain = int((relay_config.get("kafka") or {}).get("drain_timeout_ms", 10000)) / 1000
    grace = int(pod.get("terminationGracePeriodSeconds", 30))
    report.check(grace > shutdown + drain, f"terminationGracePeriodSeconds {grace} > --shutdown-timeout {shutdown} s + kafka.drain_timeout_ms {drain:g} s",
                 f"terminationGracePeriodSeconds {grace} must exceed --shutdown-timeout {shutdown} s + kafka.drain_timeout_ms {drain:g} s: "
                 "Kubernetes would SIGKILL a clean stop")


def check_resources(report, container):
    resources = container.get("resources") or {}
    request = quantity_bytes((resources.get("requests") or {}).get("memory"))
    limit = quantity_bytes((resources.get("limits") or {}).get("memory"))
    peak = measured_peak_mb()
    if peak is None:
        report.fail("docs/performance.md's in-flight table no longer has a `(default)` row with a peak RSS (~N MB): the memory check reads it")
        return
    peak_bytes = peak * 1000**2
    report.check(request and limit and request >= peak_bytes and limit >= 2 * peak_bytes and (resources.get("requests") or {}).get("cpu"),
                 f"memory request {resources['requests']['memory']} >= the measured peak (~{peak} MB, docs/performance.md), limit "
                 f"{resources['limits']['memory']} >= twice it; a CPU request",
                 f"resources {resources}: the memory request must cover the measured peak (~{peak} MB at the default "
                 "in-flight limits, docs/performance.md), the limit twice it, and CPU needs a request")


def check_locked_down(report, pod, container):
    pod_security = pod.get("securityContext") or {}
    security = container.get("securityContext") or {}
    problems = []
    if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
        problems.append("runAsNonRoot")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation: false")
    if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []) or (security.get("capabilities") or {}).get("add"):
        problems.append("capabilities: drop [ALL], add none")
    if security.get("privileged"):
        problems.append("not privileged")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("automountServiceAccountToken: false")
    report.check(not problems, "the pod runs as non-root, read-only root filesystem, no capabilities, no service account token",
                 f"the pod's security settings lack: {', '.join(problems)}")


def check_spread(report, pod, pod_labels):
    spread = [c for c in pod.get("topologySpreadConstraints") or []
              if c.get("topologyKey") == "kubernetes.io/hostname" and selects(c.get("labelSelector"), pod_labels)]
    report.check(spread, "the pods spread over nodes (topologySpreadConstraints on kubernetes.io/hostname)",
                 "the pods need a topologySpreadConstraint on kubernetes.io/hostname selecting them")


def check_rollout(report, spec):
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    report.check(str(rolling.get("maxSurge")) == "0", "rollouts replace one pod at a time without a surge pod (maxSurge 0)",
                 f"rollingUpdate {rolling}: a surge pod beyond the partition count never turns ready and holds the rollout; use maxSurge: 0")


# ----------------------------------------------------------------------- configuration, secrets

def check_configuration(report, docs, pod, container, binary):
    """Returns relay.yaml as the ConfigMap holds it."""
    maps = [d for d in docs if d.get("kind") == "ConfigMap" and "relay.yaml" in (d.get("data") or {})]
    if not report.check(len(maps) == 1, "a ConfigMap holds relay.yaml", "expected one ConfigMap with a relay.yaml key"):
        return {}
    text = maps[0]["data"]["relay.yaml"]
    relay_config = yaml.safe_load(text) or {}
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    mounted = [m for m in container.get("volumeMounts") or []
               if m.get("mountPath") == CONFIG_DIR and (volumes.get(m.get("name")) or {}).get("configMap", {}).get("name") == maps[0]["metadata"]["name"]]
    args = [str(a) for a in container.get("args") or []]
    report.check(mounted and mounted[0].get("readOnly") and option(args, "--config", "") == f"{CONFIG_DIR}/relay.yaml",
                 f"the ConfigMap is mounted read-only at {CONFIG_DIR} and the relay runs with --config {CONFIG_DIR}/relay.yaml",
                 f"mount the ConfigMap read-only at {CONFIG_DIR} and run `run --config {CONFIG_DIR}/relay.yaml` (args {args})")

    kafka = relay_config.get("kafka") or {}
    properties = kafka.get("properties") or {}
    in_file = [f"mparticle.feeds.{name}.secret" for name, feed in ((relay_config.get("mparticle") or {}).get("feeds") or {}).items()
               if isinstance(feed, dict) and feed.get("secret")]
    in_file += [f"kafka.properties.{key}" for key, value in properties.items() if re.search(r"password|secret", key) and str(value or "")]
    env = {e.get("name"): e for e in container.get("env") or []}
    literal = [name for name, e in env.items() if SECRET_NAME.search(name or "") and "value" in e]
    from_secret = [s.get("secretRef", {}).get("name") for s in container.get("envFrom") or [] if s.get("secretRef")]
    report.check(not in_file and not literal and from_secret, f"no secret in the ConfigMap or the pod spec; the environment comes from Secret {', '.join(from_secret)}",
                 f"secrets must come from a Secret through envFrom: in the ConfigMap {in_file}, literal env {literal}, envFrom secrets {from_secret}")

    static = []
    if kafka.get("group_instance_id"):
        static.append("kafka.group_instance_id")
    if "group.instance.id" in properties:
        static.append("kafka.properties group.instance.id")
    if "CURRENTS_RELAY_KAFKA_GROUP_INSTANCE_ID" in env or "CURRENTS_RELAY_KAFKA_GROUP_INSTANCE_ID" in secrets_example_environment():
        static.append("CURRENTS_RELAY_KAFKA_GROUP_INSTANCE_ID")
    strategy = properties.get("partition.assignment.strategy", "cooperative-sticky")
    report.check(not static and strategy == "cooperative-sticky",
                 "cooperative-sticky rebalancing and no static membership id shared by the replicas",
                 f"scaling needs cooperative-sticky (has {strategy!r}) and no group instance id common to every replica (found {static})")

    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return relay_config
    with tempfile.TemporaryDirectory(prefix="check-deploy-configmap.") as work:
        path = os.path.join(work, "relay.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(path, 0o644)  # as a ConfigMap volume mounts it: the relay warns about secrets in readable files
        env_vars = {k: v for k, v in os.environ.items() if not k.startswith("CURRENTS_RELAY_")}
        env_vars.update(secrets_example_environment())
        result = subprocess.run([str(binary), "check-config", "--config", path], capture_output=True, text=True, env=env_vars, timeout=120)
    last = (result.stderr or result.stdout).strip().splitlines()
    report.check(result.returncode == 0 and "chmod 600" not in result.stderr,
                 f"check-config passes on the ConfigMap's relay.yaml with the variables of {SECRETS_EXAMPLE.name}, without a secrets warning",
                 f"check-config on the ConfigMap's relay.yaml with {SECRETS_EXAMPLE.name}: exit {result.returncode}: {last[-1] if last else ''}")
    return relay_config


# --------------------------------------------------------------------------- service and budget

def check_service_and_budget(report, docs, pod_labels, container):
    port_names = {p.get("name") for p in container.get("ports") or []}
    services = [d for d in docs if d.get("kind") == "Service"]
    service = services[0] if len(services) == 1 else {}
    spec = service.get("spec") or {}
    report.check(service and (spec.get("selector") or {}) and all(pod_labels.get(k) == v for k, v in spec["selector"].items())
                 and any(p.get("targetPort") in port_names for p in spec.get("ports") or []) and spec.get("publishNotReadyAddresses"),
                 "the Service selects the pods' port metrics, not-ready pods included (their metrics say why)",
                 f"the Service must select the pods, target port metrics and publishNotReadyAddresses (spec {spec})")
    budgets = [d for d in docs if d.get("kind") == "PodDisruptionBudget"]
    budget = (budgets[0].get("spec") or {}) if len(budgets) == 1 else {}
    report.check(budget and selects(budget.get("selector"), pod_labels) and ("maxUnavailable" in budget or "minAvailable" in budget),
                 f"a PodDisruptionBudget selects the pods (maxUnavailable {budget.get('maxUnavailable')})",
                 "a PodDisruptionBudget must select the pods with maxUnavailable or minAvailable")


def check(report, docs, binary):
    """Returns relay.yaml as the ConfigMap holds it (for the overlays' checks)."""
    deployments = [d for d in docs if d.get("kind") == "Deployment"]
    if not report.check(len(deployments) == 1, "the base has one Deployment", f"the base has {len(deployments)} Deployments"):
        return {}
    spec = deployments[0]["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"].get("metadata", {}).get("labels") or {}
    containers = pod.get("containers") or []
    if not report.check(len(containers) == 1, "the pod has one container, the relay", f"the pod has {len(containers)} containers"):
        return {}
    container = containers[0]
    relay_config = check_configuration(report, docs, pod, container, binary)
    check_probes_and_ports(report, container, relay_config)
    check_grace_period(report, pod, container, relay_config)
    check_resources(report, container)
    check_locked_down(report, pod, container)
    check_spread(report, pod, pod_labels)
    check_rollout(report, spec)
    check_service_and_budget(report, docs, pod_labels, container)
    return relay_config
