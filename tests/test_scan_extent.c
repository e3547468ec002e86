/* test_scan_extent — the mark scans every word of an object, whatever its
 * size and whatever path scans it: an object referenced only from the last
 * word of its holder, or from any word position modulo 4 (the lanes of the
 * four-word filter, findptr.c), stays alive. Holders of every small size
 * class (their size travels packed in the mark-stack entry, mark.c) and
 * large holders up to 200 KiB (scanned in 64 KiB chunks, in batches), with
 * the reference in the last word of the holder's usable size (cgc_size),
 * and at positions 0-7 from the end. Each child carries a canary; after
 * collections that have nothing else to keep them, every child must still
 * be allocated (cgc_base finds it) with its canary intact. */
#include "check.h"
#include "internal.h"

#define CANARY 0x5ca1ab1e0ddba11ull

typedef struct child {
    uint64_t canary, id;
} child;

typedef struct holder {
    uintptr_t *words;   /* the holder object */
    size_t nwords;
    size_t at;          /* the word holding the child's address */
    uint64_t id;
} holder;

int main(void)
{
    enum { MAXH = 4096 };
    static holder hs[MAXH];
    static uintptr_t hidden[MAXH];
    int n = 0;
    uint64_t id = 1;
    /* Every small size class, and large holders. */
    size_t sizes[CGC_MAX_CLASSES + 8];
    int nsizes = 0;
    for (int c = 0; c < cgc__nclasses; c++)
        sizes[nsizes++] = cgc__classes[c].size;
    const size_t large[] = {CGC_MAX_SMALL + 8, 65536 + 8, 131072 - 8, 200 * 1024};
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++)
        sizes[nsizes++] = large[i];
    for (int k = 0; k < nsizes && n < MAXH - 8; k++) {
        for (size_t back = 1; back <= 8 && n < MAXH; back++) {
            uintptr_t *w = cgc_malloc(sizes[k]);
            size_t nw = cgc_size(w) / sizeof(uintptr_t);
            if (back > nw)
                continue;
            child *c = cgc_malloc(sizeof *c);
            c->canary = CANARY;
            c->id = id;
            hs[n] = (holder){w, nw, nw - back, id};
            w[nw - back] = (uintptr_t)c;
            hidden[n] = hide(c);  /* the holder's word must be the only reference */
            n++;
            id++;
        }
    }
    CHECK(n > 100, "%d holders", n);
    /* Garbage in between, so collections have something to free and the
     * children's slots something to be reused by. */
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 20000; i++)
            (void)cgc_malloc(sizeof(child));
        cgc_collect();
    }
    int lost = 0, corrupt = 0;
    for (int i = 0; i < n; i++) {
        child *c = unhide(hidden[i]);
        if (cgc_base(c) != c) {
            lost++;
            continue;
        }
        if (c->canary != CANARY || c->id != hs[i].id || hs[i].words[hs[i].at] != (uintptr_t)c)
            corrupt++;
    }
    CHECK(lost == 0, "%d of %d children referenced only from a holder's word were freed", lost, n);
    CHECK(corrupt == 0, "%d of %d children overwritten", corrupt, n);
    return check_done();
}
