/* Private: kernel tuning. With REPMLP_CONTEXT_TUNE, a session times the rows of
 * rm_gemm_kernel_variants that can run each of its GEMM/conv shapes (less those pruned by the
 * shapes measured before) and records with the fastest; the context keeps the winners (and a deny
 * list of rows that gave wrong output) and saves/loads them (repmlp_context_save_cache). */
#ifndef RM_TUNE_H
#define RM_TUNE_H

#include "exec/session.h"

/* What makes two GEMM/conv ops the same problem for a kernel: the kernel the op runs (a 1x1
 * conv runs GEMM kernels), its sizes, weight type, whether the session allows fp16 arithmetic
 * (REPMLP_PRECISION_FP16_ARITHMETIC: winners measured for such sessions never reach others),
 * and a hash of its specialization constants past the workgroup size (index maps, epilogue,
 * conv geometry). 32 bytes, no padding: it is written to tuning files as is. */
typedef struct rm_tune_key {
    uint32_t kernel; /* rm_gemm_kernel */
    uint32_t M, K, N, groups;
    uint16_t w16;
    uint16_t f16_math; /* 1: fp16-arithmetic kernels may win (rm_shader_f16_math) */
    uint64_t spec_hash;
} rm_tune_key;

#define RM_TUNE_NAME 32
typedef struct rm_tune_entry {
    rm_tune_key key;
    char winner[RM_TUNE_NAME]; /* the winning shader's name: files stay valid if rows move */
} rm_tune_entry;

struct rm_tune_store {
    bool deny[RM_SHADER_COUNT]; /* by shader: rows that failed a check on this context */
    uint32_t count, capacity;
    rm_tune_entry entries[]; /* grown by rm_realloc of the whole block */
};

/* After the session's dispatches are prepared with the built-in choice: picks each GEMM/conv
 * op's kernel (measuring with REPMLP_CONTEXT_TUNE, else from the context's known shapes) and
 * re-prepares the ops whose winner differs. Best effort: a failure while measuring is logged
 * and leaves the built-in choice; only an allocation of the report or a lost device fails. */
repmlp_status rm_tune_session(repmlp_session *s);

/* What the shapes measured so far in a session say of each kernel form, indexed by shader: how
 * often it took 1.5x a shape's best time or more, and how often it came within 1.25x. Rows that
 * differ only in their kernel (GEMM or conv) share a form: they run the same core. */
typedef struct rm_tune_evidence {
    uint16_t lost, close;
} rm_tune_evidence;
/* Adds one measured shape's candidates (timed and slow ones; the others say nothing) to ev
 * (RM_SHADER_COUNT entries), each against the best timed median among them. */
void rm_tune_learn(const repmlp_tuning_candidate *cand, uint32_t count, rm_tune_evidence *ev);
/* Whether ev rules the row out for later shapes: 3 losses and never close. */
bool rm_tune_pruned(const rm_tune_evidence *ev, const rm_gemm_kernel_variant *row);

/* The context's tuning data as a device file's bytes (header and entries), rm_malloc'd: what
 * repmlp_context_save_cache(REPMLP_CACHE_TUNING) writes. */
repmlp_status rm_tune_serialize(repmlp_context *ctx, unsigned char **out, size_t *size);
/* Merges such bytes into the context's tuning data; unusable bytes (another device, damaged)
 * are ignored with a log message naming `what`, and REPMLP_OK. */
repmlp_status rm_tune_load(repmlp_context *ctx, const unsigned char *data, size_t size,
                           const char *what);

#ifdef REPMLP_FAULT_INJECTION
/* Test hook: the checked output of the candidate kernel `shader` (a shader name; NULL: none) is
 * corrupted, as a broken kernel's would be. */
void rm_tune_fault_corrupt(const char *shader);
/* Test hook: the candidate kernel `shader` (NULL: none) does 32 times its work wherever it is
 * timed, and when timed on its own its times are scaled to a thousandth of one run's: it looks fast
 * alone and is slow when timed alternately with the built-in kernel (the confirmation). */
void rm_tune_fault_flatter(const char *shader);
#endif

#endif
