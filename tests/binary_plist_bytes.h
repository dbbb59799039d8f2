// Binary property lists laid out byte by byte, for documents no writer makes (a key twice, a key in
// UTF-16, a set): the tests' own layout of Apple's format, independent of the engine's writer.
#pragma once

#include <string>
#include <vector>

namespace kcb::test {

// "bplist00", the objects in order (object 0 is the root), their offset table and the trailer,
// with one-byte offsets and references: at most 255 bytes of objects.
inline std::string binary_plist_bytes(const std::vector<std::string>& objects) {
  std::string b = "bplist00";
  std::string table;
  for (const std::string& o : objects) {
    table += static_cast<char>(b.size());
    b += o;
  }
  std::string trailer(32, '\0');
  trailer[6] = 1;  // offset size
  trailer[7] = 1;  // reference size
  trailer[15] = static_cast<char>(objects.size());
  trailer[31] = static_cast<char>(b.size());
  return b + table + trailer;
}

}  // namespace kcb::test
