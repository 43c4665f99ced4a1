/* repmlp-fuse: turns a training-time state_dict (safetensors) into a fused deploy model file.
 * CLI and exit codes per CONTRACT.md: 0 success, 1 a failure of the input files or config,
 * 2 a usage error or an arch/preset that this build does not implement yet. Every error is
 * one line on stderr, "repmlp-fuse: <file>: <what>", and never leaves FUSED behind (the
 * writer renames a complete temporary file into place as its very last step). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file_map.h"
#include "io/json.h"
#include "model/config.h"
#include "model/config_nets.h"
#include "model/fuse_block_v1.h"
#include "model/fuse_block_v2.h"
#include "model/fuse_repmlpnet.h"
#include "model/fuse_resnet.h"
#include "model/fused_format.h"

#define TOOL "repmlp-fuse"
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define MAX_METADATA 16

/* How one architecture is fused. `config` is the parsed --config object or NULL, `where`
 * names its source for messages. A NULL fuse marks an arch that is known but not implemented. */
typedef repmlp_status (*fuse_fn)(const cJSON *config, const char *where, const char *preset,
                                 const char *train, const char *out);

static repmlp_status fuse_repmlp_block_v1(const cJSON *config, const char *where,
                                          const char *preset, const char *train, const char *out) {
    (void)preset; /* the v1 block has no presets: main() rejects one */
    if (!config) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: --arch RepMLP needs --config (it has no presets)",
                       train);
    }
    rm_block_v1_config cfg;
    repmlp_status s = rm_block_v1_config_from_json(config, where, &cfg);
    if (s == REPMLP_OK) s = rm_fuse_block_v1_file(&cfg, train, out);
    return s;
}

static repmlp_status fuse_repmlp_block_v2(const cJSON *config, const char *where,
                                          const char *preset, const char *train, const char *out) {
    (void)preset; /* no presets for the block: main() rejects one */
    if (!config) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: --arch RepMLPBlock needs --config (it has no presets)", train);
    }
    rm_block_v2_config cfg;
    repmlp_status s = rm_block_v2_config_from_json(config, where, &cfg);
    if (s == REPMLP_OK) s = rm_fuse_block_v2_file(&cfg, train, out);
    return s;
}

/* A network's config: --config alone, or the preset's with --config's keys replacing or adding
 * to it. *merged (free with cJSON_Delete) is NULL when --config is used as it is; *where is
 * redirected to where_buf when only the preset speaks. */
static repmlp_status network_config(const char *arch, const cJSON *config, const char **where,
                                    const char *preset_name, const char *train, char *where_buf,
                                    size_t where_size, cJSON **merged) {
    *merged = NULL;
    if (!preset_name) {
        if (config) return REPMLP_OK;
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: --arch %s needs --config or --preset", train,
                       arch);
    }
    const rm_preset *preset = rm_preset_find(preset_name); /* main() checked the name */
    if (!config) {
        snprintf(where_buf, where_size, "%s: --preset %s", train, preset_name);
        *where = where_buf;
    }
    return rm_preset_config(preset, config, *where, merged);
}

static repmlp_status fuse_repmlp_resnet(const cJSON *config, const char *where, const char *preset,
                                        const char *train, const char *out) {
    char buf[1024];
    cJSON *merged = NULL;
    rm_resnet_config cfg;
    repmlp_status s =
        network_config(RM_ARCH_RESNET, config, &where, preset, train, buf, sizeof buf, &merged);
    if (s == REPMLP_OK) s = rm_resnet_config_from_json(merged ? merged : config, where, &cfg);
    if (s == REPMLP_OK) s = rm_fuse_resnet_file(&cfg, train, out);
    cJSON_Delete(merged);
    return s;
}

static repmlp_status fuse_repmlpnet(const cJSON *config, const char *where, const char *preset,
                                    const char *train, const char *out) {
    char buf[1024];
    cJSON *merged = NULL;
    rm_repmlpnet_config cfg;
    repmlp_status s =
        network_config(RM_ARCH_REPMLPNET, config, &where, preset, train, buf, sizeof buf, &merged);
    if (s == REPMLP_OK) s = rm_repmlpnet_config_from_json(merged ? merged : config, where, &cfg);
    if (s == REPMLP_OK) s = rm_fuse_repmlpnet_file(&cfg, train, out);
    cJSON_Delete(merged);
    return s;
}

