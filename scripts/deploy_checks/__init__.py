"""The Kubernetes, Prometheus and Grafana checks of scripts/check-deploy (deploy/), one module each.

scripts/check-deploy calls run() after its Docker checks, with its own ok/fail/skip reporting.
"""

from .report import Report  # noqa: F401 - what run() takes


def run(report, binary):
    from . import grafana, kubernetes, live_metrics, prometheus

    rules = prometheus.check(report)
    manifests = kubernetes.check(report, binary)
    dashboard = grafana.check(report)
    live_metrics.check(report, binary, rules=rules, dashboard=dashboard,
                       deployment=manifests.get("deployment"), relay_yaml=manifests.get("relay_yaml", ""))
