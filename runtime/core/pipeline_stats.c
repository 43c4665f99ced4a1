/* A pipeline's compiled code as the driver reports it (VK_KHR_pipeline_executable_properties):
 * named statistics mapped onto repmlp_compile_stats, and the hottest loop of the disassembly.
 *
 * The disassembly is parsed as text, one instruction a line: a line whose first token ends in
 * ':' is a label; otherwise the first token is the mnemonic (lines starting with ';', '/', '#'
 * or blank are skipped). A branch (a mnemonic starting "s_branch"/"s_cbranch", or containing
 * "branch"/"jmp"/"while") whose operand names a label seen before it closes a loop running
 * from that label to the branch. The hottest loop is the shortest one holding at least half
 * the FMA instructions of the loop with the most (the innermost: a k loop rather than a loop
 * around it, whose epilogue may hold a few FMAs of its own); its counts are
 * static (an inner loop inside it counts once), with its vector ALU instructions where the
 * mnemonics say which (AMD's "v_"). This is ACO's format (AMD) and close to
 * others'; where it does not apply the loop fields stay REPMLP_NOT_REPORTED. */
#include "core/pipeline_stats.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

/* Driver statistic names per field, compared without case. */
typedef struct stat_name {
    const char *name;
    size_t field; /* offsetof in repmlp_compile_stats */
} stat_name;

#define RM_FIELD(f) offsetof(repmlp_compile_stats, f)
static const stat_name stat_names[] = {
    {"VGPRs", RM_FIELD(vector_registers)},
    {"Register Count", RM_FIELD(vector_registers)}, /* NVIDIA */
    {"SGPRs", RM_FIELD(scalar_registers)},
    {"Spilled VGPRs", RM_FIELD(spilled_vector_registers)},
    {"Spill Count", RM_FIELD(spilled_vector_registers)}, /* Intel */
    {"Spilled SGPRs", RM_FIELD(spilled_scalar_registers)},
    {"Scratch size", RM_FIELD(scratch_bytes)},
    {"Scratch Memory Size", RM_FIELD(scratch_bytes)}, /* Intel */
    {"LDS size", RM_FIELD(shared_bytes)},
    {"Workgroup Memory Size", RM_FIELD(shared_bytes)}, /* Intel */
    {"Subgroups per SIMD", RM_FIELD(subgroups_per_simd)},
    {"Instructions", RM_FIELD(instructions)},
    {"Instruction Count", RM_FIELD(instructions)}, /* Intel */
    {"Latency", RM_FIELD(latency)},                /* ACO's estimates */
    {"Inverse Throughput", RM_FIELD(inverse_throughput)},
};
#undef RM_FIELD

static bool same_name(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
    return *a == *b;
}

static int64_t stat_value(const VkPipelineExecutableStatisticKHR *s) {
    switch (s->format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR:
            return s->value.b32 ? 1 : 0;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR:
            return s->value.i64;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR:
            return s->value.u64 > INT64_MAX ? INT64_MAX : (int64_t)s->value.u64;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR:
            return (int64_t)s->value.f64;
        default:
            return REPMLP_NOT_REPORTED;
    }
}

