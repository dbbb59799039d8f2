// read_property_list: an XML or binary property list into the same tree as a JSON text. libplist
// parses; the bounded reader (input/property_list.h) stands before it against reference
// bombs, deep nesting, NUL references and a binary plist's repeated key. What libplist would hide
// is screened here first: its XML parser keeps the last of a repeated key silently (a second
// "expect" could switch a CI gate off), so the XML text is walked for keys before it parses.
#include <plist/plist.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "input/path_stack.h"
#include "input/property_list.h"
#include "input/readers.h"
#include "kcbackup/utf8.h"

namespace kcb::input {
namespace {

using IterPtr = std::unique_ptr<void, decltype(&std::free)>;

// ---- The XML screen: a walk over the tags, enough to know which dictionary each <key> is in. ----

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
// (through the bounded reader, which refuses a reference to NUL that would abort libplist).
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
  IterPtr iter(it, &std::free);
  char* key = nullptr;
  plist_t value = nullptr;
  plist_dict_next_item(plist->get(), it, &key, &value);
  if (key == nullptr) return std::string(raw);
  std::string decoded(key);
  std::free(key);
  return decoded;
}

// Not a validator: what is malformed otherwise is left to libplist.
// It also notes where each <dict> and <array> starts, for Positions.
class XmlKeyScreen {
 public:
  XmlKeyScreen(std::string_view text, size_t max_nesting, Positions* positions)
      : text_(text), paths_(max_nesting), positions_(positions), lines_(text) {}

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
    return on_element(read_tag(text_.substr(at + 1, end - at - 1)), at, end + 1);
  }

