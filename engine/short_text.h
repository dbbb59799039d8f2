// Comparisons of short texts (DER attribute names, dictionary keys) without a call to memcmp.
// Under the sanitizers every memcmp is intercepted, range-checked, and reported to libFuzzer's
// table of compared values (AddValueForMemcmp copies up to 64 bytes of each side): for a name of
// four letters that is many times the comparison itself, and an item's decode and lookups make
// dozens (6 % of a journey fuzz execution, issue 17). A plain loop stops at the first difference
// like memcmp; ASan checks its loads inline. Bytewise order (unsigned), shorter first on a tie,
// as std::string_view's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace kcb {

inline int compare_short_text(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

inline bool short_text_less(std::string_view a, std::string_view b) {
  return compare_short_text(a, b) < 0;
}

inline bool same_short_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && compare_short_text(a, b) == 0;
}

}  // namespace kcb
