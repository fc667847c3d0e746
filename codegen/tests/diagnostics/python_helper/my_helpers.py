import uuid


def fine(event):
    return event.get("a")


def classify(event):
    return "bad" if uuid.uuid4() else "good"
