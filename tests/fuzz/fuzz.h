/* libFuzzer targets: each file defines LLVMFuzzerTestOneInput for one
 * parser of untrusted input. Built with --enable-fuzzing they link
 * libFuzzer (make fuzz runs them); otherwise standalone.c gives them a
 * main() that replays files, so make check runs the corpora as tests. */
#ifndef OUTPOST_FUZZ_H
#define OUTPOST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
