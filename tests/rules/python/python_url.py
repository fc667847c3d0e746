"""Fixture: urllib.parse (urlparse, parse_qs, unquote) as CPython 3.11 does them (written for this
project)."""

from urllib.parse import parse_qs, unquote, urlparse


def rule(event):
    uri = event.get("uri", "")
    try:
        parsed = urlparse(uri)
    except ValueError:
        return event.get("invalid_matches", False)
    params = parse_qs(parsed.query)
    return "w" in params.get("sp", [""])[0] or "token" in unquote(uri).lower()


def title(event):
    try:
        parsed = urlparse(event.get("uri", ""))
    except ValueError:
        return "invalid"
    return f"{parsed.scheme}|{parsed.netloc}|{unquote(parsed.path)}|{parsed.params}|{parsed.fragment}"


def alert_context(event):
    if event.get("invalid_matches"):
        return {}
    parsed = urlparse(event.get("uri", ""))
    scheme, netloc, _, _, _, _ = parsed
    return {
        "params": parse_qs(parsed.query),
        "repr": repr(parsed),
        "first": parsed[0],
        "len": len(parsed),
        "tuple": parsed == (scheme, netloc, parsed.path, parsed.params, parsed.query, parsed.fragment),
        "decoded": unquote(event.get("raw", "")),
    }
