#include "input/document.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "input/path_stack.h"
#include "input/readers.h"

namespace kcb::input {
namespace {

bool is_blank(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

std::string_view as_text(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// What every form of document is refused for before any parser sees it.
Status check_size(ByteView bytes, const Limits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return Status::ResourceExhausted("larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  if (is_blank(as_text(bytes))) return Status::InvalidArgument("document: empty");
  return Status::Ok();
}

bool is_property_list(std::string_view text) {
  if (text.starts_with("bplist")) return true;
  size_t i = text.starts_with(kUtf8Bom) ? kUtf8Bom.size() : 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
    ++i;
  return i < text.size() && text[i] == '<';
}

// Levenshtein distance, for "did you mean" on a misspelt field.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string did_you_mean(std::string_view key, std::span<const std::string_view> allowed) {
  constexpr size_t kMaxDistance = 2;
  // The distance is quadratic in the lengths; no field name is this long.
  if (key.size() > 64) return "";
  std::string_view best;
  size_t best_distance = kMaxDistance + 1;
  for (std::string_view name : allowed) {
    const size_t d = edit_distance(key, name);
    if (d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

namespace {

std::string joined(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view name : names)
    out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// "-V": the one long option that starts with that letter, in any case ("--version"), or "".
std::string_view long_option_for(char letter, std::span<const std::string_view> long_names) {
  std::string_view found;
  for (std::string_view n : long_names) {
    if (n.size() < 3 || std::tolower(static_cast<unsigned char>(n[2])) !=
                            std::tolower(static_cast<unsigned char>(letter))) {
      continue;
    }
    if (!found.empty()) return "";
    found = n;
  }
  return found;
}

Status expect_type(const Tree& value, bool matches, std::string_view path,
                   std::string_view wanted) {
  if (matches) return Status::Ok();
  return field_error(path,
                     "expected " + std::string(wanted) + ", got " + std::string(type_name(value)));
}

}  // namespace

bool is_annotation_key(std::string_view key) {
  return key == "comment" || key.starts_with("x-");
}

void drop_annotations(Tree& tree) {
  if (tree.is_array()) {
    for (Tree& element : tree)
      drop_annotations(element);
    return;
  }
  if (!tree.is_object()) return;
  std::vector<std::string> annotations;
  for (auto& [key, value] : tree.items()) {
    if (is_annotation_key(key)) {
      annotations.push_back(key);
    } else {
      drop_annotations(value);  // bounded: the reader capped the nesting
    }
  }
  for (const std::string& key : annotations)
    tree.erase(key);
}

Result<Tree> read_json(ByteView bytes, const Limits& limits, Positions* positions) {
  KCB_RETURN_IF_ERROR(check_size(bytes, limits));
  return read_json_text(bytes, limits, positions);
}

Result<Tree> read_document(ByteView bytes, const Limits& limits, Positions* positions) {
  KCB_RETURN_IF_ERROR(check_size(bytes, limits));
  if (is_property_list(as_text(bytes))) return read_property_list(bytes, limits, positions);
  return read_json_text(bytes, limits, positions);
}

const TextPosition* Positions::find(std::string_view path) const {
  const auto it = by_path.find(path);
  return it == by_path.end() ? nullptr : &it->second;
}

LineCounter::LineCounter(std::string_view text) : text_(text) {
  if (text_.starts_with(kUtf8Bom)) offset_ = kUtf8Bom.size();
}

TextPosition LineCounter::at(size_t offset) {
  // A leading BOM's own bytes are where the text starts.
  if (offset < kUtf8Bom.size() && text_.starts_with(kUtf8Bom)) return {1, 1};
  KCB_ASSERT(offset >= offset_ && offset <= text_.size());
  for (; offset_ < offset; ++offset_) {
    const char c = text_[offset_];
    const bool crlf = c == '\r' && offset_ + 1 < text_.size() && text_[offset_ + 1] == '\n';
    if (c == '\n' || (c == '\r' && !crlf)) {
      ++position_.line;
      position_.column = 1;
    } else if (c != '\r' && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++position_.column;  // a code point starts here (continuation bytes are 10xxxxxx)
    }
  }
  return position_;
}

void record_position(Positions* positions, LineCounter& lines, std::string path, size_t offset) {
  if (positions == nullptr || positions->by_path.size() >= positions->max_entries) return;
  positions->by_path.emplace(std::move(path), lines.at(offset));
}

std::string child_path(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::string index_path(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

Status field_error(std::string_view path, std::string_view message) {
  return Status::InvalidArgument(shown_path(path) + ": " + std::string(message));
}

std::string_view type_name(const Tree& value) {
  switch (value.type()) {
    case Tree::value_t::object:
      return "an object";
    case Tree::value_t::array:
      return "an array";
    case Tree::value_t::string:
      return "a string";
    case Tree::value_t::boolean:
      return "a boolean";
    case Tree::value_t::null:
      return "null";
    default:
      return "a number";  // the binary value type is never in a tree read here
  }
}

Status expect_object(const Tree& value, std::string_view path) {
  return expect_type(value, value.is_object(), path, "an object");
}

Status expect_array(const Tree& value, std::string_view path, std::string_view wanted) {
  return expect_type(value, value.is_array(), path, wanted.empty() ? "an array" : wanted);
}

Result<std::string> get_string(const Tree& value, std::string_view path, size_t max_bytes) {
  KCB_RETURN_IF_ERROR(expect_type(value, value.is_string(), path, "a string"));
  const auto& s = value.get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    return field_error(path, "longer than " + std::to_string(max_bytes) + " bytes");
  }
  return s;
}

Result<bool> get_bool(const Tree& value, std::string_view path) {
  KCB_RETURN_IF_ERROR(expect_type(value, value.is_boolean(), path, "a boolean (true or false)"));
  return value.get<bool>();
}

Status check_fields(const Tree& object, std::string_view path,
                    std::span<const std::string_view> allowed, std::string_view takes) {
  KCB_RETURN_IF_ERROR(expect_object(object, path));
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    const std::string list = takes.empty() ? "expected one of: " + joined(allowed)
                                           : std::string(takes) + " takes " + joined(allowed);
    return field_error(child_path(path, shown_text(key)),
                       "unknown field" + did_you_mean(key, allowed) + "; " + list);
  }
  return Status::Ok();
}

size_t option_text_cap(std::string_view name) {
  for (std::string_view uncapped : {"--secret", "--password"}) {
    if (name == uncapped) return 0;
  }
  for (std::string_view attribute : {"--account", "--service", "--label", "--access-group"}) {
    if (name == attribute) return kMaxAttributeOptionBytes;
  }
  return kMaxOptionBytes;
}

std::string option_text_error(std::string_view text, size_t cap) {
  if (cap == 0 || text.size() <= cap) return "";
  return std::to_string(text.size()) + " bytes; at most " + std::to_string(cap);
}

std::string unknown_option_message(std::string_view name,
                                   std::span<const std::string_view> long_names) {
  const std::string message = "unknown option '" + std::string(name) + "'";
  if (name.size() == 2) {
    const std::string_view long_name = long_option_for(name[1], long_names);
    if (!long_name.empty()) return message + " (did you mean '" + std::string(long_name) + "'?)";
  } else if (const std::string suggestion = did_you_mean(name, long_names); !suggestion.empty()) {
    return message + suggestion;
  }
  if (long_names.size() > 4) return message;
  return message + "; the options here are " + joined(long_names);
}

}  // namespace kcb::input
