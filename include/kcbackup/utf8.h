// Well-formed UTF-8 (Table 3-7 of the Unicode standard: no overlongs, surrogates or code points
// past U+10FFFF). Every reader of text from outside (DER strings, property lists, JSON documents)
// checks it with these two functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kcbackup/bytes.h"

namespace kcb {

// The length of the well-formed prefix of [p, p + n): n when all of it is valid.
size_t valid_utf8_prefix(const uint8_t* p, size_t n);
bool is_valid_utf8(std::string_view text);

// Outside text made safe to show in a message or on a terminal: UTF-8 as it is with control
// characters as \xNN (a name cannot forge a line or an escape sequence), anything else as 0x + hex.
std::string printable_text(ByteView bytes);
inline std::string printable_text(std::string_view text) {
  return printable_text(as_bytes(text));
}

// Outside text for a JSON string (which escapes control characters itself): UTF-8 as it is,
// anything else as 0x + hex.
std::string text_or_hex(ByteView bytes);
inline std::string text_or_hex(std::string_view text) {
  return text_or_hex(as_bytes(text));
}

// Text appended to `out` as XML character data: &, < and > as entities; with `quotes` (for an
// attribute value) " and ' too. Every other byte goes as it is: the caller decides what may be in
// the text (printable_text first, for XML 1.0, which cannot carry control characters).
void append_xml_escaped(std::string& out, std::string_view text, bool quotes = false);

// ASCII case and space, independent of the C locale (std::tolower and std::isspace consult it, a
// call into libc per byte): for formats whose keywords are ASCII (SQL, UUID text).
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
// The C locale's white space: space, \t, \n, \v, \f and \r.
constexpr bool is_ascii_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

}  // namespace kcb
