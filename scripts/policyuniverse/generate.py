"""Generates IAM policies of every shape policyuniverse handles and records what CPython's
policyuniverse (as Panther's runtime ships it) makes of each, for the runtime's port
(runtime/src/py/stdlib/policyuniverse.rs) to be compared with: runtime/tests/policyuniverse.rs.

Each case is run twice: on the `dict` that `json.loads` gives, and on Panther's
ImmutableCaseInsensitiveDict (a policy read from the event). Recorded: the verdict of
`Policy(doc).is_internet_accessible()` or the exception's class, and per statement the effect,
the principals, the condition entries and the actions, as `repr` (sets sorted). Seeded: the
output is the same from run to run.

Usage: scripts/policyuniverse/run.sh   (writes runtime/tests/policyuniverse/cases.json)
"""

import json
import random
import sys

from panther_core.immutable import ImmutableCaseInsensitiveDict, ImmutableList
from policyuniverse.policy import Policy

rng = random.Random(11)

PIECES = ["arn", ":", "*", "aws", "iam", "s3", ".", "amazonaws", "amazon", "com", "\n", "123456789012",
          "internal", "o-", "/", "r-", "ou-", "ou-*", "x", "root", "role", "cloudfront", "0", "1.2.3.4",
          "\u0660" * 12, "\u0130", "-", " "]

NAMED = [
    "*", "arn:aws:iam::*:root", "arn:aws:iam::123456789012:root", "arn:aws:iam:::role/x",
    "arn:aws:s3:::bucket/*", "arn:aws:iam::12345678901x:role/*", "*.amazonaws.com",
    "s3.amazonaws.com", "a*xaws.internal", "a*x\naws.internal", "arn:aws:iam::*:role/x\n",
    "arn:aws:iam::*:\n", "arn:aws:iam::*:", "arn:aws:sts::cloudfront:x*", "123456789012",
    "ec2.amazonaws.com", "a.b*.amazonaws.com", "a.b.c*.amazonaws.com", "*\n.amazon.com",
    "arn:aws:iam::aws:*", "arn:aws:iam::\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662:x*",
    "arn:aws:iam::*:a\nb", "ARN:aws:iam::*:root", "arn:aws:iam::**:root", "*arn", "",
    "o-*", "o-abc", "o-abc/r-1/ou-*", "o-*/r-1", "x/o-*", "o-1/r-1/ou-*/ou-2", "o-1/*/", "o-1/r-1//",
    "o-1/r-1/*", "o-1/r-1/ou-a/ou-b", "o-1/r-1/bad", "*/*", "o-*/x",
    "10.0.0.0/8", "0.0.0.0/0", "::/0", "AROAIIIIIIIIIIII:*", "AROA*III", "*", "AROA", "a*b*",
    "vpc-123", "vpce-*", "https://signin.aws.amazon.com/saml",
]

KEYS = ["aws:SourceArn", "aws:PrincipalArn", "aws:SourceOwner", "AWS:SourceAccount",
        "aws:principalaccount", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "kms:CallerAccount",
        "aws:userid", "aws:SourceIp", "aws:SourceVpc", "aws:sourceVpce", "SAML:aud", "aws:Referer",
        "aws:SourceOrgID", "sts:ExternalId", "aws:SourceIP", "AWS:SOURCEARN"]

OPERATORS = ["StringEquals", "StringLike", "StringEqualsIgnoreCase", "StringLikeIfExists",
             "ForAnyValue:StringLike", "ForAllValues:StringEquals", "forallvalues:arnlike",
             "ArnEquals", "ArnLike", "ARNLikeIfExists", "IpAddress", "IpAddressIfExists",
             "NotIpAddress", "StringNotEquals", "StringNotLike", "ArnNotEquals", "Bool",
             "NumericLessThan", "\u0130pAddress", "\u0131pAddress", "\u017ftringEquals",
             "ArnLi\u212ae", "StringEqualsX", "ForAnyValue:NumericEquals", "ForAnyValue:",
             "foranyvalue:StringEQUALS", "For:StringLike"]


def text():
    if rng.random() < 0.6:
        return rng.choice(NAMED)
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8)))


def scalar():
    r = rng.random()
    if r < 0.8:
        return text()
    return rng.choice([1, 0, None, True, False, 1.5, 123456789012])


def value(depth=0):
    r = rng.random()
    if r < 0.55 or depth > 1:
        return scalar()
    if r < 0.85:
        return [value(depth + 1) for _ in range(rng.randint(0, 3))]
    return {text(): value(depth + 1) for _ in range(rng.randint(0, 2))}


