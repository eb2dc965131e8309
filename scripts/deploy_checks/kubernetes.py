"""deploy/kubernetes without a cluster: every overlay renders with kustomize (and the two components
together), the core objects validate against Kubernetes' schemas offline (kubernetes-validate),
and the custom resources carry the fields KEDA and the Prometheus Operator require. The
Deployment's own rules are in workload.py.
"""

import os
import shutil
import subprocess
import tempfile

import yaml

from . import workload
from .report import DEPLOY

KUSTOMIZE_ROOT = DEPLOY / "kubernetes"
OVERLAYS = ["base", "keda", "prometheus-operator"]
COMPONENTS = ["keda", "prometheus-operator"]
# The oldest Kubernetes the manifests use fields of (matchLabelKeys, unhealthyPodEvictionPolicy are
# on by default from 1.27), and a recent one.
SCHEMA_VERSIONS = ["1.29.0", "1.33.0"]
CORE_GROUPS = {"v1", "apps/v1", "policy/v1"}


def kustomize(directory):
    result = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        return None, result.stderr.strip()[-600:]
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc], ""


def render_combined():
    """The base with both components, as a user combining them would write it."""
    with tempfile.TemporaryDirectory(prefix="check-deploy-kustomize.") as work:
        relative = os.path.relpath(KUSTOMIZE_ROOT, work)
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [f"{relative}/base"],
            "components": [f"{relative}/components/{name}" for name in COMPONENTS],
        }
        with open(os.path.join(work, "kustomization.yaml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(kustomization, handle)
        return kustomize(work)


def by_kind(docs, kind):
    return [doc for doc in docs if doc.get("kind") == kind]


def one(docs, kind):
    found = by_kind(docs, kind)
    return found[0] if len(found) == 1 else None


# ------------------------------------------------------------------------------------ schemas

def check_schemas(report, rendered):
    try:
        import kubernetes_validate
    except ImportError:
        report.fail("python3 cannot import kubernetes_validate (PyPI kubernetes-validate): run scripts/setup-deploy")
        return
    seen, problems = set(), []
    for overlay, docs in rendered.items():
        for doc in docs:
            if doc.get("apiVersion") not in CORE_GROUPS:
                continue
            key = (doc["kind"], doc["metadata"]["name"], yaml.safe_dump(doc))
            if key in seen:
                continue
            seen.add(key)
            for version in SCHEMA_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except Exception as error:  # noqa: BLE001 - its errors have several types; each is a finding
                    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    problems.append(f"{overlay}: {doc['kind']}/{doc['metadata']['name']} against {version}: {first[:300]}")
    kinds = sorted({key[0] for key in seen})
    report.check(seen and not problems,
                 f"{', '.join(kinds)} validate (strict, offline) against Kubernetes {' and '.join(SCHEMA_VERSIONS)} schemas",
                 f"Kubernetes schema validation: {'; '.join(problems) or 'no core objects rendered'}")


# --------------------------------------------------------------------------- custom resources

def check_scaled_object(report, docs, deployment_name, relay_config):
    scaled = one(docs, "ScaledObject")
    if not report.check(scaled and scaled.get("apiVersion") == "keda.sh/v1alpha1", "keda: one ScaledObject (keda.sh/v1alpha1)",
                        "keda: expected exactly one ScaledObject of apiVersion keda.sh/v1alpha1"):
        return
    spec = scaled.get("spec") or {}
    triggers = spec.get("triggers") or []
    kafka_triggers = [t for t in triggers if t.get("type") == "kafka"]
    # KEDA's CRD requires spec.scaleTargetRef.name and spec.triggers (type and metadata each); its
    # Kafka scaler requires bootstrapServers and consumerGroup, and lagThreshold is the target.
    problems = []
    if (spec.get("scaleTargetRef") or {}).get("name") != deployment_name:
        problems.append(f"scaleTargetRef.name must be the Deployment {deployment_name!r}")
    if not triggers or any(not t.get("type") or not isinstance(t.get("metadata"), dict) for t in triggers):
        problems.append("every trigger needs a type and metadata")
    if len(kafka_triggers) != 1:
        problems.append("expected one trigger of type kafka")
    metadata = (kafka_triggers or [{}])[0].get("metadata") or {}
    for field in ["bootstrapServers", "consumerGroup", "topic", "lagThreshold"]:
        if not metadata.get(field):
            problems.append(f"kafka trigger has no {field}")
    if not str(metadata.get("lagThreshold", "")).isdigit() or int(str(metadata.get("lagThreshold", "0"))) <= 0:
        problems.append("lagThreshold must be a positive integer (a string)")
    report.check(not problems, "keda: the ScaledObject has scaleTargetRef, a kafka trigger with bootstrapServers, consumerGroup, topic, lagThreshold",
                 f"keda ScaledObject: {'; '.join(problems)}")

    kafka = relay_config.get("kafka") or {}
    same = [
        (metadata.get("bootstrapServers"), kafka.get("bootstrap_servers"), "bootstrapServers", "kafka.bootstrap_servers"),
        (metadata.get("consumerGroup"), kafka.get("group_id", "currents-relay"), "consumerGroup", "kafka.group_id"),
    ]
    mismatched = [f"{ours}={theirs!r} but relay.yaml {key}={value!r}" for theirs, value, ours, key in same if str(theirs) != str(value)]
    if metadata.get("topic") not in (kafka.get("topics") or []):
        mismatched.append(f"topic={metadata.get('topic')!r} is not in relay.yaml kafka.topics {kafka.get('topics')}")
    report.check(not mismatched, "keda: the trigger watches relay.yaml's brokers, group and topic",
                 f"keda trigger and relay.yaml disagree: {'; '.join(mismatched)}")

    offset_reset = str((kafka.get("properties") or {}).get("auto.offset.reset", "earliest"))
    scaling = []
    if int(spec.get("minReplicaCount", 0)) < 1:
        scaling.append("minReplicaCount must be at least 1 (a group with no member and no commits gives KEDA no lag)")
    if not spec.get("maxReplicaCount"):
        scaling.append("set maxReplicaCount (at most the partition count)")
    if str(metadata.get("allowIdleConsumers", "false")).lower() == "true":
        scaling.append("allowIdleConsumers would scale past the partition count")
    if str(metadata.get("offsetResetPolicy", "latest")) != offset_reset:
        scaling.append(f"offsetResetPolicy must be the relay's auto.offset.reset ({offset_reset})")
    report.check(not scaling, f"keda: 1 to {spec.get('maxReplicaCount')} replicas, never past the partitions, offsetResetPolicy {offset_reset} as the relay",
                 f"keda scaling: {'; '.join(scaling)}")

    deployment = one(docs, "Deployment") or {}
    report.check("replicas" not in (deployment.get("spec") or {}), "keda: the Deployment leaves replicas to the autoscaler",
                 "keda: the Deployment still sets spec.replicas; every apply would reset what KEDA scaled")


def check_monitoring(report, docs):
    monitor = one(docs, "ServiceMonitor")
    service = one(docs, "Service") or {}
    service_labels = (service.get("metadata") or {}).get("labels") or {}
    port_names = {p.get("name") for p in (service.get("spec") or {}).get("ports") or []}
    problems = []
    if not monitor or monitor.get("apiVersion") != "monitoring.coreos.com/v1":
        problems.append("expected one ServiceMonitor of apiVersion monitoring.coreos.com/v1")
    else:
        # The CRD requires spec.selector; without endpoints nothing is scraped.
        spec = monitor.get("spec") or {}
        wanted = (spec.get("selector") or {}).get("matchLabels") or {}
        if not wanted or any(service_labels.get(k) != v for k, v in wanted.items()):
            problems.append(f"spec.selector.matchLabels {wanted} does not select the Service (labels {service_labels})")
        endpoints = spec.get("endpoints") or []
        if not endpoints:
            problems.append("no endpoints")
        for endpoint in endpoints:
            if endpoint.get("port") not in port_names:
                problems.append(f"endpoint port {endpoint.get('port')!r} is not a Service port ({sorted(port_names)})")
            if endpoint.get("path", "/metrics") != "/metrics":
                problems.append(f"endpoint path {endpoint.get('path')!r} is not /metrics")
    report.check(not problems, "prometheus-operator: the ServiceMonitor selects the Service and scrapes its port metrics at /metrics",
                 f"prometheus-operator ServiceMonitor: {'; '.join(problems)}")

    rule = one(docs, "PrometheusRule")
    problems = []
    if not rule or rule.get("apiVersion") != "monitoring.coreos.com/v1":
        problems.append("expected one PrometheusRule of apiVersion monitoring.coreos.com/v1")
    else:
        # The CRD requires spec.groups[].name, and expr on every rule with either alert or record.
        groups = (rule.get("spec") or {}).get("groups") or []
        if not groups:
            problems.append("no spec.groups")
        for group in groups:
            if not group.get("name"):
                problems.append("a group without a name")
            for entry in group.get("rules") or []:
                if not entry.get("expr") or ("alert" in entry) == ("record" in entry):
                    problems.append(f"rule {entry.get('alert') or entry.get('record')!r} needs expr and exactly one of alert/record")
    report.check(not problems, "prometheus-operator: the PrometheusRule has named groups and every rule an expr and an alert",
                 f"prometheus-operator PrometheusRule: {'; '.join(problems)}")


# ---------------------------------------------------------------------------------------- check

def check(report, binary):
    """Returns the base's rendered Deployment and relay.yaml, for the live metrics check."""
    if not shutil.which("kubectl"):
        report.fail("kubectl not found (it renders the kustomizations; kustomize v5 built in): install kubectl")
        return {}
    rendered = {}
    for overlay in OVERLAYS:
        docs, error = kustomize(KUSTOMIZE_ROOT / overlay)
        if report.check(docs, f"kubectl kustomize deploy/kubernetes/{overlay} renders ({', '.join(sorted(d['kind'] for d in docs or []))})",
                        f"kubectl kustomize deploy/kubernetes/{overlay}: {error}"):
            rendered[overlay] = docs
    docs, error = render_combined()
    kinds = sorted(d["kind"] for d in docs or [])
    if report.check(docs and {"ScaledObject", "ServiceMonitor", "PrometheusRule"} <= set(kinds) and len(kinds) == len(set(kinds)),
                    f"the base with both components renders, each object once ({', '.join(kinds)})",
                    f"the base with components keda and prometheus-operator: {error or kinds}"):
        rendered["base+components"] = docs
    if "base" not in rendered:
        return {}
    check_schemas(report, rendered)

    base = rendered["base"]
    deployment = one(base, "Deployment")
    relay_config = workload.check(report, base, binary)
    if "keda" in rendered and deployment:
        check_scaled_object(report, rendered["keda"], deployment["metadata"]["name"], relay_config)
    if "prometheus-operator" in rendered:
        check_monitoring(report, rendered["prometheus-operator"])
    with_secret = [overlay for overlay, docs in rendered.items() if by_kind(docs, "Secret")]
    report.check(not with_secret, "no overlay renders a Secret (it is created from secrets.env.example, outside git)",
                 f"{', '.join(with_secret)} render a Secret: secrets stay out of git (see base/secrets.env.example)")
    config_maps = [d for d in base if d.get("kind") == "ConfigMap" and "relay.yaml" in (d.get("data") or {})]
    return {"deployment": deployment, "relay_yaml": config_maps[0]["data"]["relay.yaml"] if config_maps else ""}
