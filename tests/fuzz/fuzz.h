/* fuzz.h - what the libFuzzer targets of tests/fuzz/ share: the entry
 * point's prototype and FZ_ASSERT, which turns a broken invariant into a
 * crash libFuzzer records (abort() after one line naming the file, the
 * line and what did not hold).
 *
 * A target asserts properties that would differ if the code were wrong,
 * not only "no crash": sanitizers (ASan, UBSan, LeakSanitizer) catch
 * memory errors and leaks, FZ_ASSERT the rest. This header holds no state
 * and does no I/O besides that one stderr line. */
#ifndef HL_FUZZ_H
#define HL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with "file:line: invariant failed: <cond>: <printf text>". */
#define FZ_ASSERT(cond, ...) do {                                        \
        if (!(cond)) {                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s: ",             \
                    __FILE__, __LINE__, #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                \
            fputc('\n', stderr);                                         \
            abort();                                                     \
        }                                                                \
    } while (0)

#endif
