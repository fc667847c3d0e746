"""Generates inputs for the runtime's `bytes` (runtime/src/py/stdlib/bytes.rs) and records what
CPython does with them: `base64.b64decode(s, validate=…)`, `bytes.decode(codec)` for the codecs
compiled rules use, `str.encode("ascii")` and `repr(bytes)`; an exception as its `repr`.
Compared by runtime/tests/bytes.rs. Seeded.

Usage: scripts/bytes/run.sh   (writes runtime/tests/bytes/cases.json)
"""

import base64
import json
import random
import sys

rng = random.Random(11)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
NOISE = "=\n -_.*é"


def b64_input():
    if rng.random() < 0.5:
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 20)))
        s = list(base64.b64encode(raw).decode())
        if rng.random() < 0.3:
            s = [c for c in s if c != "=" or rng.random() < 0.5]
    else:
        s = [rng.choice(B64) for _ in range(rng.randint(0, 14))]
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        i = rng.randint(0, len(s))
        s.insert(i, rng.choice(NOISE if rng.random() < 0.8 else B64))
    return "".join(s)


def text():
    # Assigned code points only: `repr` of unassigned ones is a known difference (README).
    alphabet = rng.choice(["abc =", "aé\u20ac\U0001f600\u0000\n", "\u3042\ue000\u00ff\u0080\u07ff\u0800"])
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))


def raw_bytes():
    r = rng.random()
    if r < 0.4:
        data = bytearray(text().encode(rng.choice(["utf-8", "utf-16-le"])))
    else:
        data = bytearray(rng.randrange(256) for _ in range(rng.randint(0, 10)))
    for _ in range(rng.choice([0, 0, 1, 2])):
        if data:
            data[rng.randrange(len(data))] = rng.choice(
                [0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 0xD8, 0xDC, 0xDB, 0xDF, 0x27, 0x22]
            )
    if data and rng.random() < 0.2:
        del data[-1]
    return bytes(data)


def outcome(f):
    try:
        v = f()
    except Exception as e:  # noqa: BLE001 - the exception is the expected outcome
        return {"err": repr(e)}
    if isinstance(v, bytes):
        return {"bytes": v.hex(), "repr": repr(v)}
    return {"str": v}


def main(path, n):
    cases = []
    for _ in range(n):
        s = b64_input()
        for validate in (False, True):
            cases.append(["b64decode", s, validate, outcome(lambda: base64.b64decode(s, validate=validate))])
    for _ in range(n):
        b = raw_bytes()
        for codec in ("ascii", "utf-8", "utf-16-le"):
            cases.append(["decode", b.hex(), codec, outcome(lambda: b.decode(codec))])
    for _ in range(n // 4):
        t = text()
        cases.append(["encode", t, "ascii", outcome(lambda: t.encode("ascii"))])
    with open(path, "w") as f:
        json.dump(cases, f, ensure_ascii=True, indent=0)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
