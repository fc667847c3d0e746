"""Fixture: data models (udm) and the functions Panther reads (written for this project)."""


def rule(event):
    return event.udm("action", default="").startswith("delete")


def title(event):
    return f"{event.udm('actor')} did {event.udm('action')} from {event.udm('source_ip', default='nowhere')}"


def alert_context(event):
    return {
        "details": event.udm("details"),
        "unmapped": event.udm("region"),
        "p_udm": event.udm("custom"),
        "nested": event.udm("target", "kind"),
    }


def description(event):
    return f"{event.get('verb')} happened"


def runbook(event):
    return "Check the actor."
