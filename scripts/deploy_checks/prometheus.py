"""deploy/prometheus: the rules load and their tests pass (promtool), every alert has a test that
fires it and one that keeps it silent, each runbook_url names a section of the operator's guide,
the guide's alert table and the rules name the same alerts, and the prometheus-operator overlay's
PrometheusRule holds exactly the rules of alerts.yaml.
"""

import re
import shutil
import subprocess

import yaml

from .report import DEPLOY, ROOT

RULES = DEPLOY / "prometheus" / "alerts.yaml"
TESTS = DEPLOY / "prometheus" / "alerts_test.yaml"
PROMETHEUS_RULE = DEPLOY / "kubernetes" / "components" / "prometheus-operator" / "prometheusrule.yaml"
GUIDE = ROOT / "docs" / "operators-guide.md"
SEVERITIES = {"critical", "warning", "info"}


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def alerting_rules(rules_file):
    return [rule for group in (rules_file or {}).get("groups") or [] for rule in group.get("rules") or [] if "alert" in rule]


# ------------------------------------------------------------------------ the generated PrometheusRule

class _BlockStrings(yaml.SafeDumper):
    """Multi-line strings (an expression over several lines) as | blocks, as they read in alerts.yaml."""


_BlockStrings.add_representer(
    str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def prometheus_rule_text():
    """deploy/prometheus/alerts.yaml as a PrometheusRule (the text scripts/generate-prometheus-rule writes)."""
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "currents-relay", "labels": {"app.kubernetes.io/name": "currents-relay"}},
        "spec": {"groups": load(RULES)["groups"]},
    }
    header = ("# Generated from deploy/prometheus/alerts.yaml by scripts/generate-prometheus-rule: edit that\n"
              "# file and run the script; scripts/check-deploy fails when the two differ. If your Prometheus\n"
              "# selects rules by label (kube-prometheus-stack: `release: <its release name>`), add it here.\n")
    return header + yaml.dump(rule, Dumper=_BlockStrings, sort_keys=False, width=110, allow_unicode=True)


# ------------------------------------------------------------------------------------- the guide

def heading_anchors(markdown):
    """GitHub's anchors for the headings of a Markdown file."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if match:
            anchors.add(re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-"))
    return anchors


def guide_alert_names(markdown):
    """The alert names in the guide's table of alerts (after "Alerts worth setting", up to the next section)."""
    start = markdown.find("Alerts worth setting")
    if start < 0:
        return set()
    end = markdown.find("\n## ", start)
    table = markdown[start:end if end > 0 else len(markdown)]
    return set(re.findall(r"\bCurrentsRelay[A-Za-z]+\b", table))


# ------------------------------------------------------------------------------------------ checks

def run_promtool(arguments):
    result = subprocess.run(["promtool", *arguments], capture_output=True, text=True, timeout=120, cwd=RULES.parent)
    return result.returncode, (result.stdout + result.stderr).strip()


def check_rules_shape(report, rules):
    problems = []
    for rule in rules:
        name = rule.get("alert")
        annotations = rule.get("annotations") or {}
        if not rule.get("for"):
            problems.append(f"{name}: no `for:`")
        if (rule.get("labels") or {}).get("severity") not in SEVERITIES:
            problems.append(f"{name}: severity label must be one of {sorted(SEVERITIES)}")
        for key in ["summary", "description", "runbook_url"]:
            if not annotations.get(key):
                problems.append(f"{name}: no {key} annotation")
    report.check(rules and not problems, f"{RULES.relative_to(ROOT)}: {len(rules)} alerts, each with for:, a severity, a summary, a description and a runbook_url",
                 f"{RULES.relative_to(ROOT)}: {'; '.join(problems) or 'no alerts'}")


def check_runbooks(report, rules):
    guide = GUIDE.read_text(encoding="utf-8")
    anchors = heading_anchors(guide)
    broken = []
    for rule in rules:
        url = str((rule.get("annotations") or {}).get("runbook_url", ""))
        path, _, anchor = url.partition("#")
        if path != str(GUIDE.relative_to(ROOT)) or anchor not in anchors:
            broken.append(f"{rule.get('alert')}: {url}")
    report.check(not broken, f"every runbook_url is a section of {GUIDE.relative_to(ROOT)}",
                 f"runbook_url without a matching section of {GUIDE.relative_to(ROOT)}: {'; '.join(broken)}")
    in_guide = guide_alert_names(guide)
    in_rules = {rule.get("alert") for rule in rules}
    report.check(in_guide == in_rules, f"the guide's alert table names the {len(in_rules)} alerts of {RULES.name}, no more",
                 f"the guide's alert table and {RULES.name} differ: only in the guide {sorted(in_guide - in_rules)}, "
                 f"only in the rules {sorted(in_rules - in_guide)}")


def check_test_coverage(report, rules):
    tests = load(TESTS) or {}
    fires, silent = set(), set()
    for test in tests.get("tests") or []:
        for case in test.get("alert_rule_test") or []:
            (fires if case.get("exp_alerts") else silent).add(case.get("alertname"))
    names = [rule.get("alert") for rule in rules]
    missing = []
    for name in names:
        lacks = [kind for kind, seen in (("firing", fires), ("silent", silent)) if name not in seen]
        if lacks:
            missing.append(f"{name} ({' and '.join(lacks)})")
    report.check(not missing, f"{TESTS.name} makes each of the {len(names)} alerts fire and stay silent",
                 f"{TESTS.name} lacks a case for: {', '.join(missing)}")


def check_prometheus_rule(report):
    try:
        generated = load(PROMETHEUS_RULE)
    except FileNotFoundError:
        generated = None
    same = generated is not None and generated.get("spec", {}).get("groups") == load(RULES).get("groups")
    report.check(same, f"{PROMETHEUS_RULE.relative_to(ROOT)} holds the groups of {RULES.relative_to(ROOT)}",
                 f"{PROMETHEUS_RULE.relative_to(ROOT)} differs from {RULES.relative_to(ROOT)}: run scripts/generate-prometheus-rule")


def check(report):
    """Returns the alerting rules (for the metric-name check)."""
    try:
        rules = alerting_rules(load(RULES))
    except (OSError, yaml.YAMLError) as error:
        report.fail(f"{RULES.relative_to(ROOT)} does not load: {error}")
        return []
    check_rules_shape(report, rules)
    check_runbooks(report, rules)
    check_test_coverage(report, rules)
    check_prometheus_rule(report)
    if not shutil.which("promtool"):
        report.fail("promtool not found (Debian's `prometheus` package): run scripts/setup-deploy")
        return rules
    code, output = run_promtool(["check", "rules", RULES.name])
    report.check(code == 0, f"promtool check rules {RULES.name}", f"promtool check rules {RULES.name}: {output[-800:]}")
    code, output = run_promtool(["test", "rules", TESTS.name])
    report.check(code == 0, f"promtool test rules {TESTS.name}", f"promtool test rules {TESTS.name}:\n{output[-3000:]}")
    return rules
