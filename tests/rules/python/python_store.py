"""Fixture: Panther's key-value store helpers (panther_detection_helpers.caching), mocked as
upstream's tests mock them, and unmocked as under `pat test`, where no store is reachable and a
helper that reaches the table raises NoRegionError (written for this project)."""

import json
import logging

from panther_detection_helpers.caching import (
    add_to_string_set,
    check_account_age,
    get_dictionary,
    get_string_set,
    increment_counter,
    put_dictionary,
    put_string_set,
)

# A test mocks it: Panther's test runner then puts a MagicMock in its place.
STRICT = False


def seen_items(key):
    cached = get_string_set(key, force_ttl_check=True)
    if isinstance(cached, str):
        # A test's mock returns a string.
        cached = set(json.loads(cached)) if cached else set()
    return cached


def rule(event):
    mode = event.get("mode")
    if mode == "distinct":
        # Distinct items per actor, as the SSM rules count parameters and instances.
        key = "fixture-distinct-" + event.get("actor", "")
        seen = seen_items(key)
        items = seen | {event.get("item")}
        if items - seen:
            put_string_set(key, items, epoch_seconds=(3600 if not seen else None))
        return len(items) > 2
    if mode == "new_account":
        return check_account_age(event.get("account", ""))
    if mode == "location":
        last = get_dictionary(event.get("user"))
        if isinstance(last, str):
            last = json.loads(last) if last else {}
        put_dictionary(event.get("user"), {event.get("city"): 1})
        return bool(last) and event.get("city") not in last
    if mode == "counter":
        increment_counter("fixture-counter-" + event.get("user", ""), event.get("by", 1))
        return True
    if mode == "mocked_variable":
        logging.debug("mode %s, strict %s", mode, STRICT)
        # A MagicMock is truthy, contains nothing, iterates as empty, has length 0, is 1 as an int.
        return bool(STRICT) and "x" not in STRICT and list(STRICT) == [] and len(STRICT) == 0 and int(STRICT) == 1
    if mode == "checks":
        # What the helpers check before they reach the table raises without a store too.
        try:
            put_dictionary("k", ["not", "a", "dict"])
        except TypeError:
            pass
        else:
            return False
        try:
            add_to_string_set("k", 5)
        except TypeError:
            pass
        else:
            return False
        return not check_account_age("")
    # No store: the helper raises, and the rule may catch it.
    try:
        get_string_set("anything")
    except Exception:  # pylint: disable=broad-except
        return event.get("unreachable_matches", False)
    return False


def title(event):
    mode = event.get("mode")
    if mode == "distinct":
        return f"{event.get('actor')} touched {len(seen_items('fixture-distinct-' + event.get('actor', '')))} items before"
    if mode == "location":
        return f"{event.get('user')} logged in from {event.get('city')}"
    return f"store fixture in mode {mode}"
