/* mobilesdk instruction counter: a qemu TCG plugin (qemu-user, plugin API version 1 as in qemu 7.2).
 *
 * Counts every guest instruction executed with one inline add per translation block (the block's instruction
 * count, added when the block runs: exact and cheap), and records the running count at each stage mark the
 * guest makes. A mark is the harmless system call getpid(MARK_MAGIC, tag) that the native core issues around its
 * stages when asked to (msdk_estimator_set_instruction_marks): getpid ignores its arguments, so a mark costs
 * one system call and nothing else, on a phone too. At exit the plugin writes
 *
 *   {"format": "mobilesdk.insn-marks/1", "total": N, "marks": [[tag, count], ...]}
 *
 * to the file named by its argument out=PATH (written to PATH.tmp, then renamed).
 *
 * Counts are exact for one guest thread (the runner is run with one inference thread). With several guest
 * threads the shared counter is still the sum, but unsynchronised adds could lose increments.
 *
 * Licence note: built against qemu's include/qemu/qemu-plugin.h (GPL-2.0-or-later), which the plugin API
 * requires; this file is mobilesdk's own code. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARK_MAGIC 0x6d73646bu /* "msdk" */
#define AARCH64_SYS_GETPID 172

static uint64_t g_count;
static uint64_t (*g_marks)[2];
static size_t g_num_marks, g_cap_marks;
static char* g_out;
static int g_oom;

static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &g_count, qemu_plugin_tb_n_insns(tb));
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2, uint64_t a3,
                       uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
  (void)id, (void)vcpu, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
  if (num != AARCH64_SYS_GETPID || a1 != MARK_MAGIC) return;
  if (g_num_marks == g_cap_marks) {
    size_t cap = g_cap_marks ? 2 * g_cap_marks : 4096;
    void* grown = realloc(g_marks, cap * sizeof *g_marks);
    if (grown == NULL) {
      g_oom = 1;
      return;
    }
    g_marks = grown;
    g_cap_marks = cap;
  }
  g_marks[g_num_marks][0] = a2;
  g_marks[g_num_marks][1] = g_count;
  ++g_num_marks;
}

static void write_marks(qemu_plugin_id_t id, void* data) {
  (void)id, (void)data;
  if (g_out == NULL) return;
  size_t n = strlen(g_out) + 5;
  char* tmp = malloc(n);
  if (tmp == NULL) return;
  snprintf(tmp, n, "%s.tmp", g_out);
  FILE* f = fopen(tmp, "w");
  if (f == NULL) {
    fprintf(stderr, "insn_plugin: cannot write %s\n", tmp);
    free(tmp);
    return;
  }
  fprintf(f, "{\"format\": \"mobilesdk.insn-marks/1\", \"total\": %" PRIu64 ", \"complete\": %s, \"marks\": [",
          g_count, g_oom ? "false" : "true");
  for (size_t i = 0; i < g_num_marks; ++i) {
    fprintf(f, "%s[%" PRIu64 ", %" PRIu64 "]", i ? ", " : "", g_marks[i][0], g_marks[i][1]);
  }
  fprintf(f, "]}\n");
  int failed = ferror(f) != 0;
  failed |= fclose(f) != 0;
  if (!failed) failed = rename(tmp, g_out) != 0;
  if (failed) fprintf(stderr, "insn_plugin: cannot write %s\n", g_out);
  free(tmp);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  if (info->system_emulation) {
    fprintf(stderr, "insn_plugin: for qemu-user only\n");
    return -1;
  }
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "out=", 4) == 0) {
      g_out = strdup(argv[i] + 4);
    } else {
      fprintf(stderr, "insn_plugin: unknown argument '%s' (takes out=PATH)\n", argv[i]);
      return -1;
    }
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
  qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
  qemu_plugin_register_atexit_cb(id, write_marks, NULL);
  return 0;
}
