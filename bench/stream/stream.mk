# What bench/bench-stream.sh runs: the cVM runtime of both ends of a stream (a baremetal
# runtime) and the native peer, built for the host, that makes the same exchanges through a
# pipe and a unix socket.
STREAM_CVM := $(BUILD)/bench/stream/libstream-cvm.so
STREAM_PEER := $(BUILD)/bench/stream/stream-peer
$(eval $(call guest_so,$(STREAM_CVM),bench/stream/stream-cvm.c))

$(STREAM_PEER): bench/stream/stream-peer.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(SAN_FLAGS) -pthread -o $@ $< $(LDFLAGS)

.PHONY: stream-bench
stream-bench: $(BUILD)/cvmctl $(STREAM_CVM) $(STREAM_PEER)
