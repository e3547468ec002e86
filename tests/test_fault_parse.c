/* test_fault_parse: the CGC_FAULTS form and the fault generator (fault.c).
 * "<percent>/<seed>": percent 0-100, seed any uint64, digits only; a value
 * of any other shape is refused (in a debug build that is the one fatal
 * line at start, config.c). The generator never fails a call at 0%,
 * always at 100%, about half at 50%, gives the same sequence for the same
 * seed, and counts what it injected per site. */
#include "check.h"
#include "fault.h"

int main(void)
{
    static const struct {
        const char *s;
        int ok;
        unsigned pct;
        uint64_t seed;
    } cases[] = {
        {"0/0", 1, 0, 0},
        {"5/42", 1, 5, 42},
        {"100/18446744073709551615", 1, 100, UINT64_MAX},
        {"007/1", 1, 7, 1},
        {"101/1", 0, 0, 0},
        {"1000/1", 0, 0, 0},
        {"5", 0, 0, 0},
        {"5/", 0, 0, 0},
        {"/5", 0, 0, 0},
        {"5/x", 0, 0, 0},
        {"-1/2", 0, 0, 0},
        {"5/1/", 0, 0, 0},
        {" 5/1", 0, 0, 0},
        {"5/1 ", 0, 0, 0},
        {"5/18446744073709551616", 0, 0, 0},
        {"", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned pct = 999;
        uint64_t seed = 999;
        int rc = cgc__fault_parse(cases[i].s, &pct, &seed);
        if (cases[i].ok)
            CHECK(rc == 0 && pct == cases[i].pct && seed == cases[i].seed, "\"%s\": rc %d, %u/%llu",
                  cases[i].s, rc, pct, (unsigned long long)seed);
        else
            CHECK(rc == -1 && pct == 999 && seed == 999, "\"%s\" accepted or changed the outputs",
                  cases[i].s);
    }

    int fails = 0;
    cgc__fault_set(0, 1);
    for (int i = 0; i < 10000; i++)
        fails += cgc__fault(CGC_FAULT_MADVISE);
    CHECK(fails == 0, "0%%: %d faults", fails);
    cgc__fault_set(100, 1);
    fails = 0;
    for (int i = 0; i < 1000; i++)
        fails += cgc__fault(CGC_FAULT_CGROUP);
    CHECK(fails == 1000, "100%%: %d of 1000", fails);
    CHECK(cgc__fault_count(CGC_FAULT_CGROUP) == 1000 && cgc__fault_count(CGC_FAULT_MADVISE) == 0,
          "counts %llu / %llu", (unsigned long long)cgc__fault_count(CGC_FAULT_CGROUP),
          (unsigned long long)cgc__fault_count(CGC_FAULT_MADVISE));
    char a[4000], b[4000];
    cgc__fault_set(50, 12345);
    fails = 0;
    for (int i = 0; i < 4000; i++)
        fails += a[i] = (char)cgc__fault(CGC_FAULT_THREAD);
    CHECK(fails > 1600 && fails < 2400, "50%%: %d of 4000", fails);
    cgc__fault_set(50, 12345);
    for (int i = 0; i < 4000; i++)
        b[i] = (char)cgc__fault(CGC_FAULT_THREAD);
    CHECK(memcmp(a, b, sizeof a) == 0, "the same seed gave another sequence");
    cgc__fault_set(0, 0);
    return check_done();
}
