/* World switch between the monitor and cVM code on x86-64 (specs/hostcall-abi.md §1).
 * Monitor C code only ever runs on monitor stacks: entering a guest saves the monitor's
 * stack pointer in cvm_tls_mon_sp, and the hostcall entry switches back to it. */

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
    movq cvm_tls_mon_sp@gottpoff(%rip), %rax
    movq %rsp, %fs:(%rax)
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
    movq cvm_tls_mon_sp@gottpoff(%rip), %rcx
    movq %fs:(%rcx), %rsp               /* back on the monitor stack */
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
    movq %rsp, %r11
    movq cvm_tls_mon_sp@gottpoff(%rip), %rax
    movq %fs:(%rax), %rsp
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

    .section .note.GNU-stack,"",@progbits
