/* deadline.h — the daemon's connection bounds (server.c) and the
 * whole-request deadline that makes slow clients give their connection
 * back (deadline.c). Internal to cgc_http. */
#ifndef CGC_HTTP_DEADLINE_H
#define CGC_HTTP_DEADLINE_H

#include <microhttpd.h>

#define CGC__HTTP_MAX_CONNECTIONS  128 /* simultaneous connections */
#define CGC__HTTP_REQUEST_DEADLINE 5   /* seconds to complete one request */

int  cgc__deadline_start(void);
void cgc__deadline_stop(void);
/* pthread_atfork handlers, called by server.c's (state lock held). */
void cgc__deadline_fork_prepare(void);
void cgc__deadline_fork_parent(void);
void cgc__deadline_fork_child(void);
/* MHD_OPTION_NOTIFY_CONNECTION and MHD_OPTION_NOTIFY_COMPLETED callbacks. */
void cgc__deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);
void cgc__deadline_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                             enum MHD_RequestTerminationCode toe);

#endif