static void read_statistics(repmlp_context *ctx, const VkPipelineExecutableInfoKHR *exe,
                            repmlp_compile_stats *out) {
    uint32_t count = 0;
    if (ctx->vk.vkGetPipelineExecutableStatisticsKHR(ctx->device, exe, &count, NULL) != VK_SUCCESS)
        return;
    VkPipelineExecutableStatisticKHR *stats = rm_calloc(count ? count : 1, sizeof *stats);
    if (!stats) return;
    for (uint32_t i = 0; i < count; i++)
        stats[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR;
    VkResult r = ctx->vk.vkGetPipelineExecutableStatisticsKHR(ctx->device, exe, &count, stats);
    if (r == VK_SUCCESS || r == VK_INCOMPLETE) {
        out->reported = 1;
        for (uint32_t i = 0; i < count; i++)
            for (size_t k = 0; k < sizeof stat_names / sizeof stat_names[0]; k++)
                if (same_name(stats[i].name, stat_names[k].name))
                    *(int64_t *)((char *)out + stat_names[k].field) = stat_value(&stats[i]);
    }
    rm_free(stats);
}

/* The disassembly among the internal representations: the text one named like
 * "...assembly..." or "...disassembly..." or "native...", if any. */
static void read_disassembly(repmlp_context *ctx, const VkPipelineExecutableInfoKHR *exe,
                             repmlp_compile_stats *out) {
    uint32_t count = 0;
    if (ctx->vk.vkGetPipelineExecutableInternalRepresentationsKHR(ctx->device, exe, &count, NULL) !=
            VK_SUCCESS ||
        count == 0)
        return;
    VkPipelineExecutableInternalRepresentationKHR *irs = rm_calloc(count, sizeof *irs);
    if (!irs) return;
    for (uint32_t i = 0; i < count; i++)
        irs[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INTERNAL_REPRESENTATION_KHR;
    VkResult r =
        ctx->vk.vkGetPipelineExecutableInternalRepresentationsKHR(ctx->device, exe, &count, irs);
    int pick = -1;
    for (uint32_t i = 0; (r == VK_SUCCESS || r == VK_INCOMPLETE) && i < count && pick < 0; i++) {
        char name[VK_MAX_DESCRIPTION_SIZE];
        size_t n = 0;
        for (; irs[i].name[n] && n + 1 < sizeof name; n++)
            name[n] = (char)tolower((unsigned char)irs[i].name[n]);
        name[n] = '\0';
        if (irs[i].isText && (strstr(name, "assembly") || strncmp(name, "native", 6) == 0))
            pick = (int)i;
    }
    if (pick >= 0 && irs[pick].dataSize > 0) {
        char *text = rm_malloc(irs[pick].dataSize + 1);
        if (text) {
            irs[pick].pData = text;
            /* Only this one's text: the others keep pData NULL and report their sizes. */
            r = ctx->vk.vkGetPipelineExecutableInternalRepresentationsKHR(ctx->device, exe, &count,
                                                                          irs);
            text[irs[pick].dataSize] = '\0';
            if (r == VK_SUCCESS || r == VK_INCOMPLETE) rm_pipeline_stats_parse_loop(text, out);
            rm_free(text);
        }
    }
    rm_free(irs);
}

void rm_pipeline_stats_clear(repmlp_compile_stats *out) {
    int64_t *fields[] = {&out->vector_registers,
                         &out->scalar_registers,
                         &out->spilled_vector_registers,
                         &out->spilled_scalar_registers,
                         &out->scratch_bytes,
                         &out->shared_bytes,
                         &out->subgroups_per_simd,
                         &out->instructions,
                         &out->loop_instructions,
                         &out->loop_fma,
                         &out->loop_loads,
                         &out->loop_vector_alu,
                         &out->latency,
                         &out->inverse_throughput};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) *fields[i] = REPMLP_NOT_REPORTED;
    out->reported = 0;
}

void rm_pipeline_stats_read(repmlp_context *ctx, VkPipeline pipeline, repmlp_compile_stats *out) {
    rm_pipeline_stats_clear(out);
    VkPipelineInfoKHR info = {.sType = VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR, .pipeline = pipeline};
    VkPipelineExecutablePropertiesKHR props = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_PROPERTIES_KHR};
    uint32_t count = 1; /* a compute pipeline has one executable */
    VkResult r = ctx->vk.vkGetPipelineExecutablePropertiesKHR(ctx->device, &info, &count, &props);
    if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || count == 0) return;
    if (props.subgroupSize) out->subgroup_size = props.subgroupSize;
    VkPipelineExecutableInfoKHR exe = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR,
                                       .pipeline = pipeline,
                                       .executableIndex = 0};
    read_statistics(ctx, &exe, out);
    read_disassembly(ctx, &exe, out);
}

