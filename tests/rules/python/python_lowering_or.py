"""Fixture: a disjunction whose first part raises in Python on a field that is not a string:
where it raises, CPython gives no alert though the second part holds, so the lowered
conditions only filter and rule() still runs (written for this project)."""


def rule(event):
    return event.get("path", "").startswith("/admin") or event.get("verb") == "delete"
