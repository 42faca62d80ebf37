# The LibOS runtime: $(LIBOS_SO), a cVM serving the Linux syscalls of the application cVMs
# whose callback_out it is (specs/libos.md).
LIBOS_SO := $(BUILD)/runtimes/libos/libos.so
