// Well-formed UTF-8 (Table 3-7 of the Unicode standard: no overlongs, surrogates or code points
// past U+10FFFF). Every reader of text from outside (DER strings, property lists, JSON documents)
// checks it with these two functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kcb {

// The length of the well-formed prefix of [p, p + n): n when all of it is valid.
size_t valid_utf8_prefix(const uint8_t* p, size_t n);
bool is_valid_utf8(std::string_view text);

}  // namespace kcb
