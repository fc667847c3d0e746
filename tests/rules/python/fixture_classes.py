"""Fixture helper: classes with `__init__`, a base class, `super()` and attributes (written for
this project, after the shape of panther-analysis's lookup-table helpers)."""


class Matches:
    """The matches of one enrichment table."""

    def __init__(self):
        self.table = None
        self.seen = []

    def _register(self, event, name):
        self.table = event.deep_get("p_enrichment", name)

    def _lookup(self, field, *keys):
        self.seen.append(field)
        found = (self.table or {}).get(field)
        for key in keys:
            found = found.get(key) if found else None
        return found


class Asn(Matches):
    def __init__(self, event, table="asn_table"):
        super().__init__()
        super()._register(event, table)

    def domain(self, field):
        return self._lookup(field, "domain")

    def nested(self, field, *keys):
        return self._lookup(field, *keys)

    def describe(self, field, upper=False):
        found = self.domain(field) or "none"
        return found.upper() if upper else found


class Counter:
    def start(self, at=0):
        self.count = at

    def bump(self, by=1):
        self.count = self.count + by
        return self.count


def get_asn(event):
    if event.deep_get("p_enrichment", "asn_table"):
        return Asn(event)
    return None
