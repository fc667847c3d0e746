"""Fixture: Python's values as CPython prints and compares them (written for this project)."""

LIMITS = {"low": 1, "high": 10}
NAMES = ("alice", "bob")


def rule(event):
    return event.get("kind") == "values" and not event.get("skip")


def title(event):
    user = event.get("user")
    return f"{user} {event.get('tags')} {[1, 2.5, None, True]} {event.get('missing')} {1e16} {0.1 + 0.2}"


def alert_context(event):
    tags = event.get("tags", [])
    user = event.deep_get("user", "name", default="nobody")
    count = event.get("count")
    return {
        "repr_list": str(["a", "it's", 'q"uote', None, False, 3, 2.0]),
        "repr_dict": f"{ {'k': [1, (2,)], 'n': None} }",
        "repr_wrapped": str(event.get("user")),
        "repr_wrapped_list": repr(tags),
        "repr_copy": str(event.get("user", {}).copy()),
        "and_or": [count and "yes", count or "none", event.get("zero") or "zero", "" and 1],
        "truthiness": [bool([]), bool({}), bool(""), bool(0.0), bool("0"), bool(tags)],
        "equality": [1 == 1.0, True == 1, "1" == 1, tags == ["x", "Y"], tags == ("x", "Y"), None is None],
        "membership": ["x" in tags, "b" in "abc", "USER" in event, "name" in event.get("user", {}), 2 in LIMITS.values()],
        "ordering": [1 < 2.5, "a" < "b", [1, 2] < [1, 3], (1, "a") <= (1, "a")],
        "arithmetic": [7 // 2, -7 // 2, 7 % -3, 2 ** 0 if False else 5 / 2, "ab" * 2],
        "strings": [user.upper(), " x ".strip(), "a,b,,c".split(","), "a b  c".split(), "-".join(NAMES), "abc"[::-1], "hello"[1:3], "Hello World".title(), "x=1".partition("=")],
        "methods": ["abc".startswith(("x", "a")), "abc".endswith("bc"), "aXbX".replace("X", "-", 1), "abc".find("c"), "ABC".lower().capitalize(), "%s-%d" % ("n", 4), "{} {name}".format(1, name="n")],
        "numbers": [int("42"), float("1.5"), round(2.5), round(3.5), abs(-3), len(tags), sum([1, 2, 3]), max([3, 1, 2]), min("bca"), f"{3.14159:.2f}", f"{1234567:,}", f"{7:03d}"],
        "containers": [sorted(["b", "C", "a"]), sorted([3, 1, 2], reverse=True), list(reversed([1, 2])), dict(zip(["a", "b"], [1, 2])), [i for i, _ in enumerate(NAMES)]],
        "deep_get": [event.deep_get("user", "NAME"), event.deep_get("user", "missing", default="d"), event.deep_get("tags", 0)],
        "deep_walk": [event.deep_walk("records", "id"), event.deep_walk("records", "id", return_val="first"), event.deep_walk("records", "ID")],
        "case": [event.get("USER", {}).get("NAME"), event["User"]["Name"]],
        "generators": [all(x > 1 for x in [1, 2]), all(x > 0 for x in [1, 2]), any(x > 5 for x in [1]), any(x > 0 for x in [1]), all(v for v in []), next((v for v in [3, 4] if v > 3), None), [k for k, v in {"a": 1, "b": 0}.items() if v]],
        "count": count,
        "limits": LIMITS,
    }