static const struct arch_entry {
    const char *name;
    const char *what;
    fuse_fn fuse;
} archs[] = {
    {"RepMLP", "RepMLP block, version 1", fuse_repmlp_block_v1},
    {RM_ARCH_BLOCK_V2, "RepMLPNet block, version 2", fuse_repmlp_block_v2},
    {RM_ARCH_RESNET, "RepMLP-ResNet network", fuse_repmlp_resnet},
    {RM_ARCH_REPMLPNET, "RepMLPNet network", fuse_repmlpnet},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void usage(FILE *fp) {
    fprintf(fp, "usage: " TOOL " --arch ARCH [--preset NAME] [--config JSON|@FILE.json]\n"
                "                   [--metadata KEY=VALUE|KEY=@FILE]... TRAIN.safetensors "
                "FUSED.safetensors\n\n"
                "Fuses a training-time state_dict into the deploy model that repmlp-run loads.\n\n"
                "  --arch ARCH      architecture:\n");
    for (size_t i = 0; i < COUNT(archs); i++) {
        fprintf(fp, "                     %-13s %s%s\n", archs[i].name, archs[i].what,
                archs[i].fuse ? "" : " (not implemented yet)");
    }
    fprintf(fp, "  --preset NAME    a named configuration; implies its arch:\n");
    for (size_t i = 0; i < rm_preset_count(); i++) {
        const rm_preset *p = rm_preset_at(i);
        fprintf(fp, "                     %-27s (%s)\n", p->name, p->arch);
    }
    fprintf(fp,
            "  --config JSON    constructor parameters as a JSON object (overrides the preset);\n"
            "                   @FILE.json reads it from a file\n"
            "  --metadata KEY=VALUE\n"
            "                   an extra __metadata__ string entry of the fused file (repeatable;\n"
            "                   KEY=@FILE takes the file's text, trailing white space removed),\n"
            "                   e.g. preprocess=@preprocess.json for repmlp-run --image\n"
            "  --help           this text\n\n"
            "Exit status: 0 success, 1 bad input or config, 2 usage error or not implemented.\n");
}

/* One line, whatever the message holds: tensor names come from untrusted files. */
static void print_error(const char *message) {
    fputs(TOOL ": ", stderr);
    for (const char *p = message; *p; p++) {
        unsigned char c = (unsigned char)*p;
        fputc(c < 0x20 || c == 0x7f ? '?' : c, stderr);
    }
    fputc('\n', stderr);
}

static int fail_usage(const char *message) {
    print_error(message);
    return EXIT_USAGE;
}

static const struct arch_entry *find_arch(const char *name) {
    for (size_t i = 0; i < COUNT(archs); i++) {
        if (strcmp(archs[i].name, name) == 0) return &archs[i];
    }
    return NULL;
}

/* The value of --metadata KEY=@FILE: the file's text (rm_malloc'd into *out), trailing white
 * space removed; a NUL byte is an error naming the file. */
static repmlp_status read_metadata_file(const char *path, char **out) {
    rm_file_map map;
    repmlp_status s = rm_file_map_open(path, &map);
    if (s != REPMLP_OK) return s;
    size_t n = map.size;
    while (n > 0 && (map.data[n - 1] == ' ' || map.data[n - 1] == '\n' || map.data[n - 1] == '\r' ||
                     map.data[n - 1] == '\t'))
        n--;
    if (n && memchr(map.data, 0, n)) {
        rm_file_map_close(&map);
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: --metadata file holds a NUL byte (not text)",
                       path);
    }
    *out = rm_malloc(n + 1);
    if (!*out) {
        rm_file_map_close(&map);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", path);
    }
    if (n) memcpy(*out, map.data, n);
    (*out)[n] = '\0';
    rm_file_map_close(&map);
    return REPMLP_OK;
}

/* Accepts "--name value" and "--name=value"; *i advances past what it consumed. */
static bool option_value(int argc, char **argv, int *i, const char *name, const char **value) {
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len) != 0) return false;
    if (argv[*i][len] == '=') {
        *value = argv[*i] + len + 1;
        return true;
    }
    if (argv[*i][len] != '\0') return false;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

