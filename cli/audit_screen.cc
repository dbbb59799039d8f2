#include "cli/audit_screen.h"

#include <plist/plist.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/audit_input.h"
#include "engine/property_list.h"

namespace kcb::cli {
namespace {

std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string path_or_document(const std::string& path) {
  return path.empty() ? "document" : path;
}

// Where each value of a document sits as a parse goes on: objects remember their keys (to catch
// one given twice), arrays count their elements. Paths read like parse_audit_input's:
// "items[0].expect.survives[1]".
class PathStack {
 public:
  Status key(std::string key) {
    if (levels_.empty() || !levels_.back().object) return Status::Ok();
    Level& level = levels_.back();
    if (!level.keys.insert(key).second) {
      return Status::InvalidArgument(
          child_path(level.path, key) + ": key '" + key + "' appears twice in " +
          (level.path.empty() ? "the document" : level.path) + "; give each key once");
    }
    level.key = std::move(key);
    return Status::Ok();
  }

  // The path of the value being read, without counting it.
  std::string peek_value() const {
    if (levels_.empty()) return "";
    const Level& level = levels_.back();
    if (level.object) return child_path(level.path, level.key);
    return level.path + "[" + std::to_string(level.next_index) + "]";
  }

  std::string take_value() {
    std::string path = peek_value();
    if (!levels_.empty() && !levels_.back().object) ++levels_.back().next_index;
    return path;
  }

  // The value being read is an object or an array.
  Status open(bool object) {
    std::string path = take_value();
    if (levels_.size() >= kMaxAuditNesting) {
      return Status::ResourceExhausted(path_or_document(path) + ": nested deeper than " +
                                       std::to_string(kMaxAuditNesting));
    }
    levels_.push_back({object, std::move(path), 0, {}, {}});
    return Status::Ok();
  }

  void close() {
    if (!levels_.empty()) levels_.pop_back();
  }

 private:
  struct Level {
    bool object;
    std::string path;
    size_t next_index;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<Level> levels_;
};

// ---- JSON: one SAX pass; nlohmann's SAX parser is iterative and reports errors, never throws.
// ----

std::string without_exception_tag(const std::string& what) {
  const size_t tag_end = what.find("] ");
  return tag_end == std::string::npos ? what : what.substr(tag_end + 2);
}

class JsonScreen final : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return keep(paths_.open(true)); }
  bool key(string_t& key) override { return keep(paths_.key(key)); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return keep(paths_.open(false)); }
  bool end_array() override { return close(); }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    constexpr int kNumberOverflow = 406;  // nlohmann's out_of_range.406
    const std::string what = without_exception_tag(e.what());
    status_ = e.id == kNumberOverflow
                  ? Status::InvalidArgument(path_or_document(paths_.peek_value()) + ": " + what +
                                            " (a JSON number must fit a double)")
                  : Status::InvalidArgument("invalid JSON: " + what);
    return false;
  }

  const Status& status() const { return status_; }

 private:
  bool value() {
    paths_.take_value();
    return true;
  }
  bool close() {
    paths_.close();
    return true;
  }
  bool keep(Status status) {
    status_ = std::move(status);
    return status_.ok();
  }

  PathStack paths_;
  Status status_;
};

// ---- XML plist: a walk over the tags, enough to know which dictionary each <key> belongs to. ----

struct Tag {
  std::string_view name;
  bool closing = false;      // </name>
  bool self_closed = false;  // <name/>
};

Tag read_tag(std::string_view body) {
  Tag tag;
  tag.closing = body.starts_with('/');
  tag.self_closed = body.ends_with('/');
  if (tag.closing) body.remove_prefix(1);
  size_t n = 0;
  while (n < body.size() && std::isalnum(static_cast<unsigned char>(body[n])))
    ++n;
  tag.name = body.substr(0, n);
  return tag;
}

bool is_scalar_element(std::string_view name) {
  for (std::string_view scalar : {"string", "integer", "real", "true", "false", "date", "data"}) {
    if (name == scalar) return true;
  }
  return false;
}

