#include "print_compile_stats.h"

#include <string.h>

/* A statistic as text: its value, or n/r (not reported by the driver). */
static const char *num(char *buf, size_t size, int64_t v) {
    if (v == REPMLP_NOT_REPORTED)
        snprintf(buf, size, "n/r");
    else
        snprintf(buf, size, "%lld", (long long)v);
    return buf;
}

/* The same for JSON: null when not reported. */
static const char *json_num(char *buf, size_t size, int64_t v) {
    if (v == REPMLP_NOT_REPORTED) return "null";
    snprintf(buf, size, "%lld", (long long)v);
    return buf;
}

/* s as a JSON string body (quotes and backslashes escaped, control characters dropped). */
static void json_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
}

static void print_row(FILE *f, const repmlp_op_info *op, const repmlp_compile_stats *c) {
    char v[8][24], wg[32], lanes[24], loop[64], valu[24] = "n/r";
    snprintf(wg, sizeof wg, "%ux%ux%u", c->workgroup[0], c->workgroup[1], c->workgroup[2]);
    snprintf(lanes, sizeof lanes, "%u/%u", c->lanes_active, c->lanes);
    if (c->loop_vector_alu != REPMLP_NOT_REPORTED && c->loop_fma != REPMLP_NOT_REPORTED)
        snprintf(valu, sizeof valu, "%.0f%%",
                 100.0 * (double)c->loop_fma /
                     (double)(c->loop_vector_alu ? c->loop_vector_alu : 1));
    if (c->loop_instructions == REPMLP_NOT_REPORTED)
        snprintf(loop, sizeof loop, "n/r");
    else
        snprintf(loop, sizeof loop, "%lld/%lld/%lld/%lld %.0f%%, of VALU %s",
                 (long long)c->loop_instructions, (long long)c->loop_fma, (long long)c->loop_loads,
                 (long long)(c->loop_instructions - c->loop_fma - c->loop_loads),
                 100.0 * (double)c->loop_fma /
                     (double)(c->loop_instructions ? c->loop_instructions : 1),
                 valu);
    fprintf(f, "  %-40s %-6s %-20s %-8s %3u %-7s %5s %5s %4s/%-4s %7s %6s %5s %6s %s\n", op->label,
            op->kind, op->kernel, wg, c->subgroup_size, lanes, num(v[0], 24, c->vector_registers),
            num(v[1], 24, c->scalar_registers), num(v[2], 24, c->spilled_vector_registers),
            num(v[3], 24, c->spilled_scalar_registers), num(v[4], 24, c->scratch_bytes),
            num(v[5], 24, c->shared_bytes), num(v[6], 24, c->subgroups_per_simd),
            num(v[7], 24, c->instructions), loop);
}

static void print_json_op(FILE *f, const repmlp_op_info *op, const repmlp_compile_stats *c) {
    char v[14][24];
    fprintf(f, "{\"label\": \"");
    json_text(f, op->label);
    fprintf(f,
            "\", \"kind\": \"%s\", \"kernel\": \"%s\", \"workgroup\": [%u, %u, %u], "
            "\"subgroup_size\": %u, \"lanes_active\": %u, \"lanes\": %u, \"reported\": %u, "
            "\"vgprs\": %s, \"sgprs\": %s, \"spilled_vgprs\": %s, \"spilled_sgprs\": %s, "
            "\"scratch_bytes\": %s, \"lds_bytes\": %s, \"subgroups_per_simd\": %s, "
            "\"instructions\": %s, \"loop_instructions\": %s, \"loop_fma\": %s, "
            "\"loop_loads\": %s, \"loop_vector_alu\": %s, \"latency\": %s, "
            "\"inverse_throughput\": %s}",
            op->kind, op->kernel, c->workgroup[0], c->workgroup[1], c->workgroup[2],
            c->subgroup_size, c->lanes_active, c->lanes, c->reported,
            json_num(v[0], 24, c->vector_registers), json_num(v[1], 24, c->scalar_registers),
            json_num(v[2], 24, c->spilled_vector_registers),
            json_num(v[3], 24, c->spilled_scalar_registers), json_num(v[4], 24, c->scratch_bytes),
            json_num(v[5], 24, c->shared_bytes), json_num(v[6], 24, c->subgroups_per_simd),
            json_num(v[7], 24, c->instructions), json_num(v[8], 24, c->loop_instructions),
            json_num(v[9], 24, c->loop_fma), json_num(v[10], 24, c->loop_loads),
            json_num(v[11], 24, c->loop_vector_alu), json_num(v[12], 24, c->latency),
            json_num(v[13], 24, c->inverse_throughput));
}

int rm_print_compile_stats(FILE *f, const repmlp_session *s, const char *device, const char *model,
                           long batch, bool json) {
    uint32_t n = repmlp_session_op_count(s);
    if (json) {
        fprintf(f, "{\"device\": \"");
        json_text(f, device);
        fprintf(f, "\", \"model\": \"");
        json_text(f, model);
        fprintf(f, "\", \"batch\": %ld, \"ops\": [", batch);
    } else {
        fprintf(f,
                "compiled pipelines (%u ops; n/r: not reported by the driver; lanes: a "
                "workgroup's invocations / the lanes of its subgroups; loop: the hottest loop's "
                "instructions/FMAs/loads/other, FMA share of them and of the vector ALU ones):\n",
                n);
        fprintf(f, "  %-40s %-6s %-20s %-8s %3s %-7s %5s %5s %9s %7s %6s %5s %6s %s\n", "op",
                "kind", "kernel", "wg", "sg", "lanes", "VGPR", "SGPR", "spill v/s", "scratch",
                "LDS", "waves", "insns", "loop");
    }
    for (uint32_t i = 0; i < n; i++) {
        repmlp_op_info op;
        repmlp_compile_stats c;
        repmlp_status st = repmlp_session_op_info(s, i, &op);
        if (st == REPMLP_OK) st = repmlp_session_op_compile_stats(s, i, &c);
        if (st != REPMLP_OK) {
            if (json) fprintf(f, "]}\n");
            fprintf(stderr, "repmlp-bench: %s (%s)\n", repmlp_last_error(), repmlp_status_name(st));
            return 1;
        }
        if (json) {
            if (i) fprintf(f, ", ");
            print_json_op(f, &op, &c);
        } else {
            print_row(f, &op, &c);
        }
    }
    if (json) fprintf(f, "]}\n");
    return 0;
}
