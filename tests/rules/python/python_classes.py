"""Fixture: objects of a helper's classes (written for this project)."""

from fixture_classes import Asn, Counter, get_asn


def rule(event):
    asn = get_asn(event)
    return bool(asn) and asn.domain("ip") == "amazon.com"


def title(event):
    return f"{get_asn(event).describe('ip', upper=True)} seen"


def alert_context(event):
    asn = get_asn(event)
    errors = []
    try:
        event.get("nothing").domain("ip")
    except AttributeError:
        errors.append("method of None")
    try:
        event.get("nothing").domain(int("not a number"))
    except AttributeError:
        errors.append("method looked up before the arguments")
    except ValueError:
        errors.append("arguments first")
    counter = Counter()
    try:
        counter.bump()
    except AttributeError:
        errors.append("attribute before it is set")
    counter.start(at=10)
    counter.bump()
    other = Asn(event, table="other_table")
    return {
        "domain": asn.domain("ip"),
        "other": other.domain("ip"),
        "missing": asn.describe("nothing"),
        "nested": [asn.nested("ip", *event.get("keys", ["asn"])), asn.nested("ip")],
        "seen": asn.seen,
        "count": counter.bump(by=5),
        "has": [hasattr(asn, "domain"), hasattr(asn, "table"), hasattr(asn, "nope"), hasattr(Counter(), "count")],
        "same": [asn == asn, asn == other, asn != other, len({asn, other, asn})],
        "errors": errors,
    }
