def rule(event):
    try:
        return event["user"] == "root"
    except KeyError:
        return False
    finally:
        pass
