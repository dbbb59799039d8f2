// The parts of input/document.h's readers that live in separate files. Private to input/.
#pragma once

#include "input/document.h"

namespace kcb::input {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// The bytes were checked against the size cap and found not blank.
Result<Tree> read_json_text(ByteView bytes, const Limits& limits, Positions* positions);
Result<Tree> read_property_list(ByteView bytes, const Limits& limits, Positions* positions);

// Byte offsets of a text into TextPositions, in one pass: the offsets asked must not decrease
// (readers ask in document order), so a document of any shape costs linear time.
class LineCounter {
 public:
  explicit LineCounter(std::string_view text);
  TextPosition at(size_t offset);

 private:
  std::string_view text_;
  size_t offset_ = 0;
  TextPosition position_{1, 1};
};

// Records `path` at `offset` unless the table is full or has the path.
void record_position(Positions* positions, LineCounter& lines, std::string path, size_t offset);

// Removes annotation keys (is_annotation_key) from every object of `tree`.
void drop_annotations(Tree& tree);

}  // namespace kcb::input
