"""The metric names and label names a PromQL expression uses, without a PromQL parser.

Good enough for the relay's own rules and dashboard: it drops strings, label matchers, ranges,
Grafana variables and grouping clauses, then takes every remaining identifier that is not a
function, an aggregation or a keyword. Label names come from the matchers and the grouping clauses.
"""

import re

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "offset", "inf", "nan", "atan2",
}
GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"
IDENTIFIER = r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)"


def _without_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)


def _without_variables(expr):
    """Grafana's $__rate_interval, $name, ${name}; [$__rate_interval] becomes [1m]."""
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "1m", expr)


def selectors(expr):
    """(metric, [label names in its matcher]) for every vector selector with a metric name."""
    text = _without_variables(_without_strings(expr))
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(GROUPING, " ", text)
    found = []
    for match in re.finditer(IDENTIFIER + r"\s*(\{[^}]*\})?\s*(\()?", text):
        name, matcher, call = match.group(1), match.group(2), match.group(3)
        if call or name.lower() in KEYWORDS:
            continue
        labels = re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", matcher or "")
        found.append((name, labels))
    return found


def metric_names(expr):
    return {name for name, _ in selectors(expr)}


def label_names(expr):
    """Every label name the expression matches on or groups by."""
    text = _without_variables(_without_strings(expr))
    names = set()
    for _, labels in selectors(expr):
        names.update(labels)
    for group in re.findall(GROUPING, text):
        names.update(part.strip() for part in group.split(",") if part.strip())
    return names


def grafana_query_metrics(query):
    """Metric names in a Grafana template variable query (label_values(metric, label), or PromQL)."""
    match = re.match(r"\s*label_values\((.*)\)\s*$", query)
    if match:
        arguments = match.group(1).rsplit(",", 1)
        return metric_names(arguments[0]) if len(arguments) == 2 else set()
    match = re.match(r"\s*(?:query_result|metrics)\((.*)\)\s*$", query)
    return metric_names(match.group(1) if match else query)
