from base64 import b64decode


def rule(event):
    # Only the standard alphabet is compiled.
    return b64decode(event.get("token"), altchars="-_") == b64decode("")
