"""Fixture: module variables computed at import (networks, `**` merges, keys that are other
constants), module state that a test's `Mocks:` replaces by a MagicMock and the rule rebinds,
and small constructs (`**` in a dictionary display, starred targets, Panther's immutable types
in `isinstance`, `subnet_of`, a nested function reading its parent's variable) (written for this project)."""

import ipaddress
import json
from ipaddress import ip_network
from unittest.mock import MagicMock

from panther_core.immutable import ImmutableCaseInsensitiveDict, ImmutableList

# Rebound from the test's MagicMock, as upstream's allow lists are.
ALLOW_LIST = []
SEEN_MOCK = "never"

NETWORKS = {
    ip_network("10.0.0.0/8"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.IPv4Network("172.16.0.0/12"),
}
HOSTS = [ip_network("8.8.8.8"), ip_network("0.0.0.0/0")]

BASE = {"low": 1, "mid": 2}
MORE = {"mid": 20, "high": 30}
MERGED = {**BASE, **MORE, "low": 10, "top": 40}

KIND_A = "alpha"
KIND_B = "beta"
BY_KIND = {
    KIND_A: ("first", 1),
    KIND_B: ("second", 2),
    None: ("none", 0),
}
NESTED = {"G": {"OIDC", "SAML"}, None: {"PASSWORD"}}

FIELDS = {
    "who": ("actor", "name", "<nobody>"),
    "where": ("place", "<nowhere>"),
}


def rule(event):
    # pylint: disable=global-statement
    global ALLOW_LIST, SEEN_MOCK
    if isinstance(ALLOW_LIST, MagicMock):
        SEEN_MOCK = "mocked"
        ALLOW_LIST = json.loads(ALLOW_LIST())  # pylint: disable=not-callable
        # The list the module now holds is the very object: an alias sees its changes.
        alias = ALLOW_LIST
        alias.append("appended")
    if event.get("user") in ALLOW_LIST:
        return False
    if event.get("kind") == "net":
        net = ip_network(event.get("ip"))
        return not any(net.subnet_of(n) for n in NETWORKS)
    return event.get("kind") in BY_KIND or event.get("kind") in MERGED


def title(event):
    return f"{event.get('user')} allow={ALLOW_LIST} seen={SEEN_MOCK}"


def dedup(event):
    prefix = event.get("user", "")

    def tagged(suffix, sep=":"):
        # Reads `prefix` of the enclosing call, bound once before this `def`.
        return f"{prefix}{sep}{suffix}"

    return tagged(event.get("kind")) + tagged("x", sep="/")


def alert_context(event):
    context = {}
    for key, (*path, default) in FIELDS.items():
        context[key] = event.deep_get(*path, default=default)
    first, *rest = [1, 2, 3]
    *init, last = "ab"
    context["star"] = [first, rest, init, last]
    extra = {**event.get("extra", {}), "kind": event.get("kind"), **MERGED}
    context["extra"] = extra
    try:
        context["bad"] = {**event.get("kind", "")}
    except TypeError:
        context["bad"] = "TypeError"
    context["merged"] = MERGED
    context["by_kind"] = BY_KIND.get(event.get("kind"), BY_KIND[None])
    context["nested"] = sorted(NESTED.get(event.get("idp"), NESTED[None]))
    context["list_type"] = [
        isinstance(event.get("extra_list"), ImmutableList),
        isinstance(event.get("extra"), ImmutableCaseInsensitiveDict),
        isinstance(event, ImmutableCaseInsensitiveDict),
        isinstance(event.get("extra_list", []), list),
        isinstance(ALLOW_LIST, MagicMock),
    ]
    ip = event.get("ip")
    if ip:
        net = ip_network(ip)
        context["nets"] = [
            [str(n), net.subnet_of(n), n.supernet_of(net)] for n in sorted(NETWORKS, key=lambda n: str(n))
        ]
        context["hosts"] = [net.subnet_of(h) for h in HOSTS]
        try:
            net.subnet_of(ip_network("::/0"))
        except TypeError:
            context["version"] = "TypeError"
        try:
            net.subnet_of(ipaddress.ip_address("10.0.0.1"))
        except TypeError:
            context["address"] = "TypeError"
    return context
