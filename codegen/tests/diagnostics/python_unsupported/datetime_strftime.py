from datetime import datetime, timedelta


def rule(event):
    # `%s` is glibc's seconds since the epoch in local time: not modelled.
    expiry = datetime.now() + timedelta(days=3)
    return bool(expiry.strftime("%s"))
