/* A shared library whose data segment holds the only pointer to an object:
 * cgc must scan the writable segments of loaded libraries. */
void *holder_slot;

void holder_set(void *p) { holder_slot = p; }
void *holder_get(void) { return holder_slot; }
