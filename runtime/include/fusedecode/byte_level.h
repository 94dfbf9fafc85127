/*===- byte_level.h - the byte-level BPE alphabet -------------------------===*
 *
 * Byte-level BPE (GPT-2, Qwen) writes every byte as one printable code
 * point in tokenizer.json: '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for
 * themselves, the other 68 bytes for U+0100 onwards in byte order. Shared by
 * the runtime's tokenizer (reader) and fd-synth (writer).
 *
 *===----------------------------------------------------------------------===*/

#ifndef FUSEDECODE_BYTE_LEVEL_H
#define FUSEDECODE_BYTE_LEVEL_H

#include <stdint.h>

static inline uint32_t fd_byte_level_code_point(uint8_t byte) {
  uint32_t others = 0;
  for (uint32_t b = 0; b < 256; ++b) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                    (b >= 0xAE && b <= 0xFF);
    if (b == byte) {
      return printable ? b : 256 + others;
    }
    others += printable ? 0 : 1;
  }
  return 0; /* unreachable */
}

#endif
