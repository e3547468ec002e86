/* toggleref.c — libgc's toggle-refs as Mono uses them: an object the
 * callback calls strong survives with nothing else holding it, one it calls
 * weak goes once unreachable (its disappearing link is cleared), one that
 * turns from strong to weak then goes, one it drops is not asked again.
 * Built against cgc's headers and Debian's, on cgc's library, and on
 * Debian's libgc itself (tests/compat_world.cmake). */
#define GC_THREADS 1
#include <gc.h>

#include "../check.h"

enum { OBJ_STRONG, OBJ_WEAK, OBJ_WEAK_HELD, OBJ_TURNS_WEAK, OBJ_DROPPED, NOBJ };

struct obj {
    int id;
    int state;   /* what the callback answers */
};

static int asked[NOBJ];
static GC_hidden_pointer links[NOBJ];
static struct obj *held;   /* OBJ_WEAK_HELD, reachable */

static GC_ToggleRefStatus GC_CALLBACK decide(void *p)
{
    struct obj *o = p;
    if (o->id >= 0 && o->id < NOBJ)
        asked[o->id]++;
    return (GC_ToggleRefStatus)o->state;
}

static uintptr_t make(uintptr_t unused)
{
    (void)unused;
    static const int initial[NOBJ] = {GC_TOGGLE_REF_STRONG, GC_TOGGLE_REF_WEAK, GC_TOGGLE_REF_WEAK,
                                      GC_TOGGLE_REF_STRONG, GC_TOGGLE_REF_DROP};
    int bad = 0;
    for (int i = 0; i < NOBJ; i++) {
        struct obj *o = GC_MALLOC(sizeof *o);
        o->id = i;
        o->state = initial[i];
        links[i] = GC_HIDE_POINTER(o);
        bad += GC_general_register_disappearing_link((void **)&links[i], o) != GC_SUCCESS;
        bad += GC_toggleref_add(o, initial[i] == GC_TOGGLE_REF_STRONG) != GC_SUCCESS;
        if (i == OBJ_WEAK_HELD)
            held = o;
    }
    return (uintptr_t)bad;
}

static void cycle(void)
{
    clear_stack();
    GC_gcollect();
}

/* Sets the state of the object behind links[i] (still there). */
static uintptr_t set_state(uintptr_t i)
{
    struct obj *o = GC_REVEAL_POINTER(links[i]);
    o->state = GC_TOGGLE_REF_WEAK;
    return 0;
}

int main(void)
{
    GC_INIT();
    CHECK(GC_get_toggleref_func() == NULL, "no callback at first");
    GC_set_toggleref_func(decide);
    CHECK(GC_get_toggleref_func() == decide, "the callback set is returned");
    CHECK(deep_call(make, 0) == 0, "registered");

    for (int i = 0; i < 4; i++)
        cycle();
    CHECK(asked[OBJ_STRONG] >= 4, "the callback is asked at every collection (%d)", asked[OBJ_STRONG]);
    CHECK(links[OBJ_STRONG] != 0, "a strong toggle-ref keeps its object");
    CHECK(links[OBJ_TURNS_WEAK] != 0, "so does one that is still strong");
    CHECK(links[OBJ_WEAK_HELD] != 0 && held->id == OBJ_WEAK_HELD, "a weak one that is reachable stays");
    CHECK(links[OBJ_WEAK] == 0, "a weak one that is unreachable goes (its link cleared)");
    CHECK(asked[OBJ_DROPPED] == 1, "a dropped one is asked once (%d)", asked[OBJ_DROPPED]);

    deep_call(set_state, OBJ_TURNS_WEAK);
    for (int i = 0; i < 4 && links[OBJ_TURNS_WEAK]; i++)
        cycle();
    CHECK(links[OBJ_TURNS_WEAK] == 0, "once the callback calls it weak, it goes");
    CHECK(links[OBJ_STRONG] != 0, "the strong one is still kept");
    CHECK(((struct obj *)GC_REVEAL_POINTER(links[OBJ_STRONG]))->id == OBJ_STRONG, "and intact");
    return check_done();
}
