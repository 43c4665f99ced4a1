/* repmlp-fuse: turns a training-time state_dict (safetensors) into a fused deploy model file,
 * through the library's public fuser (repmlp/fuse.h). CLI and exit codes per the contract:
 * 0 success, 1 a failure of the input files or config, 2 a usage error. Every error is one
 * line on stderr, "repmlp-fuse: <file>: <what>", and never leaves FUSED behind (the library
 * renames a complete temporary file into place as its very last step). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp.h"

#define TOOL "repmlp-fuse"
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define MAX_METADATA 16

static void usage(FILE *fp) {
    fprintf(fp, "usage: " TOOL " --arch ARCH [--preset NAME] [--config JSON|@FILE.json]\n"
                "                   [--metadata KEY=VALUE|KEY=@FILE]... [--weights f32|q8]\n"
                "                   TRAIN.safetensors "
                "FUSED.safetensors\n\n"
                "Fuses a training-time state_dict into the deploy model that repmlp-run loads.\n\n"
                "  --arch ARCH      architecture:\n");
    const char *what;
    for (size_t i = 0; i < repmlp_fuse_arch_count(); i++) {
        const char *name = repmlp_fuse_arch_name(i, &what);
        fprintf(fp, "                     %-13s %s\n", name, what);
    }
    fprintf(fp, "  --preset NAME    a named configuration; implies its arch:\n");
    for (size_t i = 0; i < repmlp_fuse_preset_count(); i++) {
        const char *name = repmlp_fuse_preset_name(i, &what);
        fprintf(fp, "                     %-27s (%s)\n", name, what);
    }
    fprintf(fp,
            "  --config JSON    constructor parameters as a JSON object (overrides the preset);\n"
            "                   @FILE.json reads it from a file\n"
            "  --metadata KEY=VALUE\n"
            "                   an extra __metadata__ string entry of the fused file (repeatable;\n"
            "                   KEY=@FILE takes the file's text, trailing white space removed),\n"
            "                   e.g. preprocess=@preprocess.json for repmlp-run --image\n"
            "  --weights f32|q8 how GEMM/conv weights are stored: f32 (default), or q8: 8-bit in\n"
            "                   blocks of 32 with an fp16 scale each, about 0.27x the size\n"
            "                   (biases and BatchNorm terms stay f32)\n"
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

static bool known_arch(const char *name) {
    for (size_t i = 0; i < repmlp_fuse_arch_count(); i++)
        if (strcmp(repmlp_fuse_arch_name(i, NULL), name) == 0) return true;
    return false;
}

/* The arch of preset `name`, or NULL when there is no such preset. */
static const char *preset_arch(const char *name) {
    const char *arch;
    for (size_t i = 0; i < repmlp_fuse_preset_count(); i++)
        if (strcmp(repmlp_fuse_preset_name(i, &arch), name) == 0) return arch;
    return NULL;
}

/* A whole text file into *out (malloc'd, NUL-terminated; *len its length). On failure, a
 * message naming the file in msg. */
static bool read_text(const char *path, char **out, size_t *len, char *msg, size_t msg_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msg_size, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = cap < ((size_t)1 << 30) ? realloc(text, cap * 2) : NULL;
            if (!bigger) free(text);
            text = bigger;
            cap *= 2;
        }
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!text || bad) {
        free(text);
        snprintf(msg, msg_size, "%s: cannot read%s", path, text ? "" : " (out of memory)");
        return false;
    }
    text[n] = '\0';
    *out = text;
    *len = n;
    return true;
}

/* The value of --metadata KEY=@FILE: the file's text, trailing white space removed; a NUL
 * byte is an error naming the file. */
