from datetime import datetime


def rule(event):
    return datetime.strptime(event.get("when"), "%d %j %Y").year > 2020
