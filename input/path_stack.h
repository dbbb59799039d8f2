// Where each value of a document sits while a reader walks it: objects remember their keys (to
// refuse one given twice), arrays count their elements, and the depth is capped. Shared by the
// JSON reader and the XML property-list screen (input/document.h has the contract).
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/status.h"

namespace kcb::input {

// A path for messages: the root is "document".
std::string shown_path(std::string_view path);
// Text from the document for a message: unchanged when it is UTF-8, else every byte that is not
// printable ASCII as \xNN, so that the message is UTF-8.
std::string shown_text(std::string_view text);

class PathStack {
 public:
  explicit PathStack(size_t max_nesting) : max_nesting_(max_nesting) {}

  // A key of the innermost object; InvalidArgument when the object has it already.
  Status key(std::string key);
  // The path of the value being read, without counting it.
  std::string peek_value() const;
  // The same, counting it (an array's next value gets the next index).
  std::string take_value();
  // The value being read is an object or an array; ResourceExhausted past the nesting cap.
  Status open(bool object);
  void close();
  // The path of the innermost object or array ("" at the root).
  std::string container_path() const { return levels_.empty() ? "" : levels_.back().path; }

 private:
  struct Level {
    bool object;
    std::string path;
    size_t next_index;
    std::string key;
    std::set<std::string> keys;
  };
  size_t max_nesting_;
  std::vector<Level> levels_;
};

}  // namespace kcb::input
