"""Fixture: computed regular expressions, `match` statements, `str.format(**mapping)` and
`hasattr`, `shlex.split` (written for this project)."""

import ipaddress
import re
import shlex

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}")
ROLE_PATTERNS = {"arn:aws:iam::[0-9]+:role/Admin", "arn:aws:iam::[0-9]+:role/CFN.*"}
TEMPLATES = {"open": "{actor} opened {port}/{proto}", "close": "{actor} closed {port}"}


def kind_of(identifier):
    if not identifier:
        return "Unknown"
    uuid_pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    if re.match(uuid_pattern, identifier):
        return "Service"
    if re.fullmatch(EMAIL, identifier):
        return "User"
    return "Group"


def admin_role(arn):
    for pattern in sorted(ROLE_PATTERNS):
        if len(re.findall(pattern, arn)) > 0:
            return True
    return False


def severity_of(level):
    match level:
        case "informational" | "info":
            return "INFO"
        case "low":
            return "LOW"
        case None:
            return "MEDIUM"
        case 3 | 4.0:
            return "HIGH"
        case True:
            return "CRITICAL"
        case _:
            return "DEFAULT"


def service_context(service, method):
    context = {"id": "none"}
    # `|=` updates the dictionary in place: the alias sees it.
    alias = context
    match service:
        case "iap":
            context |= {"id": "iap"}
        case "compute" if method.endswith(".set"):
            pass
        case "compute":
            context |= {"id": "compute"}
        case other:
            context["id"] = "other " + other
    return alias


def rule(event):
    return kind_of(event.get("principal")) != "Group" or admin_role(event.get("arn", ""))


def title(event):
    fields = {key: event.get(key, "?") for key in ("actor", "port", "proto")}
    return TEMPLATES[event.get("action", "open")].format(**fields)


def severity(event):
    return severity_of(event.get("level"))


def alert_context(event):
    errors = []
    prefix = event.get("prefix", "a")
    computed = re.compile(prefix + r"-(\d+)", re.I)
    found = computed.search(event.get("name", ""))
    try:
        re.match(event.get("pattern"), "text")
    except TypeError:
        errors.append("pattern type")
    try:
        re.search(EMAIL, "x@y.io", re.I)
    except ValueError:
        errors.append("flags with a compiled pattern")
    try:
        re.search(prefix, event.get("missing"))
    except TypeError:
        errors.append("subject type")
    try:
        "{a}".format(**event.get("missing_map", []))
    except TypeError:
        errors.append("spread type")
    try:
        "{a}".format(a=1, **{"a": 2})
    except TypeError:
        errors.append("keyword twice")
    try:
        hasattr(event, 5)
    except TypeError:
        errors.append("attribute name")
    try:
        shlex.split("echo 'unclosed")
    except ValueError:
        errors.append("no closing quotation")
    values = [event, event.get("obj"), event.get("items"), prefix, [1], {}, ROLE_PATTERNS, EMAIL, None]
    values.append(ipaddress.ip_address("10.0.0.1"))
    return {
        "kind": kind_of(event.get("principal")),
        "found": found.group(1) if found else None,
        "subs": re.sub(prefix, "_", event.get("name", "")),
        "split": re.split(prefix, event.get("name", "")),
        "service": service_context(event.get("service", ""), event.get("method", "")),
        "errors": errors,
        "words": shlex.split(event.get("command", """sh -c 'a b' "c \\" d" e\\ f""")),
        "spread": "{x}-{y}".format(y=2, **{"x": 1, 3: "int key"}),
        "hasattr": [
            [hasattr(v, name) for name in ("get", "udm", "upper", "is_global", "append", "search", "_container")]
            for v in values
        ],
    }
