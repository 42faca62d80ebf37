/* The LibOS's /cap devices (specs/libos.md §8) as a program running on it sees them: the ioctl
 * requests of /cap/cf1, /cap/cf2 (CAP_Files) and /cap/ch1../cap/ch4 (streams) and their
 * argument. Freestanding: it needs no libc, kernel or LibOS header. */
#ifndef CVM_CAP_H
#define CVM_CAP_H

/* Rights of a CAP_File (specs/hostcall-abi.md §8); PROBE and CONNECT report a handle's rights,
 * which may also hold the stream and owner bits. The values are the monitor's. */
#ifndef CVM_CAP_READ
#define CVM_CAP_READ 1L
#define CVM_CAP_WRITE 2L
#define CVM_CAP_CALL 4L
#define CVM_CAP_STREAM 8L
#define CVM_CAP_OWNER 16L
#endif

/* The argument of every request but REVOKE. Which fields are read (in) and written (out):
 *   ADVERTISE  in: name, addr, size, rights (CVM_CAP_READ, CVM_CAP_WRITE or both)
 *   PROBE      in: name; out: size, rights
 *   POST       in: name, addr, size
 *   CONNECT    in: name; out: size (0), rights */
struct cvm_cap_ioc {
    const char *name;     /* 1-255 bytes and a NUL */
    void *addr;           /* the program's buffer */
    unsigned long size;   /* its bytes: 1 to 1 GiB */
    unsigned long rights; /* CVM_CAP_* */
};

/* Linux's _IOC encoding, type 'C' (0x43): direction << 30 | size << 16 | 'C' << 8 | number,
 * the size being sizeof(struct cvm_cap_ioc), 32 bytes on x86-64. */
#define CVM_CAP_IOC_ADVERTISE 0x40204301u /* _IOW('C', 1, struct cvm_cap_ioc), CAP_Files */
#define CVM_CAP_IOC_PROBE 0xc0204302u     /* _IOWR('C', 2, struct cvm_cap_ioc), CAP_Files */
#define CVM_CAP_IOC_REVOKE 0x00004303u    /* _IO('C', 3), both */
#define CVM_CAP_IOC_POST 0x40204304u      /* _IOW('C', 4, struct cvm_cap_ioc), streams */
#define CVM_CAP_IOC_CONNECT 0xc0204305u   /* _IOWR('C', 5, struct cvm_cap_ioc), streams */

#endif
