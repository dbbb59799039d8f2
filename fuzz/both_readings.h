// The two readings of one binary property list (kcbackup reads a binary document in place, and
// through libplist's tree for comparison: engine/plist_doc.h) must agree wherever libplist parses
// the document: the same value, or the same refusal word for word. The two allowed differences:
// libplist refuses a whole document for an object it cannot represent, which in place is refused
// only where it is read; and libplist drops a lone UTF-16 surrogate from a string, which in place
// is kept and then refused as not UTF-8 (libplist reads on past it, to a value or a later error).
#pragma once

#include <string>

#include "kcbackup/status.h"

namespace kcb::fuzz {

template <typename T>
void check_both_readings_agree(const Result<T>& in_place, const Result<T>& tree) {
  if (!tree.ok() && tree.status().message().find("not a property list") != std::string::npos) {
    return;
  }
  if (!in_place.ok() && in_place.status().message().ends_with(": not valid UTF-8 text")) return;
  KCB_ASSERT(in_place.ok() == tree.ok());
  if (tree.ok()) {
    KCB_ASSERT(*in_place == *tree);
  } else {
    KCB_ASSERT(in_place.status().to_string() == tree.status().to_string());
  }
}

}  // namespace kcb::fuzz
