/* World switch between the monitor and cVM code on x86-64 (specs/hostcall-abi.md §1).
 * Monitor C code only ever runs on monitor stacks: entering a guest saves the monitor's
 * stack pointer in the cVM thread, and the hostcall entry switches back to it. The thread is
 * reached through %gs (thread-layout.h), never through TLS: %fs may hold a Linux program's
 * thread pointer (hostcall-abi.md §7). */
#include "../../thread-layout.h"

    .text

/* long cvm_arch_guest_call(uintptr_t fn, uintptr_t sp, const long args[7])
 * Calls fn(args[0..6]) on the guest stack sp (args[6] passed on the stack, as the SysV ABI
 * wants for a seventh argument) and returns its result. The monitor's callee-saved
 * registers live on the monitor stack, so a guest that clobbers its own cannot hurt them. */
    .globl cvm_arch_guest_call
    .type cvm_arch_guest_call, @function
cvm_arch_guest_call:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp                       /* 16-byte aligned from here */
    movq %rsp, %gs:CVM_THREAD_MON_SP
    movq %rdi, %r11
    movq %rdx, %rax
    andq $-16, %rsi
    movq %rsi, %rsp                     /* now on the guest stack */
    subq $8, %rsp
    pushq 48(%rax)                      /* seventh argument; rsp is 16-byte aligned again */
    movq 0(%rax), %rdi
    movq 8(%rax), %rsi
    movq 16(%rax), %rdx
    movq 24(%rax), %rcx
    movq 32(%rax), %r8
    movq 40(%rax), %r9
    /* Hand the guest no monitor addresses. */
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    xorl %r10d, %r10d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    callq *%r11
    cld
    movq %gs:CVM_THREAD_MON_SP, %rsp    /* back on the monitor stack */
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    retq
    .cfi_endproc
    .size cvm_arch_guest_call, .-cvm_arch_guest_call

/* long cvm_arch_hostcall_entry(long nr, long a0, ..., long a5)
 * The hostcall entry handed to guests in the boot block. Called on a guest stack with a5 at
 * 8(%rsp); runs the dispatcher on the monitor stack and returns to the guest. */
    .globl cvm_arch_hostcall_entry
    .type cvm_arch_hostcall_entry, @function
cvm_arch_hostcall_entry:
    .cfi_startproc
    /* Serving a Linux program's syscall, %fs may still be the program's: the dispatcher is C
     * code and needs the monitor's. The arguments survive in registers the syscall keeps. */
    cmpb $0, %gs:CVM_THREAD_FS_GUEST
    je 1f
    movq %rdi, %r10
    movq %rsi, %r11
    pushq %rcx
    pushq %r11
    movl $0x1002, %edi                  /* ARCH_SET_FS */
    movq %gs:CVM_THREAD_HOST_FS, %rsi
    movl $158, %eax                     /* arch_prctl */
    syscall
    movb $0, %gs:CVM_THREAD_FS_GUEST
    popq %rsi
    popq %rcx
    movq %r10, %rdi
1:  movq %rsp, %r11
    movq %gs:CVM_THREAD_MON_SP, %rsp
    pushq %r11                          /* the guest stack pointer */
    pushq 8(%r11)                       /* a5, the dispatcher's seventh argument */
    cld
    callq cvm_hostcall_dispatch@PLT
    addq $8, %rsp
    popq %rsp                           /* back on the guest stack */
    retq
    .cfi_endproc
    .globl cvm_arch_hostcall_entry_end
cvm_arch_hostcall_entry_end:
    .size cvm_arch_hostcall_entry, .-cvm_arch_hostcall_entry


/* Linux programs (specs/hostcall-abi.md §7). Their syscalls are trapped with Syscall User
 * Dispatch: while a thread's selector byte says BLOCK, every syscall instruction outside
 * [cvm_arch_sud_exempt, cvm_arch_sud_exempt_end) raises SIGSYS. The monitor's signal handlers
 * return to trapped code through the restorer below, the one syscall made with BLOCK set. */
    .globl cvm_arch_sud_exempt
    .globl cvm_arch_sud_exempt_end
    .globl cvm_arch_sigreturn
    .type cvm_arch_sigreturn, @function
