# session14-aggcat.py PERF_DATA TID: the samples of one thread of a
# `perf record -g` run, by category (docs/runs/session14.txt, part 3):
# write faults (with a TLB flush or not), anonymous faults, system calls,
# marking, assist bookkeeping, the rest.
import sys, collections, subprocess
f, tid = sys.argv[1], sys.argv[2]
out = subprocess.run(['perf','script','-i',f,'-F','tid,ip,sym'],capture_output=True,text=True).stdout
cat = collections.Counter(); tot=0
assist={'cgc__mark_assist','take','give_back','cgc__assist','assist_pay','unpop','publish_scan','pop_batch','work_begin','work_end','flush_pipeline'}
for s in out.split('\n\n'):
    lines=[l.strip() for l in s.strip().split('\n') if l.strip()]
    if not lines or lines[0].split()[0]!=tid: continue
    tot+=1
    names=[(l.split(None,1)+['?'])[1].split()[0] for l in lines[1:]]
    top=names[0] if names else '?'
    if 'exc_page_fault' in names and ('do_wp_page' in names or not 'do_anonymous_page' in names):
        k='wpfault' + ('+ipi' if 'flush_tlb_mm_range' in names else '')
    elif 'exc_page_fault' in names: k='anonfault'
    elif any(n.startswith('__x64_sys') for n in names): k='syscall'
    elif top in ('drain_until','scan_range','scan_chunk','mark_loop'): k='marking'
    elif top in assist: k='assist-bookkeeping'
    else: k='rest'
    cat[k]+=1
print(tot, dict(cat))
