#!/usr/bin/env python3
"""promparse.py — a strict reader of the Prometheus text format 0.0.4 for
the /metrics test: every line must be a HELP, a TYPE, or a sample of the
family announced just before it; each family has exactly one HELP and one
TYPE, before its samples; names and labels are well formed; values parse;
counters are >= 0; histograms have increasing le, cumulative counts, a
+Inf bucket equal to _count; summaries have quantiles in [0,1]."""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL})(?:,{LABEL})*\}})? (\S+)(?: (-?\d+))?$")
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


def value(s):
    if s in ("NaN", "+Inf", "-Inf"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ValueError(s)
    return float(s)


def main(path):
    text = open(path, encoding="utf-8").read()
    errors = []
    if not text.endswith("\n"):
        errors.append("body does not end with a newline")
    families = {}  # name -> dict(help, type, samples)
    current = None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        def err(msg):
            errors.append(f"line {no}: {msg}: {line!r}")
        if m := HELP.match(line):
            name = m.group(1)
            if name in families:
                err("second HELP or family repeated")
                continue
            families[name] = {"help": m.group(2), "type": None, "samples": []}
            current = name
        elif m := TYPE.match(line):
            if m.group(1) != current or families[current]["type"] or families[current]["samples"]:
                err("TYPE not right after its family's HELP")
                continue
            families[current]["type"] = m.group(2)
        elif line.startswith("#") or not line:
            err("unexpected comment or empty line")
        elif m := SAMPLE.match(line):
            name, labels, v = m.group(1), m.group(2) or "", m.group(3)
            fam = families.get(current)
            if not fam or not fam["type"]:
                err("sample before HELP/TYPE")
                continue
            allowed = [current + s for s in SUFFIXES.get(fam["type"], ("",))]
            if name not in allowed:
                err(f"sample not of family {current}")
                continue
            try:
                x = value(v)
            except ValueError:
                err("bad value")
                continue
            fam["samples"].append((name, labels, x))
        else:
            err("not a sample")
    for name, fam in families.items():
        t, s = fam["type"], fam["samples"]
        if not t or not s:
            errors.append(f"{name}: no TYPE or no samples")
            continue
        if t == "counter" and (not name.endswith("_total") or any(x < 0 or math.isnan(x) for _, _, x in s)):
            errors.append(f"{name}: counter without _total or negative")
        if t in ("counter", "gauge") and (len(s) != 1 or s[0][1]):
            errors.append(f"{name}: expected one unlabelled sample")
        if t == "histogram":
            buckets = [(l, x) for n, l, x in s if n.endswith("_bucket")]
            les = [value(re.fullmatch(r'\{le="([^"]+)"\}', l).group(1)) for l, _ in buckets]
            counts = [x for _, x in buckets]
            total = [x for n, _, x in s if n == name + "_count"]
            if not les or les[-1] != math.inf or les != sorted(set(les)) or counts != sorted(counts) \
                    or len(total) != 1 or total[0] != counts[-1]:
                errors.append(f"{name}: malformed histogram")
        if t == "summary":
            qs = [re.fullmatch(r'\{quantile="([^"]+)"\}', l) for n, l, _ in s if n == name]
            if not qs or not all(q and 0 <= value(q.group(1)) <= 1 for q in qs):
                errors.append(f"{name}: malformed summary")
    for e in errors[:30]:
        print(e)
    if errors:
        print(f"{len(errors)} problems in {len(families)} families")
        return 1
    print(f"promparse: {len(families)} families OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
