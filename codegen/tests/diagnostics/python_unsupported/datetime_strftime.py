from datetime import datetime, timedelta


def rule(event):
    # `%c` is the locale's date and time: not modelled.
    expiry = datetime.now() + timedelta(days=3)
    return bool(expiry.strftime("%c"))
