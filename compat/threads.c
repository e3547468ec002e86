/* threads.c — libgc's thread API on cgc's registered threads.
 *
 * cgc lets any thread register at any time and registers a thread that
 * allocates without having registered, so GC_allow_register_threads has
 * nothing to allow. GC_do_blocking is cgc_do_blocking: a stop does not
 * signal the thread, it scans the stack the thread left above the call.
 * GC_call_with_gc_active inside it leaves that state for the duration of
 * the call (cgc__call_active), so the function may allocate and hold heap
 * pointers on its stack; elsewhere it is a plain call.
 */
#include "compat.h"

#include <dlfcn.h>
#include <signal.h>

struct compat_stack_base {
    void *mem_base;
};

GCAPI int GC_get_stack_base(struct compat_stack_base *sb)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return GC_UNIMPLEMENTED_CODE;
    int ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
    pthread_attr_destroy(&attr);
    if (!ok)
        return GC_UNIMPLEMENTED_CODE;
    sb->mem_base = (char *)addr + size;   /* the stack grows down: its "bottom" is the top address */
    return GC_SUCCESS_CODE;
}

GCAPI void *GC_call_with_stack_base(void *(*fn)(struct compat_stack_base *, void *), void *arg)
{
    struct compat_stack_base sb;
    sb.mem_base = __builtin_frame_address(0);
    return fn(&sb, arg);
}

GCAPI void GC_allow_register_threads(void)
{
    compat_init();
}

GCAPI int GC_thread_is_registered(void)
{
    return cgc__self != NULL;
}

GCAPI int GC_register_my_thread(const struct compat_stack_base *sb)
{
    (void)sb;   /* cgc finds the stack of the thread itself */
    if (cgc__self)
        return GC_DUPLICATE_CODE;
    return cgc_register_thread() == 0 ? GC_SUCCESS_CODE : GC_NO_MEMORY_CODE;
}

GCAPI int GC_unregister_my_thread(void)
{
    cgc_unregister_thread();
    return GC_SUCCESS_CODE;
}

GCAPI void *GC_get_my_stackbottom(struct compat_stack_base *sb)
{
    if (GC_get_stack_base(sb) != GC_SUCCESS_CODE)
        sb->mem_base = NULL;
    return cgc__self;   /* the handle GC_set_stackbottom takes (ignored there) */
}

GCAPI void *GC_do_blocking(void *(*fn)(void *), void *arg)
{
    return cgc_do_blocking(fn, arg);
}

GCAPI void *GC_call_with_gc_active(void *(*fn)(void *), void *arg)
{
    return cgc__call_active(fn, arg);
}

GCAPI int GC_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    compat_sync();
    return cgc_pthread_create(t, attr, fn, arg);
}

GCAPI int GC_pthread_join(pthread_t t, void **ret) { return pthread_join(t, ret); }
GCAPI int GC_pthread_detach(pthread_t t) { return pthread_detach(t); }
GCAPI int GC_pthread_cancel(pthread_t t) { return pthread_cancel(t); }

/* cgc's thread-exit destructor unregisters the thread. */
GCAPI void GC_pthread_exit(void *ret) { pthread_exit(ret); }

/* Never lets a thread block cgc's stop and restart signals. */
GCAPI int GC_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t copy;
    if (set && (how == SIG_BLOCK || how == SIG_SETMASK)) {
        int s, r;
        cgc__thread_signals(&s, &r);
        copy = *set;
        if (s)
            sigdelset(&copy, s);
        if (r)
            sigdelset(&copy, r);
        set = &copy;
    }
    return pthread_sigmask(how, set, old);
}

GCAPI void *GC_dlopen(const char *path, int mode)
{
    return dlopen(path, mode);
}

GCAPI int GC_get_suspend_signal(void)
{
    int s, r;
    cgc__thread_signals(&s, &r);
    return s ? s : -1;
}

GCAPI int GC_get_thr_restart_signal(void)
{
    int s, r;
    cgc__thread_signals(&s, &r);
    return r ? r : -1;
}

/* libgc's fork hooks for programs that fork with its handlers turned off:
 * cgc's own pthread_atfork handlers always run, so these have nothing left
 * to do. */
GCAPI void GC_atfork_prepare(void) {}
GCAPI void GC_atfork_parent(void) {}
GCAPI void GC_atfork_child(void) {}
