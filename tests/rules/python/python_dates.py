"""Fixture: datetime.strptime with the directives of the C locale (%b %I %p %z %Z %y %a %B),
datetime.utcfromtimestamp and dateutil.parser.parse on ISO 8601 strings, as CPython 3.11
computes them under TZ=UTC (written for this project)."""

from datetime import datetime

from dateutil import parser

FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%z",
    "%b %d, %Y %I:%M:%S %p",
    "%Y %b %d %H:%M:%S.%f %Z",
    "%d/%b/%Y:%H:%M:%S %z",
    "%m/%d/%y %H:%M:%S %z",
    "%A, %d %B %Y %I:%M %p",
    "%a %d %b %y",
]


def resolve(text):
    for each in FORMATS:
        try:
            return datetime.strptime(text, each)
        except (ValueError, TypeError):
            continue
    try:
        return parser.parse(text)
    except (ValueError, TypeError, parser.ParserError):
        return None


def latest(times):
    try:
        return max(parser.parse(t) for t in times)
    except (ValueError, TypeError):
        return "error"


def epoch(event):
    try:
        return repr(datetime.utcfromtimestamp(float(event.get("epoch", "0"))))
    except ValueError:
        return "ValueError"


def rule(event):
    return resolve(event.get("time")) is not None


def title(event):
    when = resolve(event.get("time"))
    return f"{when} | {when!r}"


def alert_context(event):
    return {
        "latest": str(latest(event.get("times", []))),
        "latest_repr": repr(latest(event.get("times", []))),
        "epoch": epoch(event),
        "not_str": repr(latest([None])),
    }
