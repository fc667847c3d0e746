"""Fixture: datetime, timedelta and time.time as CPython 3.11 computes them (written for this
project). Naive values are UTC, as on Panther."""

import datetime as dt
import time
from datetime import datetime, timedelta

GRACE = timedelta(hours=12, seconds=5)
LIMITS = {
    "until": datetime(year=2030, month=6, day=2),
    "span": dt.timedelta(days=-1, microseconds=1),
}
FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse(event):
    return dt.datetime.fromisoformat(event.get("p_event_time", "1970-01-01T00:00:00"))


def rule(event):
    when = parse(event)
    if event.get("aware"):
        return when.timestamp() > 0
    start = datetime.strptime(event.get("start"), FORMAT)
    # Clock-dependent only until 2030.
    return when - start > GRACE and datetime.now() < LIMITS["until"] and time.time() > 1.6e9


def title(event):
    when = parse(event)
    offset = when.timestamp() // 3600 * 3600
    return f"{when} | {when!r} | {when.isoformat()} | {offset} | {when.timestamp()}"


def outcome(f):
    try:
        return f()
    except TypeError:
        return "TypeError"
    except ValueError:
        return "ValueError"


def alert_context(event):
    when = parse(event)
    naive = datetime(2024, 1, 1)
    start = outcome(lambda: datetime.strptime(event.get("start"), FORMAT))
    diff = outcome(lambda: when - start)
    context = {
        "strftime": when.strftime("%Y-%m-%d %H:%M:%S.%f %j %a %A %b %B %p %I %y %% %s"),
        "fields": [when.year, when.month, when.day, when.hour, when.minute, when.second, when.microsecond],
        "diff": str(diff),
        "diff_repr": repr(diff),
        "compare_naive": outcome(lambda: when < naive),
        "equal_naive": when == naive,
        "minus_naive": outcome(lambda: repr(when - naive)),
        "grace": [str(GRACE), repr(GRACE), GRACE.total_seconds(), bool(timedelta(0)), bool(GRACE)],
        "span": [str(LIMITS["span"]), repr(-LIMITS["span"]), LIMITS["span"].days, LIMITS["span"].seconds],
        "until": [repr(LIMITS["until"]), str(LIMITS["until"] + GRACE), LIMITS["until"].timestamp()],
        "max": repr(max(GRACE, timedelta(days=1), timedelta(minutes=3))),
        "bad_iso": outcome(lambda: dt.datetime.fromisoformat(event.get("bad", ""))),
        "bad_time": outcome(lambda: datetime.strptime(event.get("bad", ""), "%Y-%m-%d")),
        "not_str": outcome(lambda: datetime.strptime(None, "%Y")),
        "feb30": outcome(lambda: datetime.strptime("2023-02-29", "%Y-%m-%d")),
        "short": repr(datetime.strptime("2024-3-5 7:8:9", "%Y-%m-%d %H:%M:%S")),
    }
    context["mktime"] = time.mktime(when.timetuple())
    context["clock"] = [datetime.today() > naive, datetime.utcnow() > naive, time.time() > 1.6e9]
    if isinstance(diff, str):
        context["diff_seconds"] = diff
    else:
        context["diff_seconds"] = [diff.days, diff.seconds, diff.microseconds, diff.total_seconds()]
    return context
