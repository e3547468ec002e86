/* A library the roots tests load and unload while collections run. Its data
 * holds the only reference to an object; its 4 MiB of bss make one scan of
 * it long enough (about a millisecond) for an unload by another thread to
 * land in the middle of it. */
void *dlroot_slot;
char dlroot_ballast[4 << 20];

void dlroot_set(void *p) { dlroot_slot = p; }
void *dlroot_get(void) { return dlroot_slot; }
