#!/bin/sh
# The code that runs while a Linux program's %fs is in place (specs/hostcall-abi.md §7: a
# trapped syscall served without switching it) must not reach the monitor's TLS: no %fs-relative
# access, no stack-protector canary, no sanitizer runtime. Checked in the objects as built, so
# a compiler's or a build flag's change that breaks the rule fails here.
. "$(dirname "$0")/lib.sh"

obj=$BUILD/obj/pkg/monitor
# body OBJECT FUNCTION: the disassembly of FUNCTION (empty if the compiler inlined it away).
body() {
    objdump -d --no-show-raw-insn "$obj/$1.c.o" |
        awk -v f="<$2>:" '$2 == f { on = 1; next } on && NF == 0 { exit } on { print }'
}
# clean OBJECT FUNCTION REQUIRED
clean() {
    body "$1" "$2" >"$TMP/body"
    if [ ! -s "$TMP/body" ] && [ "$3" = optional ]; then
        check "$2 is inlined: its callers are checked" true
        return
    fi
    check "$2 is in $1.o" [ -s "$TMP/body" ]
    check "$2 reaches no TLS, canary or sanitizer" \
        sh -c '! grep -Eq "%fs:|__stack_chk|__asan|__ubsan|__tls_get_addr" "$1"' sh "$TMP/body"
}
clean signals cvm_signal_dispatch required
clean signals cvm_thread_fs_host required
clean signals signal_enter required
clean signals signal_resume optional
clean signals thread_at optional
clean signals get_fs optional
clean signals set_fs optional
clean linux cvm_linux_syscall required
clean hostcall cvm_hostcall_forward required
clean hostcall cvm_thread_should_stop required
clean layout cvm_slot_acquire required
clean layout cvm_slot_release required
clean layout cvm_slot_top required
clean layout slot_open optional
clean layout wake_all optional
clean run cvm_guest_call required
finish
