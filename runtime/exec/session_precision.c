/* Sessions from a description (repmlp_session_desc): the choice of fp16 arithmetic, off by
 * default, and its error against fp32 arithmetic, measured at creation on the caller's check
 * input. The tuner offers fp16-arithmetic kernels only to such sessions (exec/tune.c). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/pipeline.h"
#include "core/sized_struct.h"
#include "exec/session.h"

/* The first version of the struct ends with check_input_count. */
#define DESC_V1_SIZE RM_SIZE_THROUGH(repmlp_session_desc, check_input_count)

static uint32_t count_fp16_ops(const repmlp_session *s) {
    uint32_t n = 0;
    for (int i = 0; i < s->graph.node_count; i++)
        n += rm_shader_f16_math(s->dispatches[i].pipeline->shader);
    return n;
}

/* Largest |got - want| over the elements whose want is finite (infinite where got is not),
 * and that relative to the largest finite |want|. */
static void compare(const float *got, const float *want, size_t count, double *abs_error,
                    double *rel_error) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(want[i])) continue;
        double d = isfinite(got[i]) ? fabs((double)got[i] - want[i]) : INFINITY;
        if (d > worst) worst = d;
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    }
    *abs_error = worst;
    *rel_error = scale > 0 ? worst / scale : worst > 0 ? INFINITY : 0;
}

/* Runs s and a session of fp32 arithmetic (the same model and batch) on input and records how
 * far apart their outputs are. */
static repmlp_status measure_error(repmlp_session *s, const float *input, size_t count) {
    size_t outputs = (size_t)s->output_count, bytes;
    if (!rm_mul_size(outputs, 2 * sizeof(float), &bytes))
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%zu output floats", outputs);
    float *got = rm_malloc(bytes);
    if (!got) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    float *want = got + outputs;
    repmlp_status st = repmlp_session_run(s, input, count, got, outputs);
    if (st != REPMLP_OK) st = rm_fail_prefix(st, "check_input");
    repmlp_session *ref = NULL;
    if (st == REPMLP_OK) {
        st = rm_session_create(s->model, s->batch, REPMLP_PRECISION_FP32, &ref);
        if (st != REPMLP_OK) st = rm_fail_prefix(st, "the fp32 session to compare with");
    }
    if (st == REPMLP_OK) st = repmlp_session_run(ref, input, count, want, outputs);
    repmlp_session_destroy(ref);
    if (st == REPMLP_OK) compare(got, want, outputs, &s->fp16_abs_error, &s->fp16_rel_error);
    rm_free(got);
    return st;
}

repmlp_status repmlp_session_create_desc(repmlp_model *model,
                                         const repmlp_session_desc *caller_desc,
                                         repmlp_session **out) {
    if (!model || !caller_desc || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_create_desc: NULL argument");
    *out = NULL;
    repmlp_session_desc desc_copy, *desc = &desc_copy;
    repmlp_status st =
        rm_sized_struct_read(desc, sizeof *desc, caller_desc, DESC_V1_SIZE, "repmlp_session_desc");
    if (st != REPMLP_OK) return rm_fail_prefix(st, "repmlp_session_create_desc");
    if (desc->batch == 0)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_create_desc: batch must be >= 1");
    if (desc->precision != REPMLP_PRECISION_FP32 &&
        desc->precision != REPMLP_PRECISION_FP16_ARITHMETIC)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_create_desc: precision %d is not a repmlp_precision",
                       (int)desc->precision);
    bool fp16 = desc->precision == REPMLP_PRECISION_FP16_ARITHMETIC;
    if (fp16 && !desc->check_input)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_create_desc: fp16 arithmetic needs check_input (a batch "
                       "of the model's own input) to measure its error");
    repmlp_session *s;
    st = rm_session_create(model, desc->batch, desc->precision, &s);
    if (st != REPMLP_OK) return st;
    if (fp16 && desc->check_input_count != s->input_count) {
        unsigned long long input_count = s->input_count; /* read before the session is freed */
        repmlp_session_destroy(s);
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_create_desc: check_input_count is %zu, the batch's input "
                       "is %llu floats",
                       desc->check_input_count, input_count);
    }
    s->fp16_ops = count_fp16_ops(s);
    if (s->fp16_ops) {
        st = measure_error(s, desc->check_input, desc->check_input_count);
        if (st != REPMLP_OK) {
            repmlp_session_destroy(s);
            return rm_fail_prefix(st, "repmlp_session_create_desc: fp16 arithmetic's error");
        }
        rm_log(s->ctx, REPMLP_LOG_INFO,
               "session: %u ops multiply in fp16; on the check input the output is off fp32 "
               "arithmetic's by up to %.3g (%.3g relative)",
               s->fp16_ops, s->fp16_abs_error, s->fp16_rel_error);
    }
    *out = s;
    return REPMLP_OK;
}

repmlp_status repmlp_session_precision_info(const repmlp_session *s, repmlp_precision_info *out) {
    if (!s || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_precision_info: NULL argument");
    memset(out, 0, sizeof *out);
    out->precision = s->precision;
    out->fp16_ops = s->fp16_ops;
    out->max_abs_error = s->fp16_abs_error;
    out->max_rel_error = s->fp16_rel_error;
    return REPMLP_OK;
}