cvm_arch_sud_exempt:
cvm_arch_sigreturn:
    movl $15, %eax                      /* rt_sigreturn */
    syscall
    ud2
    .size cvm_arch_sigreturn, .-cvm_arch_sigreturn
cvm_arch_sud_exempt_end:

/* The entry the kernel calls for the monitor's signals. The C handler (rdi, rsi, rdx as
 * given) returns what the interrupted code needs back: rdx 0 for nothing, else the address of
 * the thread's selector (4-byte aligned) with bit 0 set when %fs must become rax again and
 * bit 1 the selector's value. Both happen here, after the last C code, because C code may
 * read the monitor's TLS through %fs. */
    .globl cvm_arch_signal_entry
    .type cvm_arch_signal_entry, @function
cvm_arch_signal_entry:
    .cfi_startproc
    subq $8, %rsp                       /* the kernel enters with rsp = 8 mod 16 */
    callq cvm_signal_dispatch@PLT
    addq $8, %rsp
    testq %rdx, %rdx
    jz 1f
    movq %rdx, %r10                     /* r10 survives the syscall; rcx and r11 do not */
    testq $1, %r10
    jz 2f
    movq %rax, %rsi
    movl $0x1002, %edi                  /* ARCH_SET_FS */
    movl $158, %eax                     /* arch_prctl: still allowed, the selector is ALLOW */
    syscall
2:  movq %r10, %rax
    shrq $1, %rax
    andl $1, %eax
    andq $-4, %r10
    movb %al, (%r10)                    /* the selector as it was */
1:  retq                                /* into the restorer */
    .cfi_endproc
    .size cvm_arch_signal_entry, .-cvm_arch_signal_entry

/* _Noreturn void cvm_arch_linux_enter(const unsigned long regs[17], unsigned long fs,
 *                                     volatile unsigned char *selector)
 * Starts a Linux thread: %fs = fs, the selector armed, then every register from regs (the
 * order of ucontext's gregs: r8-r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip), and a jump
 * to regs[16]. r11 is not restored: after a syscall it holds no value a program may use.
 * The flags are those of the monitor: after a syscall a program may assume none either. */
    .globl cvm_arch_linux_enter
    .type cvm_arch_linux_enter, @function
cvm_arch_linux_enter:
    movq %rdi, %r12                     /* r12 and r10 survive the syscall; rcx and r11 do not */
    movq %rdx, %r10
    movl $0x1002, %edi
    movl $158, %eax
    syscall                             /* arch_prctl(ARCH_SET_FS, fs): rsi already holds fs */
    movb $1, (%r10)
    movq %r12, %r11
    movq 0(%r11), %r8
    movq 8(%r11), %r9
    movq 16(%r11), %r10
    movq 32(%r11), %r12
    movq 40(%r11), %r13
    movq 48(%r11), %r14
    movq 56(%r11), %r15
    movq 64(%r11), %rdi
    movq 72(%r11), %rsi
    movq 80(%r11), %rbp
    movq 88(%r11), %rbx
    movq 96(%r11), %rdx
    movq 104(%r11), %rax
    movq 112(%r11), %rcx
    movq 120(%r11), %rsp
    jmpq *128(%r11)
    .size cvm_arch_linux_enter, .-cvm_arch_linux_enter

/* long cvm_arch_sigaltstack_from(const stack_t *ss, uintptr_t sp)
 * sigaltstack(ss, NULL) made with %rsp = sp, outside the signal stack: Linux refuses to change
 * the signal stack while the caller runs on it, as a handler serving a trapped syscall does.
 * The syscall touches no memory at sp; a signal delivered on its return finds ss in place. */
    .globl cvm_arch_sigaltstack_from
    .type cvm_arch_sigaltstack_from, @function
cvm_arch_sigaltstack_from:
    movq %rsp, %r8                      /* r8 survives the syscall */
    movq %rsi, %rsp
    xorl %esi, %esi
    movl $131, %eax                     /* sigaltstack */
    syscall
    movq %r8, %rsp
    retq
    .size cvm_arch_sigaltstack_from, .-cvm_arch_sigaltstack_from

    .section .note.GNU-stack,"",@progbits
