#include "print_tuning.h"

#include <stdlib.h>

static const char *source_name(uint32_t source) {
    switch (source) {
        case REPMLP_TUNING_MEASURED:
            return "measured";
        case REPMLP_TUNING_KNOWN:
            return "known (not measured)";
        default:
            return "built-in (not tuned)";
    }
}

static const char *outcome_name(uint32_t outcome) {
    switch (outcome) {
        case REPMLP_CANDIDATE_TIMED:
            return "";
        case REPMLP_CANDIDATE_SLOW:
            return " slow: first run only";
        case REPMLP_CANDIDATE_PRUNED:
            return " pruned: slow on earlier shapes";
        case REPMLP_CANDIDATE_UNCONFIRMED:
            return " faster alone, not when timed alternately with the built-in kernel";
        case REPMLP_CANDIDATE_DOES_NOT_FIT:
            return " does not fit the device";
        default:
            return " denied";
    }
}

int rm_print_tuning(FILE *f, const repmlp_session *s) {
    uint32_t count = 0;
    repmlp_status st = repmlp_session_tuning_info(s, NULL, &count);
    repmlp_tuning_node *nodes = count ? calloc(count, sizeof *nodes) : NULL;
    if (st == REPMLP_OK && count && !nodes) st = REPMLP_ERROR_OUT_OF_HOST_MEMORY;
    if (st == REPMLP_OK && count) st = repmlp_session_tuning_info(s, nodes, &count);
    if (st != REPMLP_OK) {
        fprintf(f, "tuning report: %s\n", repmlp_last_error());
        free(nodes);
        return -1;
    }
    uint32_t measured = 0;
    for (uint32_t i = 0; i < count; i++) measured += nodes[i].candidate_count > 0;
    fprintf(f, "kernel tuning: %u GEMM/conv ops%s\n", count,
            !count                ? " (tuning off)"
            : !measured           ? ""
            : nodes[0].timestamps ? " (device timestamps, median per run)"
                                  : " (host time, median per run)");
    for (uint32_t i = 0; i < count; i++) {
        const repmlp_tuning_node *n = &nodes[i];
        fprintf(f, "  %-40s %s M=%u K=%u N=%u g=%u%s: %s -> %s, %s\n", n->label, n->op, n->M, n->K,
                n->N, n->groups, n->fp16_weights ? " fp16" : "", n->builtin, n->winner,
                source_name(n->source));
        for (uint32_t c = 0; c < n->candidate_count; c++) {
            const repmlp_tuning_candidate *k = &n->candidates[c];
            if (k->ms >= 0)
                fprintf(f, "      %-18s %10.4f ms%s\n", k->kernel, k->ms, outcome_name(k->outcome));
            else
                fprintf(f, "      %-18s %10s   %s\n", k->kernel, "-", outcome_name(k->outcome));
        }
    }
    free(nodes);
    return (int)count;
}
