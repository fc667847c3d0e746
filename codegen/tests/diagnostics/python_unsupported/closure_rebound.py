def rule(event):
    name = event.get("a")

    def inner():
        return name

    # Rebound after the `def`: a call sees the value of the cell at that time.
    name = event.get("b")
    return inner() == "x"
