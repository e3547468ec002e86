#!/usr/bin/env bash
# w3m.sh CGC_RUN LIBDIR WORKDIR — Debian 12's w3m text browser: w3m -dump
# of a set of generated local HTML pages (3,000 paragraphs with links and
# inline markup, a 300x8 table, nested lists, preformatted text; about
# 1.2 MB of HTML over 4 files). Checks: lib.sh (the rendered text
# identical).
set -u
name=w3m
cgc_run=$(realpath "$1") libdir=$(realpath "$2") work=$3
mkdir -p "$work" && work=$(realpath "$work")
here=$(cd "$(dirname "$0")" && pwd)
runs=5
bash "$here/fetch.sh" "$work/../pkgs" w3m || exit $?
root=$(cd "$work/../pkgs/root" && pwd)
. "$here/lib.sh"
mkdir -p "$work" && rm -rf "${work:?}"/*
mkdir -p "$work/site"
python3 - "$work/site" <<'PY'
import sys
d = sys.argv[1]
words = "garbage collector mark sweep heap pointer object finalizer weak span page arena limit".split()
def para(i):
    w = [words[(i * 7 + k * 3) % len(words)] for k in range(40 + i % 30)]
    w[5] = f'<a href="p{i % 4}.html#s{i}">{w[5]}</a>'
    w[11] = f'<b>{w[11]}</b>'
    w[17] = f'<i>{w[17]}</i>'
    w[23] = f'<code>{w[23]}</code>'
    return f'<h3 id="s{i}">Section {i}</h3>\n<p>' + ' '.join(w) + '</p>\n'
for f in range(4):
    out = [f'<html><head><title>Page {f}</title></head><body><h1>Page {f}</h1>']
    for i in range(f * 750, (f + 1) * 750):
        out.append(para(i))
        if i % 50 == 0:
            out.append('<ul>' + ''.join(f'<li>item {i}.{k}<ul><li>sub {k}</li></ul></li>' for k in range(8)) + '</ul>')
        if i % 97 == 0:
            out.append('<pre>' + '\n'.join(f'  {i:6d} {k:4d} {"x" * (k % 40)}' for k in range(20)) + '</pre>')
    out.append('<table border="1">')
    for r in range(75):
        out.append('<tr>' + ''.join(f'<td>{f}.{r}.{c} {words[(r + c) % len(words)]}</td>' for c in range(8)) + '</tr>')
    out.append('</table></body></html>')
    open(f'{d}/p{f}.html', 'w').write('\n'.join(out))
PY
env_common=(HOME="$work" TERM=dumb LANG=C.UTF-8)
# Heap, unconstrained: 13 MB at most, 7-8 MB live (gctrace). At 11 MB the
# GC CPU limiter sometimes let it reach 12 (170-240 collections).
limit=$((12 << 20))
compare "$root/usr/bin/w3m" -dump -cols 100 -T text/html "$work/site/p0.html" "$work/site/p1.html" "$work/site/p2.html" "$work/site/p3.html"
finish
