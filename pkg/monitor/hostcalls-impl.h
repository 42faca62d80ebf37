/* Prototypes of the monitor's hostcall handlers, one per entry of abi/hostcalls.h. */
#ifndef CVM_MONITOR_HOSTCALLS_IMPL_H
#define CVM_MONITOR_HOSTCALLS_IMPL_H

#include "abi/hostcalls.h"

struct cvm_thread;

#define CVM_HC_PROTO(nr, NAME, name, argc, args, doc)                                              \
    long cvm_hc_##name(struct cvm_thread *t, const long a[6]);
CVM_HOSTCALLS(CVM_HC_PROTO)
#undef CVM_HC_PROTO

#endif
