"""Fixture: bytes from str.encode and base64.b64decode, decoded with the codecs rules use, their
errors caught, and what a bytes value does (written for this project)."""

import base64
from base64 import b64decode
from binascii import Error as BinasciiError


def decoded(text, validate):
    try:
        raw = b64decode(text, validate=validate)
    except (BinasciiError, ValueError):
        return "invalid"
    for codec in ["ascii", "utf-16-le", "utf-8"]:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return "undecodable"


def ascii_only(text):
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        return False
    return True


def raw_bytes(text):
    if not ascii_only(text):
        return "".encode()
    try:
        return base64.b64decode(text.encode("utf-8"))
    except BinasciiError:
        return "-".encode("ascii")


def rule(event):
    return bool(event.get("b64"))


def title(event):
    text = event.get("b64")
    padded = text.ljust((len(text) + 3) // 4 * 4, "=")
    return f"{decoded(text, True)}|{decoded(padded, False)}|{ascii_only(text)}"


def alert_context(event):
    text = event.get("b64")
    raw = raw_bytes(text)
    printable = sum(c.isprintable() or c.isspace() for c in text) / len(text)
    return {
        "str": str(raw),
        "repr": repr(raw),
        "f": f"[{raw}]",
        "len": len(raw),
        "bool": bool(raw),
        "items": list(raw)[:4],
        "first": raw[0] if raw else None,
        "last": raw[-1] if raw else None,
        "in": 104 in raw,
        "eq": raw == text.encode("ascii", "strict") if ascii_only(text) else None,
        "eq_str": raw == text,
        "lt": raw < "hi".encode(),
        "isinstance": isinstance(raw, bytes),
        "printable": round(printable, 3),
        "isascii": text.isascii(),
        "utf8": "é€😀".encode("utf-8").decode("utf8"),
        "utf16": "hé€😀".encode("utf-16-le").decode("UTF-16-LE"),
        "ljust": "ab".ljust(5) + "|" + "abcdef".ljust(2, "*") + "|" + "é".ljust(3, "€"),
    }
