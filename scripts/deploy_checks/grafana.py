"""deploy/grafana/currents-relay.json: it loads, every panel queries Prometheus through the
dashboard's datasource variable, panel ids are unique, and the panels operators look for are there.
"""

import json

from .report import DEPLOY, ROOT

DASHBOARD = DEPLOY / "grafana" / "currents-relay.json"
# What the operator's guide tells people to look at (and issue 37 asked for), by panel title.
WANTED_PANELS = [
    "Lag per partition", "Events accepted / s per input", "Batches per event", "Responses / s by status",
    "429 responses / s", "Rate-limit pace", "Rate-limit share", "In-flight records", "In-flight bytes",
    "Paused partitions", "Parked / s by reason", "Blocked inputs", "Dead-letter write failures",
]


def all_panels(dashboard):
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []  # a collapsed row keeps its panels inside


def check(report):
    """Returns the dashboard's PromQL: (where, expression) pairs, template variable queries included."""
    try:
        dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        report.fail(f"{DASHBOARD.relative_to(ROOT)} does not load: {error}")
        return []
    panels = list(all_panels(dashboard))
    variables = {v.get("name"): v for v in (dashboard.get("templating") or {}).get("list") or []}
    datasource = variables.get("datasource") or {}
    report.check(dashboard.get("uid") and dashboard.get("title") and dashboard.get("schemaVersion") and panels
                 and datasource.get("type") == "datasource" and datasource.get("query") == "prometheus",
                 f"{DASHBOARD.relative_to(ROOT)}: uid {dashboard.get('uid')!r}, {len(panels)} panels, a Prometheus datasource variable",
                 f"{DASHBOARD.relative_to(ROOT)} needs a uid, a title, schemaVersion, panels and a `datasource` variable of type datasource (prometheus)")

    ids = [p.get("id") for p in panels]
    problems = [f"panel ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}"] if len(ids) != len(set(ids)) else []
    queries = []
    for panel in panels:
        if panel.get("type") == "row":
            continue
        title = panel.get("title", f"panel {panel.get('id')}")
        targets = panel.get("targets") or []
        if not panel.get("gridPos") or not targets:
            problems.append(f"{title!r} has no gridPos or no targets")
        for target in targets:
            source = target.get("datasource") or panel.get("datasource") or {}
            if source.get("uid") != "${datasource}":
                problems.append(f"{title!r} does not query through ${{datasource}}")
            if not target.get("expr"):
                problems.append(f"{title!r} has a target without expr")
            else:
                queries.append((f"dashboard panel {title!r}", target["expr"], "promql"))
    for name, variable in variables.items():
        if variable.get("type") == "query":
            query = variable.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            queries.append((f"dashboard variable ${name}", str(query or ""), "grafana"))
    report.check(not problems, f"every panel has a place and queries Prometheus through ${{datasource}} ({len(queries)} queries)",
                 f"{DASHBOARD.name}: {'; '.join(problems)}")

    titles = [str(p.get("title", "")) for p in panels]
    missing = [wanted for wanted in WANTED_PANELS if not any(title.startswith(wanted) for title in titles)]
    report.check(not missing, f"the dashboard has the {len(WANTED_PANELS)} panels the guide describes (lag per partition ... dead-letter write failures)",
                 f"the dashboard lacks panels: {', '.join(missing)}")
    return queries
