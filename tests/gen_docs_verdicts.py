#!/usr/bin/env python3
"""gen_docs_verdicts.py — what scripts/gen-docs.py's verdicts and regions
promise (CTest: gen_docs_verdicts):

  - a soft-limit pairing where Go completed no run is "speed not compared"
    and never counts as met, whatever cgc's time (issue 14, finding 7);
  - a cgc run that did not complete under the limit makes its pairing not
    met; a pairing is met only at <= 0.5 x Go's median wall time;
  - a bench target whose other side did not run is "not measured", and the
    paired ratios pair runs of the same round;
  - issue 13's targets (cgc-conc) are met or not from the medians, and not
    measured without a reference run or when no cycle marked concurrently;
  - regions are rewritten between their markers and nothing else is;
    an unknown region or a missing end marker stops with an error;
  - cgc-conc's soft-limit survival is compared with cgc's, worse when fewer
    of its runs completed under the limit;
  - --check exits 1 when a document differs from its results, 0 when not.

Synthetic results in a temporary tree; no benchmark runs.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(os.path.dirname(HERE), 'scripts', 'gen-docs.py')
spec = importlib.util.spec_from_file_location('gen_docs', GEN)
gd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gd)

failures = 0


def check(cond, what):
    global failures
    print(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        failures += 1


LIMIT_HEAD = ("touch,round,pos,load1,impl,config,env,outcome,status,oom_kills,wall_s,cpu_s,"
              "peak_bytes,limit_bytes,collections,maxrss_mib,retained_max_mib,gap_max_ms,gaps_1ms,gaps_10ms\n")
L = 268435456


def limit_row(impl, config, outcome, wall, peak=200 << 20, rnd=1):
    done = outcome == 'completed'
    return (f"ends,{rnd},1,1.0,{impl},{config},\"\",{outcome},{0 if done else 137},{0 if done else 1},"
            f"{wall},{wall if done else ''},{peak},{L},{10 if done else ''},,,{1.0 if done else ''},0,0\n")


def limit_lines(rows):
    d = tempfile.mkdtemp()
    with open(os.path.join(d, 'latest-raw.csv'), 'w') as f:
        f.write(LIMIT_HEAD + ''.join(rows))
    return gd.limit_targets(gd.read_limit_raw(os.path.join(d, 'latest-raw.csv')), 'ends')


def line_for(lines, prefix):
    return next((l for l in lines if l.startswith(prefix)), '')


# 1. Go did not complete: not compared, never met (cgc's time is irrelevant).
base = [limit_row('cgc', c, 'completed', 1.0) for c in ('soft90', 'gcoff+L', 'default')]
go_ok = [limit_row('go', 'soft90', 'completed', 4.0)]
lines = limit_lines(base + go_ok + [limit_row('go', 'gcoff+L', 'oom-killed', 0.5, L)])
l = line_for(lines, '- cgc gcoff+L vs Go gcoff+L')
check('speed not compared' in l and 'Go completed 0/1' in l and ': met' not in l,
      'Go OOM-killed: the pairing says speed not compared, not met: ' + l)
check(any('**target not met**' in x for x in lines), 'Go OOM-killed: the overall target is not met')

# 2. Everything completed, cgc at 0.25x Go: met, and the overall target met.
lines = limit_lines(base + go_ok + [limit_row('go', 'gcoff+L', 'completed', 4.0)])
check(all('met: cgc' in line_for(lines, f'- cgc {c} vs') for c in ('soft90', 'gcoff+L', 'default')),
      'cgc at 0.25x Go: each pairing met')
check(any(x.startswith('- **target met**') for x in lines), 'cgc at 0.25x Go: target met')

# 3. cgc at 0.6x Go: not met, and the line gives the ratio it found.
lines = limit_lines([limit_row('cgc', 'soft90', 'completed', 2.4)] + go_ok)
l = line_for(lines, '- cgc soft90 vs Go soft90')
check('**not met**' in l and '0.60 ×' in l, 'cgc at 0.6x Go: not met, ratio given: ' + l)

# 4. A cgc run killed: not met whatever the time of the others.
lines = limit_lines([limit_row('cgc', 'soft90', 'completed', 1.0),
                     limit_row('cgc', 'soft90', 'oom-killed', 0.3, L, rnd=2)] + go_ok)
l = line_for(lines, '- cgc soft90 vs Go soft90')
check('**not met**' in l and 'completed 1/2' in l, 'a cgc run OOM-killed: not met: ' + l)

# 4b. cgc's concurrent mode (cgc-conc): its own target lines, and the
#     comparison with the default mode says worse when fewer of its runs
#     completed under the limit.
lines = limit_lines(base + go_ok + [limit_row('cgc-conc', 'soft90', 'completed', 1.0),
                                    limit_row('cgc-conc', 'default', 'oom-killed', 0.3, L)])
l = line_for(lines, '  - cgc-conc soft90 vs Go soft90')
check('met: cgc-conc' in l, 'cgc-conc soft90 at 0.25x Go: met: ' + l)
l = line_for(lines, '  - cgc-conc default vs Go soft90')
check('**not met**' in l, 'cgc-conc default OOM-killed: not met: ' + l)
check(any('**worse with every cycle concurrent**' in x for x in lines) and
      '0/1 against 1/1' in line_for(lines, '  - default:'), 'cgc-conc killed where cgc survived: worse')
lines = limit_lines(base + go_ok + [limit_row('cgc-conc', c, 'completed', 1.0) for c in ('soft90', 'default')])
check(any(x.startswith('  - survival under the limit: unchanged or better') for x in lines),
      'cgc-conc survives as cgc: unchanged')
lines = limit_lines(go_ok + [limit_row('cgc-conc', 'soft90', 'completed', 1.0)])
check(any('not compared: no configuration ran in both modes' in x for x in lines) and
      not any(x.startswith('  - survival under the limit') for x in lines),
      'cgc-conc without cgc runs: not compared')

# 5. bench: no Boehm runs -> not measured; pairs are by round.
def bench_row(b, impl, rnd, wall, gap):
    return (f"RESULT bench={b} impl={impl} wall_s={wall} cpu_s={wall} maxrss_kb=1000 gcs=1 "
            f"pause_p50_ms=1 pause_p99_ms=1 pause_max_ms=1 gap_max_ms={gap} gap_p999_ms=0.01 "
            f"gaps_1ms=1 gaps_10ms=0 gap_every=64 round={rnd} pos=1 load1=0.5\n")


d = tempfile.mkdtemp()
with open(os.path.join(d, 'latest-raw.txt'), 'w') as f:
    # round 1: cgc 10 vs boehm 40 (0.25); round 2: cgc 30 vs boehm 40 (0.75); the
    # rows of round 2 come first, so pairing by position would mix rounds.
    f.write(bench_row('churn', 'boehm', 2, 1, 40) + bench_row('churn', 'cgc', 2, 1, 30) +
            bench_row('churn', 'cgc', 1, 1, 10) + bench_row('churn', 'boehm', 1, 1, 40) +
            bench_row('churn', 'cgc', 3, 1, 12) + bench_row('churn', 'boehm', 3, 1, 60) +
            bench_row('binary-trees', 'cgc', 1, 1, 1))
rows = gd.read_bench_raw(os.path.join(d, 'latest-raw.txt'))
ratios, _, _ = gd.paired(rows, 'churn', 'boehm', 'gap_max_ms')
check(sorted(round(r, 2) for r in ratios) == [0.2, 0.25, 0.75], f'paired by round: {ratios}')
t = gd.bench_targets(rows, False)
l = next(x for x in t if x.startswith('| binary-trees wall ≤ 0.6 × Boehm'))
check('not measured' in l and 'met' not in l.replace('not measured', ''),
      'binary-trees without Boehm runs: not measured: ' + l)
l = next(x for x in t if x.startswith('| churn worst wait ≤ 0.5 × Boehm'))
check('met: cgc' in l and '0.25 ×' in l, 'churn worst gap paired median 0.25: met: ' + l)

# 5b. bench, issue 13: cgc-conc's targets from the medians; results from
#     before the concurrent mode name cgc, which is read as cgc-stw; a run
#     whose cgc-conc marked nothing concurrently measures nothing.
def conc_row(b, impl, rnd, wall, gap, p99=0.5, conc=None):
    extra = '' if conc is None else f" conc_gcs={conc} assist_ms=0.000"
    return bench_row(b, impl, rnd, wall, gap).replace(
        'pause_p99_ms=1 ', f'pause_p99_ms={p99} ').replace(' round=', extra + ' round=')


def issue13(lines_in):
    d13 = tempfile.mkdtemp()
    with open(os.path.join(d13, 'latest-raw.txt'), 'w') as f:
        f.write(''.join(lines_in))
    rows13 = gd.read_bench_raw(os.path.join(d13, 'latest-raw.txt'))
    return rows13, gd.issue13_table(rows13, {'cgc_mark': 'cgc-conc: concurrent (test)'}, False)


rows13, t = issue13([conc_row('churn', 'cgc-conc', r, 1.1, g, 0.8, 3) for r, g in ((1, 4), (2, 6), (3, 3))] +
                    [conc_row('churn', 'cgc', r, 1.0, 30) for r in (1, 2, 3)] +
                    [conc_row('churn', 'go', r, 2.0, 10) for r in (1, 2, 3)] +
                    [conc_row('churn512', 'cgc-conc', 1, 5.0, 6, 0.5, 3),
                     conc_row('churn512', 'cgc-stw', 1, 4.0, 300, 1, 0)] +
                    [conc_row('binary-trees', 'cgc-conc', 1, 1.2, 1, 1, 5),
                     conc_row('binary-trees', 'cgc', 1, 1.0, 1), conc_row('binary-trees', 'boehm', 1, 2.0, 1)])
check({r['impl'] for r in rows13} == {'cgc-conc', 'cgc-stw', 'go', 'boehm'}, 'impl cgc is read as cgc-stw')


def row13(prefix):
    return next((x for x in t if x.startswith('| ' + prefix)), '')


check(row13('churn (64 MiB live): worst gap ≤ 5 ms').endswith('| met |'), 'issue 13: median gap 4 ms ≤ 5 ms met: '
      + row13('churn (64 MiB live)'))
check(row13('churn512 (512 MiB live): worst gap ≤ 5 ms').endswith('| **not met** |'), 'issue 13: 6 ms > 5 ms not met')
check(row13("churn: worst gap ≤ 0.5 × Go's").endswith('| met |') and '0.40 × go' in row13("churn: worst gap ≤ 0.5"),
      'issue 13: 4 ms vs Go 10 ms: 0.40, met: ' + row13("churn: worst gap ≤ 0.5"))
check('not measured: no go runs' in row13("churn512: worst gap ≤ 0.5"), 'issue 13: no Go run: not measured')
check(row13('churn: stopped time per cycle p99 ≤ 1 ms').endswith('| met |'), 'issue 13: p99 0.8 ms met')
check(row13('churn: wall ≤ 1.15 × stop-the-world').endswith('| met |') and '1.10 × cgc-stw' in
      row13('churn: wall ≤ 1.15'), 'issue 13: churn wall 1.1 × stw met: ' + row13('churn: wall ≤ 1.15'))
check(row13('churn512: wall ≤ 1.15').endswith('| **not met** |'), 'issue 13: churn512 wall 1.25 × stw not met')
check(row13('binary-trees: wall ≤ 1.15').endswith('| **not met** |') and
      row13('binary-trees: wall ≤ 0.6 × Boehm').endswith('| met |'), 'issue 13: binary-trees 1.2 × stw, 0.6 × Boehm')
_, t = issue13([conc_row('churn', 'cgc-conc', 1, 1.0, 1, 0.1, 0), conc_row('churn', 'go', 1, 1.0, 10)])
check('not measured: cgc-conc marked no cycle concurrently' in row13('churn (64 MiB live)') and
      not row13('churn (64 MiB live)').endswith('| met |'),
      'issue 13: no concurrent cycle: not measured, never met: ' + row13('churn (64 MiB live)'))
_, t = issue13([conc_row('churn', 'go', 1, 1.0, 10)])
check(all('not measured' in x for x in t if x.startswith('| churn')), 'issue 13: no cgc-conc runs: not measured')

# 6. Regions: rewritten between markers only; errors on bad markers.
gd.REGIONS['selftest'] = lambda _d: ['generated line']
doc = 'before\n<!-- gen:selftest -->\nold text\n<!-- /gen:selftest -->\nafter\n'
check(gd.regenerate(doc, 'x.md') == 'before\n<!-- gen:selftest -->\ngenerated line\n<!-- /gen:selftest -->\nafter\n',
      'a region is replaced, the text around it kept')
for bad, what in (('<!-- gen:nosuch -->\n<!-- /gen:nosuch -->\n', 'unknown region'),
                  ('<!-- gen:selftest -->\nno end\n', 'missing end marker')):
    try:
        gd.regenerate(bad, 'x.md')
        check(False, what + ' is refused')
    except SystemExit as e:
        check('gen-docs' in str(e), what + ' is refused: ' + str(e))

# 7. demo: results.csv as demo/run.sh writes it (columns by name; the
#    runtime's default starred) with its key=value results.meta.
dd = tempfile.mkdtemp()
with open(os.path.join(dd, 'results.csv'), 'w') as f:
    f.write("phase,service,limit_mib,config,env,oom_kills,restarts,requests,completed,failed,req_per_s,"
            "avg_ms,p99_ms,peak_mib,runtime_peak_mib,collections,seconds,run,resident_peak_mib,"
            "soft_limit_mib,verdict,is_default\n"
            "bisect,c,30,soft90,\"\",1,1,1140,10,1130,1,1,1,30,29,9,1,a,29,27,,1\n"
            "matrix,c,34,soft90,\"\",0,0,1140,1140,0,400,10,200,33,30,90,3,b,31,30.6,,1\n"
            "matrix,c,34,off,\"CGC_MEMLIMIT=off\",1,1,1140,119,1021,236,11,111,34,31,4,3,c,33,,,0\n")
with open(os.path.join(dd, 'results.meta'), 'w') as f:
    f.write("command=bash demo/run.sh\ncommit=abc1234\ndate_start=2026-12-02T18:00:00Z\nmode=full\n")
t = gd.render_demo(dd)
check(any('`bash demo/run.sh` (mode full) at commit abc1234' in x for x in t), 'demo: provenance from results.meta')
check(any(x.startswith('| C/cgc | 34 | soft90* | 0 | 1140/1140 |') for x in t) and
      any(x.startswith('| C/cgc | 34 | off | 1 | 119/1140 |') for x in t) and
      not any(x.startswith('| C/cgc | 30 |') for x in t), 'demo: the matrix rows only, the default starred')

# 8. --check on a tree whose document differs from its results, then agrees.
root = tempfile.mkdtemp()
os.makedirs(os.path.join(root, 'scripts'))
os.makedirs(os.path.join(root, 'docs'))
os.makedirs(os.path.join(root, 'bench', 'results'))
with open(GEN) as f, open(os.path.join(root, 'scripts', 'gen-docs.py'), 'w') as g:
    g.write(f.read())
with open(os.path.join(d, 'latest-raw.txt')) as f, \
        open(os.path.join(root, 'bench', 'results', 'latest-raw.txt'), 'w') as g:
    g.write(f.read())
with open(os.path.join(root, 'docs', 'x.md'), 'w') as f:
    f.write('<!-- gen:bench-targets -->\n| a figure typed by hand |\n<!-- /gen:bench-targets -->\n')
cmd = [sys.executable, os.path.join(root, 'scripts', 'gen-docs.py')]
r = subprocess.run(cmd + ['--check'], capture_output=True, text=True)
check(r.returncode == 1 and 'typed by hand' in r.stdout, '--check: a hand-typed region fails')
subprocess.run(cmd, check=True, capture_output=True)
r = subprocess.run(cmd + ['--check'], capture_output=True, text=True)
check(r.returncode == 0, '--check: passes once regenerated')

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