  // The element's tag starts at `at`; `content` is where its content starts.
  Result<size_t> on_element(const Tag& tag, size_t at, size_t content) {
    if (tag.name == "key" && !tag.closing && !tag.self_closed) {
      const size_t end = key_end(content);
      KCB_RETURN_IF_ERROR(paths_.key(decode_key(text_.substr(content, end - content))));
      return end;
    }
    if (tag.name == "dict" || tag.name == "array") {
      if (!tag.closing && positions_ != nullptr) {
        record_position(positions_, lines_, paths_.peek_value(), at);
      }
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
  Positions* positions_;
  LineCounter lines_;
};

// ---- Where an XML property list libplist refused is malformed (libplist 2.2 says only that it
// is): the element structure of the plist vocabulary, checked after the refusal only. ----

bool is_plist_element(std::string_view name) {
  return name == "plist" || name == "dict" || name == "array" || name == "key" ||
         is_scalar_element(name);
}

// Elements that hold text, never other elements.
bool holds_text(std::string_view name) {
  return name == "key" || (is_scalar_element(name) && name != "true" && name != "false");
}

class XmlSyntaxCheck {
 public:
  explicit XmlSyntaxCheck(std::string_view text) : text_(text) {}

  // Ok when the structure is sound (libplist refused it for another reason).
  Status run() {
    size_t at = 0;
    while (at < text_.size()) {
      const size_t open = std::min(text_.find('<', at), text_.size());
      KCB_RETURN_IF_ERROR(check_text(at, open));
      if (open == text_.size()) break;
      KCB_ASSIGN_OR_RETURN(at, markup(open));
    }
    if (!open_.empty()) {
      const Open& last = open_.back();
      return error(text_.size(), "the document ends inside <" + std::string(last.name) +
                                     "> (opened at " + where(last.at) + ")");
    }
    return Status::Ok();
  }

 private:
  struct Open {
    std::string_view name;
    size_t at;
  };

  // Text between markup: only inside an element that holds text, or blank.
  Status check_text(size_t from, size_t to) const {
    if (!open_.empty() && holds_text(open_.back().name)) return Status::Ok();
    for (size_t i = from; i < to; ++i) {
      if (!std::isspace(static_cast<unsigned char>(text_[i]))) {
        return error(i, open_.empty()
                            ? "text outside the root element"
                            : "text directly inside <" + std::string(open_.back().name) + ">");
      }
    }
    return Status::Ok();
  }

  // The markup at `at` (a '<'); returns where reading goes on.
  Result<size_t> markup(size_t at) {
    const std::string_view rest = text_.substr(at);
    if (rest.starts_with("<!--")) return past(at, 4, "-->", "a comment");
    if (rest.starts_with("<![CDATA[")) return past(at, 9, "]]>", "a CDATA section");
    if (rest.starts_with("<?")) return past(at, 2, "?>", "a processing instruction");
    if (rest.starts_with("<!")) return past(at, 2, ">", "a declaration");
    const size_t end = text_.find('>', at);
    if (end == std::string_view::npos) return error(at, "'<' with no '>'");
    const Tag tag = read_tag(text_.substr(at + 1, end - at - 1));
    KCB_RETURN_IF_ERROR(element(tag, at));
    return end + 1;
  }

  Status element(const Tag& tag, size_t at) {
    if (tag.name.empty()) return error(at, "'<' that starts no element");
    const std::string shown = shown_text(tag.name);
    if (!is_plist_element(tag.name)) {
      return error(at, "unknown element <" + shown +
                           "> (a property list has plist, dict, array, "
                           "key, string, integer, real, date, data, "
                           "true and false)");
    }
    if (tag.closing) {
      if (open_.empty()) return error(at, "</" + shown + "> closes nothing");
      const Open top = open_.back();
      if (top.name != tag.name) {
        return error(at, "expected </" + std::string(top.name) + "> (for the <" +
                             std::string(top.name) + "> at " + where(top.at) + "), found </" +
                             shown + ">");
      }
      open_.pop_back();
      return Status::Ok();
    }
    if (!open_.empty() && holds_text(open_.back().name)) {
      return error(at, "<" + shown + "> inside <" + std::string(open_.back().name) +
                           ">, which holds text only");
    }
    if (!tag.self_closed) open_.push_back({tag.name, at});
    return Status::Ok();
  }

  Result<size_t> past(size_t at, size_t skip, std::string_view marker,
                      std::string_view what) const {
    const size_t found = text_.find(marker, at + skip);
    if (found == std::string_view::npos) {
      return error(at, std::string(what) + " with no end ('" + std::string(marker) + "')");
    }
    return found + marker.size();
  }

  std::string where(size_t offset) const {
    const TextPosition p = LineCounter(text_).at(offset);
    return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
  }

  Status error(size_t offset, const std::string& what) const {
    return Status::InvalidArgument("property list: XML syntax error at " + where(offset) + ": " +
                                   what);
  }

  std::string_view text_;
  std::vector<Open> open_;
};

// ---- The parsed plist into the tree, with the path of every value that has no JSON form. ----

class TreeFromPlist {
 public:
  explicit TreeFromPlist(const Limits& limits) : limits_(limits) {}

  Result<Tree> convert(plist_t node, const std::string& path, size_t depth) const {
    if (depth > limits_.max_nesting) {
      return Status::ResourceExhausted(shown_path(path) + ": nested deeper than " +
                                       std::to_string(limits_.max_nesting));
    }
    switch (plist_get_node_type(node)) {
      case PLIST_DICT:
        return dictionary(node, path, depth);
      case PLIST_ARRAY:
        return array(node, path, depth);
      case PLIST_STRING: {
        uint64_t length = 0;
        const char* s = plist_get_string_ptr(node, &length);
        const std::string_view text(s == nullptr ? "" : s, s == nullptr ? 0 : length);
        // parse_plist refused a NUL in a binary string and anywhere in XML.
        if (!is_valid_utf8(text)) return field_error(path, "a string that is not UTF-8");
        return Tree(std::string(text));
      }
      case PLIST_BOOLEAN: {
        uint8_t v = 0;
        plist_get_bool_val(node, &v);
        return Tree(v != 0);
      }
      case PLIST_UINT: {
        uint64_t v = 0;
        plist_get_uint_val(node, &v);
        return Tree(v);
      }
      case PLIST_REAL: {
        double v = 0;
        plist_get_real_val(node, &v);
        return Tree(v);
      }
      default:
        return field_error(path, "a property list <date>, <data> or UID is not accepted here");
    }
  }

 private:
  Result<Tree> dictionary(plist_t node, const std::string& path, size_t depth) const {
    Tree out = Tree::object();
    const Status read =
        for_each_plist_entry(node, shown_path(path), [&](std::string_view key, plist_t value) {
          // Skipped before it is converted: an annotation may hold a <date> or <data>.
          if (limits_.drop_annotations && is_annotation_key(key)) return Status::Ok();
          const std::string key_path = child_path(path, shown_text(key));
          if (!is_valid_utf8(key)) return field_error(key_path, "a key that is not UTF-8");
          KCB_ASSIGN_OR_RETURN(Tree v, convert(value, key_path, depth + 1));
          // Keys are unique (parse_plist and the XML screen refuse a repeated one): appended
          // without ordered_json's look-up, a linear search per key.
          out.get_ref<Tree::object_t&>().emplace_back(std::string(key), std::move(v));
          return Status::Ok();
        });
    KCB_RETURN_IF_ERROR(read);
    return out;
  }

  Result<Tree> array(plist_t node, const std::string& path, size_t depth) const {
    Tree out = Tree::array();
    const Status read =
        for_each_plist_item(node, shown_path(path), [&](size_t i, plist_t item) -> Status {
          KCB_ASSIGN_OR_RETURN(Tree v, convert(item, index_path(path, i), depth + 1));
          out.push_back(std::move(v));
          return Status::Ok();
        });
    KCB_RETURN_IF_ERROR(read);
    return out;
  }

  const Limits& limits_;
};

}  // namespace

Result<Tree> read_property_list(ByteView bytes, const Limits& limits, Positions* positions) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const bool xml = !text.starts_with("bplist");
  // Editors save XML with a BOM; libplist 2.2 refuses one, so it never sees it (nor do positions,
  // which do not count it).
  if (xml && text.starts_with(kUtf8Bom)) {
    text.remove_prefix(kUtf8Bom.size());
    bytes = bytes.subspan(kUtf8Bom.size());
  }
  if (xml) KCB_RETURN_IF_ERROR(XmlKeyScreen(text, limits.max_nesting, positions).run());
  PlistLimits plist_limits;
  plist_limits.max_depth = limits.max_nesting;
  auto plist = parse_plist(bytes, "property list", plist_limits);
  if (!plist.ok()) {
    if (plist.status().code() == Code::kResourceExhausted) return plist.status();
    if (xml) KCB_RETURN_IF_ERROR(XmlSyntaxCheck(text).run());
    // The engine calls a damaged file Corruption; here it is a document the user wrote.
    return Status::InvalidArgument(shown_text(plist.status().message()));
  }
  return TreeFromPlist(limits).convert(plist->get(), "", 0);
}

}  // namespace kcb::input
