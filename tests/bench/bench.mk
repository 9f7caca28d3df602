# tests/bench/bench.mk: the baseline benchmarks that `make bench` prints beside Maekin's
# own figures. Included by the top-level Makefile, which defines OUT, OBJ, OPT, CFLAGS
# and LDLIBS. Each baseline is one standalone .c file: it needs nothing from common/.
#
#   bench_echo           the bare bus floor: client -> broker -> worker and back
#   bench_libvirt_floor  define+start and destroy+undefine on libvirt's test driver
#   bench_db_floor       the rows of each create, written in batches by one bare client
#   bench_memory_floor   the memory of a process with the monitor's libraries, doing nothing
#   bench_civetweb       a bare civetweb handler answering a fixed body: the gateway's floor

# Where this fragment is included must not change the default goal: if it comes before
# the Makefile's first rule, the goal is left for that rule to set.
bench_default_goal := $(.DEFAULT_GOAL)

BENCH_PROGRAMS := bench_echo bench_libvirt_floor bench_memory_floor bench_civetweb
BENCH_BIN      := $(BENCH_PROGRAMS:%=$(OUT)/bench/%)
BENCH_OBJ      := $(BENCH_PROGRAMS:%=$(OBJ)/tests/bench/%.o)

# Built with everything else, so `make bench` (which builds `programs`) and `make check`
# (the sanitizer build) both compile them.
programs: $(BENCH_BIN)

bench-programs: $(BENCH_BIN)

# Static pattern rules: they take precedence over the Makefile's generic $(OBJ)/%.o
# rule, so the baselines do not wait for the generated protobuf headers.
$(OBJ)/tests/bench/bench_libvirt_floor.o: $(GEN_H)
$(OBJ)/tests/bench/bench_libvirt_floor.o: INC := -Iservices/agent
$(BENCH_OBJ): $(OBJ)/tests/bench/%.o: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/bench/bench_echo $(OUT)/bench/bench_memory_floor: $(OUT)/bench/%: $(OBJ)/tests/bench/%.o
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS)

$(OUT)/bench/bench_civetweb: $(OBJ)/tests/bench/bench_civetweb.o
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -o $@ $^ -lcivetweb

# The floor can use the agent's own domain XML (-a), so it links the agent's class.
$(OUT)/bench/bench_libvirt_floor: $(OBJ)/tests/bench/bench_libvirt_floor.o \
		$(OBJ)/services/agent/agent_domxml.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS)

# bench_tasks and bench_reads drive Maekin itself, through the client library.
programs: $(OUT)/bench/bench_tasks $(OUT)/bench/bench_reads
$(OUT)/bench/bench_tasks $(OUT)/bench/bench_reads: $(OUT)/bench/%: $(OBJ)/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS)

# The database floor writes the controller's rows with the controller's own SQL.
programs: $(OUT)/bench/bench_db_floor
$(OBJ)/tests/bench/bench_db_floor.o: INC := -Iservices/controller
$(OUT)/bench/bench_db_floor: $(OBJ)/tests/bench/bench_db_floor.o \
		$(patsubst %.c,$(OBJ)/%.o,$(wildcard services/controller/controller_store*.c)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS)

.PHONY: bench-programs

.DEFAULT_GOAL := $(bench_default_goal)