void rm_pipeline_stats_lanes(const uint32_t wg[3], uint32_t subgroup_size,
                             repmlp_compile_stats *out) {
    memcpy(out->workgroup, wg, sizeof out->workgroup);
    out->subgroup_size = subgroup_size ? subgroup_size : 1;
    uint64_t active = (uint64_t)wg[0] * wg[1] * wg[2];
    uint64_t lanes = (active + out->subgroup_size - 1) / out->subgroup_size * out->subgroup_size;
    out->lanes_active = active > UINT32_MAX ? UINT32_MAX : (uint32_t)active;
    out->lanes = lanes > UINT32_MAX ? UINT32_MAX : (uint32_t)lanes;
}

/* ---- the disassembly's hottest loop ---- */

#define RM_MAX_LABELS 512
#define RM_MAX_LOOPS 512
#define RM_TOKEN 64

typedef enum { LINE_NONE, LINE_LABEL, LINE_INSN } line_kind;

/* The first two tokens of one line (mnemonic and first operand, or the label). */
static line_kind scan_line(const char *line, size_t len, char *first, char *second) {
    size_t i = 0;
    first[0] = second[0] = '\0';
    while (i < len && isspace((unsigned char)line[i])) i++;
    if (i == len || line[i] == ';' || line[i] == '/' || line[i] == '#') return LINE_NONE;
    size_t n = 0;
    while (i < len && !isspace((unsigned char)line[i]) && line[i] != ',' && n + 1 < RM_TOKEN)
        first[n++] = line[i++];
    first[n] = '\0';
    if (n && first[n - 1] == ':') {
        first[n - 1] = '\0';
        return LINE_LABEL;
    }
    while (i < len && (isspace((unsigned char)line[i]) || line[i] == ',')) i++;
    n = 0;
    while (i < len && !isspace((unsigned char)line[i]) && line[i] != ',' && line[i] != ';' &&
           n + 1 < RM_TOKEN)
        second[n++] = line[i++];
    second[n] = '\0';
    return isalpha((unsigned char)first[0]) ? LINE_INSN : LINE_NONE;
}

static bool is_branch(const char *m) {
    return strncmp(m, "s_branch", 8) == 0 || strncmp(m, "s_cbranch", 9) == 0 ||
           strstr(m, "branch") || strstr(m, "jmp") || strstr(m, "while");
}

/* An integer type in a mnemonic: "_u" or "_i" and a digit (AMD's v_mad_u32_u24). */
static bool has_integer_type(const char *m) {
    for (; *m; m++)
        if (m[0] == '_' && (m[1] == 'u' || m[1] == 'i') && isdigit((unsigned char)m[2]))
            return true;
    return false;
}

/* A floating-point multiply-add: integer ones compute addresses, not the product. */
static bool is_fma(const char *m) {
    return (strstr(m, "fma") || strstr(m, "mac_") || strstr(m, "mad_") || strstr(m, "dot")) &&
           !has_integer_type(m);
}

/* AMD's vector ALU: every "v_" mnemonic (memory instructions are buffer_, global_, ds_, ...). */
static bool is_vector_alu(const char *m) {
    return strncmp(m, "v_", 2) == 0;
}

static bool is_load(const char *m) {
    return strstr(m, "load") || strstr(m, "ds_read") || strstr(m, "sample") ||
           strstr(m, "send"); /* Intel's memory messages */
}

typedef struct label {
    char name[RM_TOKEN];
    uint32_t at; /* instruction index */
} label;

typedef struct loop {
    uint32_t begin, end; /* instruction indices [begin, end] */
} loop;

/* Walks the text once: calls `visit` per instruction with its index and mnemonic. */
typedef void (*visit_fn)(void *user, uint32_t index, const char *mnemonic, const char *operand);