def strings(n=3):
    return [text() for _ in range(rng.randint(0, n))]


def principal():
    r = rng.random()
    if r < 0.25:
        return rng.choice(["*", "arn:aws:iam::*:root", ["*", "arn:aws:iam::123456789012:root"]])
    if r < 0.3:
        return text()
    if r < 0.45:
        return strings()
    if r < 0.92:
        d = {}
        for k in rng.sample(["AWS", "Service", "Federated", "aws", "CanonicalUser", "service"], rng.randint(0, 3)):
            d[k] = rng.choice([text(), text(), strings(), strings(), value()])
        return d
    return value()


def condition():
    r = rng.random()
    if r < 0.05:
        return value()
    c = {}
    for op in rng.sample(OPERATORS, rng.randint(0, 3)):
        if rng.random() < 0.08:
            c[op] = value()
            continue
        c[op] = {}
        for k in rng.sample(KEYS, rng.randint(0, 3)):
            c[op][k] = rng.choice([text(), text(), strings(), strings(), value()])
    return c


def statement():
    if rng.random() < 0.05:
        return value()
    s = {}
    if rng.random() < 0.9:
        s[rng.choice(["Effect", "Effect", "Effect", "effect"])] = rng.choice(
            ["Allow"] * 8 + ["Deny", "allow", None, 1, ["Allow"]])
    if rng.random() < 0.85:
        s[rng.choice(["Principal", "Principal", "principal"])] = principal()
    if rng.random() < 0.08:
        s["NotPrincipal"] = principal()
    if rng.random() < 0.6:
        s[rng.choice(["Condition", "Condition", "condition"])] = condition()
    if rng.random() < 0.7:
        s["Action"] = rng.choice(["s3:GetObject", "*", ["sts:AssumeRole", "s3:*"], [], "s3:*", {"a": 1}, [["x"]], 3])
    return s


def document():
    r = rng.random()
    if r < 0.03:
        return value()
    doc = {"Version": "2012-10-17"}
    if r < 0.06:
        return doc
    k = rng.choice(["Statement", "Statement", "Statement", "statement"])
    doc[k] = statement() if rng.random() < 0.2 else [statement() for _ in range(rng.randint(0, 3))]
    return doc


def wrap(x):
    if isinstance(x, dict):
        return ImmutableCaseInsensitiveDict(x)
    if isinstance(x, list):
        return ImmutableList(x)
    return x


def reprs(xs):
    return sorted(repr(x) for x in xs)


def reaches_set_order(p):
    """Whether `p.is_internet_accessible()` decides on a principal set where one principal is
    accessible and another raises: CPython's verdict then depends on its set order."""
    for s in p.statements:
        if s.effect != "Allow":
            continue
        try:
            if not s.is_condition_internet_accessible():
                continue
        except Exception:  # noqa: BLE001 - raises before the principals
            return False
        if s.uses_not_principal():
            return False
        verdicts = set()
        for x in s.principals:
            try:
                verdicts.add(bool(s._arn_internet_accessible(x)))
            except Exception:  # noqa: BLE001
                verdicts.add("raises")
        if True in verdicts and "raises" in verdicts:
            return True
        if verdicts - {False}:
            return False
    return False


def outcome(doc):
    try:
        p = Policy(doc)
    except Exception as e:  # noqa: BLE001 - every exception is an outcome
        return {"error": type(e).__name__}
    statements = []
    for s in p.statements:
        statements.append({
            "effect": repr(s.effect),
            "principals": reprs(s.principals),
            "conditions": [repr(c) for c in s.condition_entries],
            "actions": reprs(s.actions),
        })
    order_dependent = reaches_set_order(p)
    out = {"statements": statements, "order_dependent": order_dependent}
    try:
        out["accessible"] = p.is_internet_accessible()
    except Exception as e:  # noqa: BLE001
        out["error_in_verdict"] = type(e).__name__
    return out


def main():
    cases = []
    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3000):
        doc = document()
        cases.append({"policy": doc, "plain": outcome(json.loads(json.dumps(doc))), "wrapped": outcome(wrap(doc))})
    with open(sys.argv[1], "w") as f:
        json.dump(cases, f, indent=None, ensure_ascii=True)
        f.write("\n")
    errors = sum("error" in c["plain"] or "error_in_verdict" in c["plain"] for c in cases)
    accessible = sum(c["plain"].get("accessible") is True for c in cases)
    print(f"{len(cases)} policies: {accessible} internet-accessible, {errors} raise (plain dict)")


main()
