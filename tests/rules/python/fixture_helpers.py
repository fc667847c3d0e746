"""Helpers for the Python fixture rules: defaults, *args, keyword-only parameters, constants."""

import re
from collections.abc import Mapping, Sequence
from functools import reduce

SEVERITIES = {"INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
ADMIN_PATTERN = re.compile(r"^admin[-_]?\d*$", re.IGNORECASE)


def deep_lookup(dictionary, *keys, default=None):
    out = reduce(
        lambda d, key: d.get(key, default) if isinstance(d, Mapping) else default, keys, dictionary
    )
    if out is None:
        return default
    return out


def severity_rank(name, fallback=-1):
    return SEVERITIES.get(str(name).upper(), fallback)


def is_admin(user):
    return bool(user) and ADMIN_PATTERN.match(user) is not None


def walk(obj, *keys):
    def _flatten(value):
        if isinstance(value, Sequence) and not isinstance(value, str):
            return [v for v in value if v is not None]
        return [] if value is None else [value]

    if not keys:
        return _flatten(obj)
    if isinstance(obj, Mapping):
        return walk(obj.get(keys[0]), *keys[1:])
    return []
