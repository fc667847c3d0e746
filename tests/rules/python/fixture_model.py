from fixture_helpers import deep_lookup


def get_action(event):
    return f"{event.get('verb', 'unknown')}:{deep_lookup(event, 'target', 'kind', default='none')}"


def get_details(event):
    return {"verb": event.get("verb"), "count": len(event.get("items", []))}