static uint32_t walk(const char *text, visit_fn visit, void *user, label *labels,
                     uint32_t *label_count) {
    uint32_t insn = 0;
    char first[RM_TOKEN], second[RM_TOKEN];
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        line_kind k = scan_line(line, len, first, second);
        if (k == LINE_LABEL && labels && *label_count < RM_MAX_LABELS) {
            snprintf(labels[*label_count].name, RM_TOKEN, "%s", first);
            labels[(*label_count)++].at = insn;
        } else if (k == LINE_INSN) {
            if (visit) visit(user, insn, first, second);
            insn++;
        }
        line = end ? end + 1 : line + len;
    }
    return insn;
}

typedef struct loop_finder {
    const label *labels;
    uint32_t label_count;
    loop loops[RM_MAX_LOOPS];
    uint32_t loop_count;
} loop_finder;

static void find_loop(void *user, uint32_t index, const char *mnemonic, const char *operand) {
    loop_finder *f = user;
    if (!is_branch(mnemonic) || f->loop_count == RM_MAX_LOOPS) return;
    for (uint32_t i = 0; i < f->label_count; i++)
        if (strcmp(f->labels[i].name, operand) == 0 && f->labels[i].at <= index) {
            f->loops[f->loop_count++] = (loop){f->labels[i].at, index};
            return;
        }
}

typedef struct mix {
    const loop *loops;
    uint32_t loop_count;
    int64_t *fma, *loads, *valu; /* per loop */
    int64_t valu_total;          /* in the whole text */
} mix;

static void count_mix(void *user, uint32_t index, const char *mnemonic, const char *operand) {
    (void)operand;
    mix *m = user;
    if (is_vector_alu(mnemonic)) m->valu_total++;
    for (uint32_t i = 0; i < m->loop_count; i++) {
        if (index < m->loops[i].begin || index > m->loops[i].end) continue;
        if (is_fma(mnemonic)) m->fma[i]++;
        if (is_load(mnemonic)) m->loads[i]++;
        if (is_vector_alu(mnemonic)) m->valu[i]++;
    }
}

void rm_pipeline_stats_parse_loop(const char *text, repmlp_compile_stats *out) {
    label *labels = rm_calloc(RM_MAX_LABELS, sizeof *labels);
    loop_finder *f = rm_calloc(1, sizeof *f);
    int64_t *counts = rm_calloc(3 * RM_MAX_LOOPS, sizeof *counts);
    if (labels && f && counts) {
        f->labels = labels;
        walk(text, NULL, NULL, labels, &f->label_count);
        walk(text, find_loop, f, NULL, NULL);
        mix m = {f->loops, f->loop_count, counts, counts + RM_MAX_LOOPS, counts + 2 * RM_MAX_LOOPS,
                 0};
        walk(text, count_mix, &m, NULL, NULL);
        /* The shortest loop holding at least half the FMAs of the loop with the most: the k
         * loop rather than a loop around it whose epilogue adds a few (an activation's). */
        int64_t most = 0;
        for (uint32_t i = 0; i < f->loop_count; i++)
            if (m.fma[i] > most) most = m.fma[i];
        int best = -1;
        for (uint32_t i = 0; i < f->loop_count; i++) {
            uint32_t len = f->loops[i].end - f->loops[i].begin;
            if (2 * m.fma[i] < most) continue;
            if (best < 0 || len < f->loops[best].end - f->loops[best].begin ||
                (len == f->loops[best].end - f->loops[best].begin && m.fma[i] > m.fma[best]))
                best = (int)i;
        }
        if (best >= 0) {
            out->loop_instructions = f->loops[best].end - f->loops[best].begin + 1;
            out->loop_fma = m.fma[best];
            out->loop_loads = m.loads[best];
            if (m.valu_total > 0) out->loop_vector_alu = m.valu[best];
        }
    }
    rm_free(counts);
    rm_free(f);
    rm_free(labels);
}
