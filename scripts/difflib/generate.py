"""Generates string pairs and records CPython's `SequenceMatcher(None, a, b).ratio()` (with
`autojunk` on and off) for the runtime's port (runtime/src/py/stdlib/difflib.rs) to be compared
with: runtime/tests/difflib.rs. Seeded; long strings (200 characters and more, where `autojunk`
drops popular characters) included.

Usage: scripts/difflib/run.sh   (writes runtime/tests/difflib/cases.json)
"""

import json
import random
import sys
from difflib import SequenceMatcher

rng = random.Random(7)
ALPHABETS = ["ab", "abc.", "abcdefghijklmnopqrstuvwxyz.-", "aé\u0130ı\U0001f600 ", "0123456789"]


def text():
    alphabet = rng.choice(ALPHABETS)
    n = rng.choice([0, 1, 2, 5, 10, 30, 199, 200, 201, 450])
    n = rng.randint(0, n)
    return "".join(rng.choice(alphabet) for _ in range(n))


def mutate(s):
    s = list(s)
    for _ in range(rng.randint(0, 5)):
        op = rng.random()
        i = rng.randint(0, len(s))
        if op < 0.4 and s:
            del s[min(i, len(s) - 1)]
        elif op < 0.8:
            s.insert(i, rng.choice("abc.-x"))
        elif s:
            s[min(i, len(s) - 1)] = rng.choice("xyz")
    return "".join(s)


def main():
    cases = []
    for _ in range(int(sys.argv[2])):
        a = text()
        b = mutate(a) if rng.random() < 0.6 else text()
        cases.append([a, b, SequenceMatcher(None, a, b).ratio().hex(), SequenceMatcher(None, a, b, autojunk=False).ratio().hex()])
    with open(sys.argv[1], "w") as f:
        json.dump(cases, f, ensure_ascii=True)
        f.write("\n")
    print(f"{len(cases)} pairs")


main()
