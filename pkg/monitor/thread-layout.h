/* Offsets in struct cvm_thread that the world-switch assembly reads through %gs, which holds
 * the running cVM thread on every cVM thread (internal.h checks them). Assembler-safe. */
#ifndef CVM_MONITOR_THREAD_LAYOUT_H
#define CVM_MONITOR_THREAD_LAYOUT_H

#define CVM_THREAD_MON_SP 0    /* uintptr_t: the monitor stack of the current guest call */
#define CVM_THREAD_SELF 8      /* struct cvm_thread *: the thread itself */
#define CVM_THREAD_HOST_FS 16  /* uintptr_t: the monitor's thread pointer */
#define CVM_THREAD_FS_GUEST 24 /* bool: %fs may hold the guest's thread pointer */

#endif
