import datetime


def rule(event):
    return datetime.datetime.now(datetime.timezone.utc).hour > 12
