"""Generates inputs for the runtime's `datetime.strptime`, `datetime.utcfromtimestamp`
(runtime/src/py/stdlib/datetime.rs) and `dateutil.parser.parse` (runtime/src/py/stdlib/dateutil.rs)
and records what CPython 3.11 does with them under TZ=UTC and the C locale: the result's `repr`
and `str`, or the exception's `repr`. Compared by runtime/tests/pydate.rs. Seeded.

Usage: scripts/pydate/run.sh   (writes runtime/tests/pydate/cases.json)
"""

import _strptime
import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone

from dateutil import parser

assert time.tzname == ("UTC", "UTC") and time.daylight == 0, "run with TZ=UTC"
# The regular expressions the runtime copies (runtime/src/py/stdlib/datetime.rs).
RE = _strptime._TimeRE_cache
assert RE["b"] == "(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", RE["b"]
assert RE["B"] == "(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)", RE["B"]
assert RE["a"] == "(?P<a>mon|tue|wed|thu|fri|sat|sun)", RE["a"]
assert RE["A"] == "(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)", RE["A"]
assert RE["p"] == "(?P<p>am|pm)", RE["p"]
assert RE["Z"] in ("(?P<Z>utc|gmt)", "(?P<Z>gmt|utc)"), RE["Z"]

rng = random.Random(11)

# panther_base_helpers.TIME_FORMATS (the corpus' list) and a few more shapes.
FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S*%f%z",
    "%Y %b %d %H:%M:%S.%f %Z", "%b %d %H:%M:%S %z %Y", "%d/%b/%Y:%H:%M:%S %z", "%b %d, %Y %I:%M:%S %p",
    "%b %d %Y %H:%M:%S", "%b %d %H:%M:%S %Y", "%b %d %H:%M:%S %z", "%b %d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S,%f", "%Y/%m/%d*%H:%M:%S", "%Y %b %d %H:%M:%S.%f*%Z", "%Y %b %d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S,%f%z", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S", "%m/%d/%y %H:%M:%S %z", "%m/%d/%Y %H:%M:%S %z", "%H:%M:%S", "%H:%M:%S.%f",
    "%H:%M:%S,%f", "%d/%b %H:%M:%S,%f", "%d/%b/%Y:%H:%M:%S", "%d/%b/%Y %H:%M:%S", "%d-%b-%Y %H:%M:%S",
    "%d-%b-%Y %H:%M:%S.%f", "%d %b %Y %H:%M:%S", "%d %b %Y %H:%M:%S*%f", "%m%d_%H:%M:%S",
    "%m%d_%H:%M:%S.%f", "%m/%d/%Y %I:%M:%S %p:%f", "%m/%d/%Y %I:%M:%S %p",
    # Beyond the list: the other directives supported, and orders that matter.
    "%a, %d %B %Y %I:%M %p", "%A %B %d %y", "%p %I:%M", "%I %H", "%H %I %p", "%b %m", "%Z %d", "%z",
    "%Y-%m-%d%z", "%d %b", "%b %d",
]
NOISE = [" ", "  ", "\t", "\xa0", "\u2009", "\x1c", "\u3000", "Z", "z", "+", "-", ":", ".", "0", "9", "1",
         "\u0661", "\u017f", "\u212a", "x", "T", "t", "UTC", "gmt", "utc", "PM", "am", "Jan", "sEp", "\u0130"]


def random_datetime():
    d = datetime(rng.choice([1, 99, 1000, 1900, 1969, 1970, 2000, 2024, 9999, rng.randint(1, 9999)]),
                 rng.randint(1, 12), 1, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                 rng.choice([0, 5, 120000, rng.randint(0, 999999)]))
    d += timedelta(days=rng.randint(0, 30)) if d.year < 9999 else timedelta(0)
    return d


def random_offset():
    r = rng.random()
    if r < 0.3:
        return "Z"
    sign = rng.choice("+-")
    hh = rng.choice(["00", "05", "12", "23", "24", "99", f"{rng.randint(0, 99):02}"])
    mm = rng.choice(["00", "30", "59", f"{rng.randint(0, 59):02}"])
    forms = [f"{sign}{hh}{mm}", f"{sign}{hh}:{mm}", f"{sign}{hh}:{mm}:15", f"{sign}{hh}{mm}15",
             f"{sign}{hh}:{mm}:15.5", f"{sign}{hh}{mm}15.123456", f"{sign}{hh}:{mm}15", f"{sign}{hh}{mm}:15",
             f"{sign}{hh}{mm}:15.25", f"{sign}{hh}:{mm}15.1"]
    return rng.choice(forms)


