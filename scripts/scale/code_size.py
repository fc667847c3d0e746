#!/usr/bin/env python3
"""The size of generated Rust: lines and bytes per file, the largest files and the largest functions.

    python3 scripts/scale/code_size.py DIR_OR_FILE... [--top 5]

To show that generated code grows linearly with the rules (no giant single function or file).
Functions are found by a small lexer (comments, strings, raw strings and char literals skipped),
from `fn name` to its closing brace; lines count from the `fn` line to that brace.
"""

import argparse
import pathlib
import re

CHAR = re.compile(r"'(\\.[^']*|[^\\'])'")
RAW = re.compile(r'b?r(#*)"')
FN = re.compile(r"\bfn\s+([A-Za-z_]\w*)")


def code_only(text):
    """The text with comments and the insides of string and char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif (m := RAW.match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + m.group(1)
            j = text.find(end, m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'" and (m := CHAR.match(text, i)):
            out.append(" " * (m.end() - i))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """(lines, name, first line) of every `fn` with a body in `path`."""
    code = code_only(path.read_text())
    found = []
    for m in FN.finditer(code):
        start = m.start()
        brace = code.find("{", m.end())
        semi = code.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue  # a declaration without a body
        depth, j = 0, brace
        while j < len(code):
            if code[j] == "{":
                depth += 1
            elif code[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        first = code.count("\n", 0, start) + 1
        last = code.count("\n", 0, j) + 1
        found.append((last - first + 1, m.group(1), first))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+", type=pathlib.Path)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    for root in args.paths:
        files = sorted(root.rglob("*.rs")) if root.is_dir() else [root]
        sizes = [(len(f.read_text().splitlines()), f.stat().st_size, f) for f in files]
        fns = [(lines, name, f, first) for f in files for lines, name, first in functions(f)]
        total_lines = sum(s[0] for s in sizes)
        total_bytes = sum(s[1] for s in sizes)
        print(f"{root}: {len(files)} files, {total_lines:,} lines, {total_bytes / 1e6:.1f} MB, {len(fns):,} functions")
        print(f"  largest files: " + "; ".join(f"{f.relative_to(root) if root.is_dir() else f.name} {l:,} lines" for l, _, f in sorted(sizes, key=lambda s: -s[0])[: args.top]))
        fns.sort(key=lambda x: -x[0])
        print(f"  largest functions: " + "; ".join(f"{name} ({f.name}:{first}) {l:,} lines" for l, name, f, first in fns[: args.top]))
        if fns:
            lengths = sorted(x[0] for x in fns)
            print(f"  function lines: median {lengths[len(lengths) // 2]}, p99 {lengths[len(lengths) * 99 // 100]}, max {lengths[-1]}")


if __name__ == "__main__":
    main()