int main(int argc, char **argv) {
    const char *arch_name = NULL, *preset_name = NULL, *config_arg = NULL;
    const char *files[2] = {NULL, NULL};
    const char *meta_args[MAX_METADATA];
    int nfiles = 0, nmeta = 0;
    char msg[512];
    bool options_done = false;

    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        const char *arg = argv[i];
        if (!options_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            usage(stdout);
            return 0;
        } else if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
        } else if (!options_done && option_value(argc, argv, &i, "--arch", &value)) {
            if (!value) return fail_usage("--arch needs a value (try --help)");
            arch_name = value;
        } else if (!options_done && option_value(argc, argv, &i, "--preset", &value)) {
            if (!value) return fail_usage("--preset needs a value (try --help)");
            preset_name = value;
        } else if (!options_done && option_value(argc, argv, &i, "--config", &value)) {
            if (!value) return fail_usage("--config needs a value (try --help)");
            config_arg = value;
        } else if (!options_done && option_value(argc, argv, &i, "--metadata", &value)) {
            if (!value) return fail_usage("--metadata needs KEY=VALUE (try --help)");
            const char *eq = strchr(value, '=');
            if (!eq || eq == value) {
                snprintf(msg, sizeof msg, "--metadata '%s': expected KEY=VALUE or KEY=@FILE",
                         value);
                return fail_usage(msg);
            }
            if (nmeta == MAX_METADATA) return fail_usage("--metadata: at most 16 entries");
            meta_args[nmeta++] = value;
        } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            snprintf(msg, sizeof msg, "unknown option '%s' (try --help)", arg);
            return fail_usage(msg);
        } else if (nfiles < 2) {
            files[nfiles++] = arg;
        } else {
            snprintf(msg, sizeof msg, "unexpected argument '%s' (try --help)", arg);
            return fail_usage(msg);
        }
    }
    if (nfiles != 2) {
        return fail_usage("expected TRAIN.safetensors and FUSED.safetensors (try --help)");
    }

    const rm_preset *preset = NULL;
    if (preset_name) {
        preset = rm_preset_find(preset_name);
        if (!preset) {
            snprintf(msg, sizeof msg, "unknown preset '%s' (try --help)", preset_name);
            return fail_usage(msg);
        }
        if (arch_name && strcmp(arch_name, preset->arch) != 0) {
            snprintf(msg, sizeof msg, "preset '%s' is for --arch %s, not %s", preset_name,
                     preset->arch, arch_name);
            return fail_usage(msg);
        }
        arch_name = preset->arch;
    }
    if (!arch_name) return fail_usage("--arch (or --preset) is required (try --help)");
    const struct arch_entry *arch = find_arch(arch_name);
    if (!arch) {
        snprintf(msg, sizeof msg, "unknown arch '%s' (try --help)", arch_name);
        return fail_usage(msg);
    }
    if (!arch->fuse) {
        snprintf(msg, sizeof msg, "%s: --arch %s%s%s is not implemented yet", files[0], arch_name,
                 preset ? " --preset " : "", preset ? preset_name : "");
        return fail_usage(msg);
    }

    /* --metadata entries: split KEY=VALUE, read the @FILE values. */
    char *meta_keys[MAX_METADATA] = {NULL}, *meta_values[MAX_METADATA] = {NULL};
    repmlp_status s = REPMLP_OK;
    for (int m = 0; m < nmeta && s == REPMLP_OK; m++) {
        const char *eq = strchr(meta_args[m], '=');
        size_t klen = (size_t)(eq - meta_args[m]);
        meta_keys[m] = rm_malloc(klen + 1);
        if (!meta_keys[m]) {
            s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "--metadata: out of memory");
            break;
        }
        memcpy(meta_keys[m], meta_args[m], klen);
        meta_keys[m][klen] = '\0';
        if (eq[1] == '@') {
            s = read_metadata_file(eq + 2, &meta_values[m]);
        } else if (!(meta_values[m] = rm_malloc(strlen(eq + 1) + 1))) {
            s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "--metadata: out of memory");
        } else {
            strcpy(meta_values[m], eq + 1);
        }
    }
    if (s == REPMLP_OK) {
        s = rm_fused_set_extra_metadata((const char *const *)meta_keys,
                                        (const char *const *)meta_values, (size_t)nmeta);
        if (s != REPMLP_OK) {
            snprintf(msg, sizeof msg, "--metadata: %s", repmlp_last_error());
            int code = fail_usage(msg);
            for (int m = 0; m < nmeta; m++) rm_free(meta_keys[m]), rm_free(meta_values[m]);
            return code;
        }
    }

    cJSON *config = NULL;
    char where[1024];
    where[0] = '\0';
    if (s == REPMLP_OK && config_arg)
        s = rm_json_parse_arg(config_arg, files[0], "--config", where, sizeof where, &config);
    if (s == REPMLP_OK) s = arch->fuse(config, where, preset_name, files[0], files[1]);
    cJSON_Delete(config);
    rm_fused_set_extra_metadata(NULL, NULL, 0);
    for (int m = 0; m < nmeta; m++) rm_free(meta_keys[m]), rm_free(meta_values[m]);
    if (s != REPMLP_OK) {
        print_error(repmlp_last_error());
        return EXIT_FAILED;
    }
    return 0;
}
