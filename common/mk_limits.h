/*  mk_limits: every size Maekin accepts at an edge, said once. Each program checks what
    arrives against these before it trusts it, and proto/BUS.md names them. */
#ifndef MK_LIMITS_H_INCLUDED
#define MK_LIMITS_H_INCLUDED

//  A limit as text, for messages that name it.
#define MK_STRINGIFY_(x) #x
#define MK_STRINGIFY(x)  MK_STRINGIFY_ (x)

//  The largest message any bus socket takes (ZMQ_MAXMSGSIZE, set by mk_sock on every
//  socket): a bigger one is dropped by ZeroMQ, which closes the sender's connection.
//  The largest legitimate message is a host's full report of MK_REPORT_DOMAINS_MAX
//  domains (about 130 bytes each), or a page of MK_LIST_MAX tasks with long errors.
#define MK_MSG_MAX (8 * 1024 * 1024)

//  Items in one page of a list: the default when a request gives none, and the most.
#define MK_LIST_DEFAULT 100
#define MK_LIST_MAX     1000

//  Tasks in one task_batch, both ways: enough to pay one round trip for many tasks,
//  few enough that an agent has several batches in hand and works on the next while the
//  controller commits the answers to the last (measured: 16 to 128 do about as well
//  with 256 creates in flight; 512 in one batch leaves both idle in turn and is a third
//  slower). An agent refuses a larger batch.
#define MK_BATCH_MAX 64

//  Domains in one host report; a host with more is refused with a clear error.
#define MK_REPORT_DOMAINS_MAX 20000

//  What a template may ask of a host: vCPUs, and memory in MiB.
#define MK_VCPUS_MAX     256
#define MK_MEMORY_MIN_MB 16
#define MK_MEMORY_MAX_MB 4194304

//  A request id: 1 to this many printable ASCII bytes, no blanks.
#define MK_REQUEST_ID_MAX 64

//  The bus's allow-list (the controller's, pushed whole to the broker in one message):
//  keys in it, hosts of one node key (an agent of many simulated hosts), and hosts over
//  the whole list (at most 2 MiB of names, well inside MK_MSG_MAX).
#define MK_BUS_KEYS_MAX            4096
#define MK_BUS_KEY_HOSTS_MAX       1024
#define MK_BUS_KEY_HOSTS_TOTAL_MAX 32768

//  Join tokens waiting to be used (the enrolment door's, made by the administrator).
#define MK_JOIN_TOKENS_MAX 10000

#endif
