"""Fixture: rule() returns what the event holds; Panther accepts only a bool (written for this project)."""


def rule(event):
    return event.get("verdict")


def title(event):
    return event.get("title")
