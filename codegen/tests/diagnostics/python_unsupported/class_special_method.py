class Lookup:
    def __init__(self, event):
        self.matches = event.get("p_enrichment")

    def __eq__(self, other):
        return True


def rule(event):
    return Lookup(event) == Lookup(event)
