"""Fixture: where a loop variable's binding after the loop is observed, and where it is not
(written for this project; the generated Rust binds the second kind in the loop itself)."""


def rule(event):
    # Only the body reads `item`: the Rust loop variable is the local.
    for item in event.get("items", []):
        if item == "stop":
            return False
    return True


def title(event):
    # Read after the loop: the last item (CPython keeps the binding).
    for last in event.get("items", []):
        pass
    seen = []
    # Two loops binding the same name, each reading it only in its body.
    for name in event.get("items", []):
        seen.append(name)
    for name in reversed(event.get("items", [])):
        seen.append(name.upper())
    return f"{last} {seen}"


def dedup(event):
    found = "none"
    for key, value in event.get("pairs", {}).items():
        # `value` is reassigned in the body; `key` is read after the loop.
        value = value * 2
        if value > 4:
            found = f"{key}={value}"
    return f"{found} last={key}"


def alert_context(event):
    out = []
    # Unpacked items, one name never read.
    for index, _ in enumerate(event.get("items", [])):
        out.append(index)
    # Not read at all: the loop runs for its count.
    count = 0
    for _unused in range(3):
        count += 1
    # Read by a comprehension after the loop: the post-loop binding.
    for tag in event.get("items", []):
        pass
    tags = [tag for _ in range(2)]

    # Read in the `else` of the loop.
    for entry in event.get("items", []):
        if entry == "x":
            break
    else:
        out.append(f"no x after {entry}")
    return {"out": out, "count": count, "last_tag": tags}
