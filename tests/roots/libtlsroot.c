/* A library the TLS test loads with dlopen: its thread-local slot lives in
 * a block glibc allocates with malloc on a thread's first use of it. */
static __thread void *tlsroot_slot;

void tlsroot_set(void *p) { tlsroot_slot = p; }
void *tlsroot_get(void) { return tlsroot_slot; }