def render(fmt):
    d = random_datetime()
    out = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            k = fmt[i + 1]
            i += 2
            if k == "z":
                out.append(random_offset())
            elif k == "Z":
                out.append(rng.choice(["UTC", "GMT", "utc", "Gmt", "EST", "UTC"]))
            elif k == "f":
                out.append(str(d.microsecond).rjust(rng.choice([6, 6, 1, 3, 7]), "0")[: rng.choice([6, 1, 3, 7])])
            elif k == "d" and rng.random() < 0.2:
                out.append(rng.choice([" 5", "5", "31", "30", "29", "00", "32"]))
            elif k == "S" and rng.random() < 0.1:
                out.append(rng.choice(["60", "61"]))
            elif k == "m" and rng.random() < 0.1:
                out.append(rng.choice(["2", "02", "13", "0"]))
            else:
                s = d.strftime("%" + k)
                if rng.random() < 0.2:
                    s = "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in s)
                out.append(s)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def mutate(s):
    s = list(s)
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
        op = rng.random()
        i = rng.randint(0, len(s))
        if op < 0.4:
            s.insert(i, rng.choice(NOISE))
        elif op < 0.7 and i < len(s):
            del s[i]
        elif i < len(s):
            s[i] = rng.choice(NOISE)
    return "".join(s)


def outcome(f):
    try:
        v = f()
        return {"repr": repr(v), "str": str(v)}
    except Exception as e:  # noqa: BLE001 - recorded
        return {"err": repr(e)}


def iso_input():
    d = random_datetime()
    s = d.strftime("%Y-%m-%d").rjust(10, "0")
    if d.year < 1000:
        s = f"{d.year:04}" + s[4:] if len(s) == 10 else f"{d.year:04}-{d.month:02}-{d.day:02}"
    if rng.random() < 0.85:
        s += rng.choice("T T ")
        s += f"{d.hour:02}:{d.minute:02}"
        if rng.random() < 0.8:
            s += f":{d.second:02}"
            if rng.random() < 0.6:
                s += "." + str(rng.randint(0, 10**9)).rjust(rng.choice([1, 3, 6, 9]), "0")[: rng.choice([1, 3, 6, 9])]
        r = rng.random()
        if r < 0.25:
            s += "Z"
        elif r < 0.6:
            sign = rng.choice("+-")
            hh, mm = rng.choice(["00", "05", "23", "24", f"{rng.randint(0, 23):02}"]), rng.choice(["00", "30", "59", "60"])
            s += rng.choice([f"{sign}{hh}:{mm}", f"{sign}{hh}{mm}", f"{sign}{hh}"])
    if rng.random() < 0.2:
        # Out-of-range fields.
        s = s[:5] + rng.choice(["13", "00", "02"]) + s[7:8] + rng.choice(["30", "31", "29", "00", "32"]) + s[10:]
    return mutate(s) if rng.random() < 0.4 else s


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    cases = []
    for _ in range(n):
        fmt = rng.choice(FORMATS)
        s = render(fmt)
        if rng.random() < 0.4:
            s = mutate(s)
        # As resolve_timestamp_string does: a string tried against other formats.
        if rng.random() < 0.3:
            fmt = rng.choice(FORMATS)
        cases.append(["strptime", s, fmt, outcome(lambda: datetime.strptime(s, fmt))])
    for _ in range(n):
        s = iso_input()
        cases.append(["dateutil", s, None, outcome(lambda: parser.parse(s))])
    for v in [None, 1, 1.5, True]:
        cases.append(["dateutil", None, v, outcome(lambda: parser.parse(v))])
    for _ in range(n // 4):
        r = rng.random()
        if r < 0.3:
            t = float(rng.randint(10**8, 10**12)) + rng.choice([0, 0.5, 0.25, 0.1, 0.999999, 0.9999995, 0.0000005])
        elif r < 0.5:
            t = rng.randint(-10**12, 10**12)
        elif r < 0.7:
            t = float(f"{rng.randint(10**8, 10**12)}.{rng.randint(0, 10**7)}")
        else:
            t = rng.uniform(-10**12, 10**12)
        cases.append(["utcfromtimestamp", None, t, outcome(lambda: datetime.utcfromtimestamp(t))])
    with open(path, "w") as out:
        json.dump(cases, out, ensure_ascii=False, indent=0)
        out.write("\n")
    print(f"{len(cases)} cases written to {path}")


main()
