/* The boot block a cVM's entry point receives (specs/hostcall-abi.md §2). Freestanding. */
#ifndef CVM_ABI_BOOT_H
#define CVM_ABI_BOOT_H

#define CVM_BOOT_MAGIC 0x31544f4f424d5643UL /* "CVMBOOT1", little-endian */
#define CVM_BOOT_VERSION 1

/* Auxiliary vector types: a subset of Linux's, same numbers. */
#define CVM_AT_NULL 0
#define CVM_AT_PAGESZ 6
#define CVM_AT_BASE 7
#define CVM_AT_ENTRY 9
#define CVM_AT_RANDOM 25

/* long hostcall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) */
typedef long (*cvm_hostcall_fn)(long, long, long, long, long, long, long);

struct cvm_boot {
    unsigned long magic;   /* CVM_BOOT_MAGIC */
    unsigned long version; /* CVM_BOOT_VERSION */
    unsigned long cvm_id;  /* 1-based, deployment order */
    const char *name;      /* the cVM's name, NUL-terminated */
    unsigned long window_base;
    unsigned long window_size;
    unsigned long heap_base; /* page-aligned, zero-filled, lazily backed */
    unsigned long heap_size;
    cvm_hostcall_fn hostcall;
    long argc;
    char **argv;         /* argc entries, then NULL */
    char **envp;         /* NULL-terminated */
    unsigned long *auxv; /* (type, value) pairs, ending with CVM_AT_NULL */
};

#endif