static bool read_metadata_file(const char *path, char **out, char *msg, size_t msg_size) {
    size_t n;
    if (!read_text(path, out, &n, msg, msg_size)) return false;
    while (n > 0 && strchr(" \n\r\t", (*out)[n - 1])) n--;
    (*out)[n] = '\0';
    if (memchr(*out, 0, n)) {
        snprintf(msg, msg_size, "%s: --metadata file holds a NUL byte (not text)", path);
        free(*out);
        *out = NULL;
        return false;
    }
    return true;
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
    repmlp_fuse_weights weights = REPMLP_FUSE_WEIGHTS_F32;

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
        } else if (!options_done && option_value(argc, argv, &i, "--weights", &value)) {
            if (!value || (strcmp(value, "f32") != 0 && strcmp(value, "q8") != 0)) {
                snprintf(msg, sizeof msg, "--weights takes f32 or q8, not '%s'",
                         value ? value : "");
                return fail_usage(msg);
            }
            weights = strcmp(value, "q8") == 0 ? REPMLP_FUSE_WEIGHTS_Q8 : REPMLP_FUSE_WEIGHTS_F32;
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

    if (preset_name) {
        const char *arch = preset_arch(preset_name);
        if (!arch) {
            snprintf(msg, sizeof msg, "unknown preset '%s' (try --help)", preset_name);
            return fail_usage(msg);
        }
        if (arch_name && strcmp(arch_name, arch) != 0) {
            snprintf(msg, sizeof msg, "preset '%s' is for --arch %s, not %s", preset_name, arch,
                     arch_name);
            return fail_usage(msg);
        }
        arch_name = arch;
    }
    if (!arch_name) return fail_usage("--arch (or --preset) is required (try --help)");
    if (!known_arch(arch_name)) {
        snprintf(msg, sizeof msg, "unknown arch '%s' (try --help)", arch_name);
        return fail_usage(msg);
    }

    /* --metadata entries: split KEY=VALUE, read the @FILE values. */
    char *meta_keys[MAX_METADATA] = {NULL}, *meta_values[MAX_METADATA] = {NULL};
    int rc = 0;
    for (int m = 0; m < nmeta && !rc; m++) {
        const char *eq = strchr(meta_args[m], '=');
        size_t klen = (size_t)(eq - meta_args[m]);
        meta_keys[m] = malloc(klen + 1);
        if (!meta_keys[m]) {
            snprintf(msg, sizeof msg, "--metadata: out of memory");
            rc = EXIT_FAILED;
            break;
        }
        memcpy(meta_keys[m], meta_args[m], klen);
        meta_keys[m][klen] = '\0';
        if (eq[1] == '@') {
            if (!read_metadata_file(eq + 2, &meta_values[m], msg, sizeof msg)) rc = EXIT_FAILED;
        } else if (!(meta_values[m] = malloc(strlen(eq + 1) + 1))) {
            snprintf(msg, sizeof msg, "--metadata: out of memory");
            rc = EXIT_FAILED;
        } else {
            strcpy(meta_values[m], eq + 1);
        }
    }

    /* --config: inline JSON, or @FILE (messages then name the file). */
    char *config_text = NULL, where[1100];
    const char *config_json = config_arg;
    if (!rc && config_arg && config_arg[0] == '@') {
        size_t len;
        snprintf(where, sizeof where, "%s", config_arg + 1);
        if (!read_text(config_arg + 1, &config_text, &len, msg, sizeof msg))
            rc = EXIT_FAILED;
        else if (strlen(config_text) != len) {
            snprintf(msg, sizeof msg, "%s: invalid JSON: a NUL byte", config_arg + 1);
            rc = EXIT_FAILED;
        }
        config_json = config_text;
    } else if (config_arg) {
        snprintf(where, sizeof where, "%s: --config", files[0]);
    }
    if (rc) {
        print_error(msg);
    } else {
        repmlp_fuse_desc desc = {.size = sizeof(repmlp_fuse_desc),
                                 .arch = arch_name,
                                 .preset = preset_name,
                                 .config_json = config_json,
                                 .config_where = config_arg ? where : NULL,
                                 .metadata_keys = (const char *const *)meta_keys,
                                 .metadata_values = (const char *const *)meta_values,
                                 .metadata_count = (size_t)nmeta,
                                 .weights = weights};
        repmlp_status s = repmlp_fuse_file(&desc, files[0], files[1]);
        if (s != REPMLP_OK) {
            print_error(repmlp_last_error());
            /* a refused --metadata entry is a usage error, like a bad option */
            rc = s == REPMLP_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILED;
        }
    }
    free(config_text);
    for (int m = 0; m < nmeta; m++) free(meta_keys[m]), free(meta_values[m]);
    return rc;
}