// A key as libplist will read it: entities, CDATA and comments inside it are libplist's to decode
// (through the engine's reader, which refuses a reference to NUL that would abort libplist).
std::string decode_key(std::string_view raw) {
  if (raw.find_first_of("&<") == std::string_view::npos) return std::string(raw);
  const std::string doc = "<plist><dict><key>" + std::string(raw) + "</key><true/></dict></plist>";
  auto plist = parse_plist(as_bytes(doc), "key");
  if (!plist.ok() || plist_get_node_type(plist->get()) != PLIST_DICT ||
      plist_dict_get_size(plist->get()) != 1) {
    return std::string(raw);  // libplist will refuse the document itself
  }
  plist_dict_iter it = nullptr;
  plist_dict_new_iter(plist->get(), &it);
  std::unique_ptr<void, decltype(&std::free)> iter(it, &std::free);
  char* key = nullptr;
  plist_t value = nullptr;
  plist_dict_next_item(plist->get(), it, &key, &value);
  if (key == nullptr) return std::string(raw);
  std::string decoded(key);
  std::free(key);
  return decoded;
}

class XmlPlistScreen {
 public:
  explicit XmlPlistScreen(std::string_view text) : text_(text) {}

  Status run() {
    size_t at = text_.find('<');
    while (at < text_.size()) {
      KCB_ASSIGN_OR_RETURN(const size_t next, step(at));
      at = text_.find('<', next);
    }
    return Status::Ok();
  }

 private:
  // The markup starting at `at` (a '<'); returns where reading goes on.
  Result<size_t> step(size_t at) {
    const std::string_view rest = text_.substr(at);
    if (rest.starts_with("<!--")) return past(at + 4, "-->");
    if (rest.starts_with("<![CDATA[")) return past(at + 9, "]]>");
    if (rest.starts_with("<?") || rest.starts_with("<!")) return past(at + 2, ">");
    const size_t end = text_.find('>', at);
    if (end == std::string_view::npos) return text_.size();
    return on_element(read_tag(text_.substr(at + 1, end - at - 1)), end + 1);
  }

  // `content` is where the element's content starts.
  Result<size_t> on_element(const Tag& tag, size_t content) {
    if (tag.name == "key" && !tag.closing && !tag.self_closed) {
      const size_t end = key_end(content);
      KCB_RETURN_IF_ERROR(paths_.key(decode_key(text_.substr(content, end - content))));
      return end;
    }
    if (tag.name == "dict" || tag.name == "array") {
      if (tag.closing) {
        paths_.close();
      } else if (tag.self_closed) {
        paths_.take_value();
      } else {
        KCB_RETURN_IF_ERROR(paths_.open(tag.name == "dict"));
      }
      return content;
    }
    if (!tag.closing && is_scalar_element(tag.name)) paths_.take_value();
    return content;
  }

  // Where "</key" is, past comments and CDATA that may hold that text.
  size_t key_end(size_t from) const {
    size_t at = text_.find('<', from);
    while (at < text_.size()) {
      const std::string_view rest = text_.substr(at);
      if (rest.starts_with("</key")) return at;
      size_t next = at + 1;
      if (rest.starts_with("<!--")) next = past(at + 4, "-->");
      if (rest.starts_with("<![CDATA[")) next = past(at + 9, "]]>");
      at = text_.find('<', next);
    }
    return text_.size();
  }

  size_t past(size_t from, std::string_view marker) const {
    const size_t found = text_.find(marker, std::min(from, text_.size()));
    return found == std::string_view::npos ? text_.size() : found + marker.size();
  }

  std::string_view text_;
  PathStack paths_;
};

}  // namespace

Status screen_json(std::string_view text) {
  JsonScreen screen;
  const bool parsed = Json::sax_parse(text, &screen);
  if (!screen.status().ok()) return screen.status();
  if (!parsed) return Status::InvalidArgument("invalid JSON");
  return Status::Ok();
}

Status screen_xml_plist(std::string_view text) {
  return XmlPlistScreen(text).run();
}

}  // namespace kcb::cli
