/* A library the roots tests load and unload while collections run. Its data
 * holds the only reference to an object; its 4 MiB of bss make one scan of
 * it long enough (about a millisecond) for an unload by another thread to
 * land in the middle of it. Its thread-local block (dynamic TLS, malloc'd
 * on a thread's first use) is left behind in the thread's DTV when it is
 * unloaded, until that thread next uses dynamic TLS: the collector reads
 * such stale entries (tls.c). */
void *dlroot_slot;
char dlroot_ballast[4 << 20];
static __thread void *dlroot_tls[64];

void dlroot_tls_set(void *p) { dlroot_tls[63] = p; }
void *dlroot_tls_get(void) { return dlroot_tls[63]; }

void dlroot_set(void *p) { dlroot_slot = p; }
void *dlroot_get(void) { return dlroot_slot; }
