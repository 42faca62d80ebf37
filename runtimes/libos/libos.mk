# The LibOS runtime: $(LIBOS_SO), a cVM serving the Linux syscalls of the application cVMs
# whose callback_out it is (specs/libos.md).
LIBOS_SO := $(BUILD)/runtimes/libos/libos.so
LIBOS_SRC := $(wildcard runtimes/libos/*.c)
LIBOS_OBJ := $(patsubst %.c,$(BUILD)/guest/%.o,$(LIBOS_SRC))
$(eval $(call guest_so,$(LIBOS_SO),$(LIBOS_SRC)))
$(LIBOS_OBJ): GUEST_CFLAGS += -Iruntimes/libos
images: $(LIBOS_SO)

# Its file system and memory are freestanding; their unit tests and the fuzz target build them
# for the host.
LIBOS_HOST_SRC := runtimes/libos/ramfs.c runtimes/libos/mm.c
$(BUILD)/tests/unit/test-ramfs $(BUILD)/tests/unit/test-libos-mm $(BUILD)/tests/fuzz/fuzz-ramfs: \
    $(call objs,$(LIBOS_HOST_SRC))
$(BUILD)/obj/tests/unit/test-ramfs.c.o $(BUILD)/obj/tests/unit/test-libos-mm.c.o \
$(BUILD)/obj/tests/fuzz/fuzz-ramfs.c.o: ALL_CFLAGS += -Iruntimes/libos
