#include "input/path_stack.h"

#include "input/document.h"
#include "kcbackup/der.h"

namespace kcb::input {

std::string shown_path(std::string_view path) {
  return path.empty() ? "document" : std::string(path);
}

std::string shown_text(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return out;
}

Status PathStack::key(std::string key) {
  if (levels_.empty() || !levels_.back().object) return Status::Ok();
  Level& level = levels_.back();
  if (!level.keys.insert(key).second) {
    const std::string shown = shown_text(key);
    return Status::InvalidArgument(
        child_path(level.path, shown) + ": key '" + shown + "' appears twice in " +
        (level.path.empty() ? "the document" : level.path) + "; give each key once");
  }
  level.key = std::move(key);
  return Status::Ok();
}

std::string PathStack::peek_value() const {
  if (levels_.empty()) return "";
  const Level& level = levels_.back();
  if (level.object) return child_path(level.path, shown_text(level.key));
  return index_path(level.path, level.next_index);
}

std::string PathStack::take_value() {
  std::string path = peek_value();
  if (!levels_.empty() && !levels_.back().object) ++levels_.back().next_index;
  return path;
}

Status PathStack::open(bool object) {
  std::string path = take_value();
  if (levels_.size() >= max_nesting_) {
    return Status::ResourceExhausted(shown_path(path) + ": nested deeper than " +
                                     std::to_string(max_nesting_));
  }
  levels_.push_back({object, std::move(path), 0, {}, {}});
  return Status::Ok();
}

void PathStack::close() {
  if (!levels_.empty()) levels_.pop_back();
}

}  // namespace kcb::input
