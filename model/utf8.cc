#include "kcbackup/utf8.h"

#include <cstdint>
#include <cstring>

namespace kcb {

namespace {
constexpr uint64_t kHighBits = 0x8080808080808080ULL;  // the top bit of each byte of a word
}  // namespace

size_t valid_utf8_prefix(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    // ASCII eight bytes at a time: names and paths are mostly ASCII, and this loop runs for
    // every text of every Manifest.db row.
    if (n - i >= sizeof(uint64_t)) {
      uint64_t word = 0;
      std::memcpy(&word, p + i, sizeof word);
      if ((word & kHighBits) == 0) {
        i += sizeof word;
        continue;
      }
    }
    uint8_t b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b == 0xE0) {
      need = 2, lo = 0xA0;
    } else if (b == 0xED) {
      need = 2, hi = 0x9F;
    } else if (b >= 0xE1 && b <= 0xEF) {
      need = 2;
    } else if (b == 0xF0) {
      need = 3, lo = 0x90;
    } else if (b == 0xF4) {
      need = 3, hi = 0x8F;
    } else if (b >= 0xF1 && b <= 0xF3) {
      need = 3;
    } else {
      return i;
    }
    if (n - i <= need) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k <= need; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += need + 1;
  }
  return n;
}

bool is_valid_utf8(std::string_view text) {
  return valid_utf8_prefix(reinterpret_cast<const uint8_t*>(text.data()), text.size()) ==
         text.size();
}

std::string printable_text(ByteView bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!is_valid_utf8(text)) return "0x" + to_hex(bytes);
  std::string out;
  for (uint8_t c : bytes) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x" + to_hex(ByteView(&c, 1));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string text_or_hex(ByteView bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!is_valid_utf8(text)) return "0x" + to_hex(bytes);
  return std::string(text);
}

void append_xml_escaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += quotes ? "&quot;" : "\"";
        break;
      case '\'':
        out += quotes ? "&apos;" : "'";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace kcb
