// read_json: one SAX pass of nlohmann's parser, which is iterative and reports errors instead of
// throwing. It builds the tree as it goes and stops at the first key given twice, NUL character,
// number no double holds, nesting past the cap, or syntax error (input/document.h).
#include <cstddef>
#include <iterator>
#include <string>
#include <vector>

#include "input/path_stack.h"
#include "input/readers.h"

namespace kcb::input {
namespace {

// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string without_exception_tag(const std::string& what) {
  const size_t tag_end = what.find("] ");
  return tag_end == std::string::npos ? what : what.substr(tag_end + 2);
}

// A character iterator that counts how far nlohmann's lexer has read: when the parser reports
// the start of an object or an array, the last character read is its '{' or '[' (the lexer reads
// ahead only past a number, and no number is directly followed by either), so the count locates
// the container without a second pass over the text.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, size_t* consumed) : at_(at), consumed_(consumed) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    ++at_;
    ++*consumed_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const CountingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  size_t* consumed_;
};

// Where the parser is, for Positions: the text, how much of it the lexer read, the table.
struct Locator {
  std::string_view text;
  const size_t* consumed;
  Positions* positions;
  LineCounter lines;

  // The container the parser just opened, when the character last read is its bracket.
  void container(std::string path) {
    if (*consumed == 0) return;
    const size_t at = *consumed - 1;
    if (text[at] != '{' && text[at] != '[') return;  // never, by the lexer's reading (above)
    record_position(positions, lines, std::move(path), at);
  }
};

class TreeBuilder final : public nlohmann::json_sax<Tree> {
 public:
  TreeBuilder(size_t max_nesting, Locator& locator) : paths_(max_nesting), locator_(locator) {}

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  bool number_integer(number_integer_t v) override { return put(v); }
  bool number_unsigned(number_unsigned_t v) override { return put(v); }
  bool number_float(number_float_t v, const string_t&) override { return put(v); }
  bool string(string_t& v) override {
    if (v.find('\0') != std::string::npos) {
      return fail(Status::InvalidArgument(shown_path(paths_.peek_value()) +
                                          ": a string with a NUL character"));
    }
    return put(std::move(v));
  }
  bool binary(binary_t&) override {  // only the binary formats have these; JSON text never does
    return fail(Status::InvalidArgument(shown_path(paths_.peek_value()) + ": binary value"));
  }
  bool start_object(std::size_t) override { return open(Tree::object(), true); }
  bool start_array(std::size_t) override { return open(Tree::array(), false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    if (k.find('\0') != std::string::npos) {
      return fail(Status::InvalidArgument(shown_path(paths_.container_path()) +
                                          ": a key with a NUL character"));
    }
    containers_.back().key = k;
    return keep(paths_.key(std::move(k)));
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    constexpr int kNumberOverflow = 406;  // nlohmann's out_of_range.406
    const std::string what = shown_text(without_exception_tag(e.what()));
    return fail(e.id == kNumberOverflow
                    ? Status::InvalidArgument(shown_path(paths_.peek_value()) + ": " + what +
                                              " (a JSON number must fit a double)")
                    : Status::InvalidArgument("invalid JSON: " + what));
  }

  const Status& status() const { return status_; }
  Tree& tree() { return root_; }

 private:
  struct Container {
    Tree* value;
    std::string key;  // objects: the key whose value comes next
  };

  // Stores `v` where the parser is, and returns where it went.
  Tree* place(Tree v) {
    if (containers_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Container& top = containers_.back();
    if (top.value->is_array()) {
      top.value->push_back(std::move(v));
      return &top.value->back();
    }
    // PathStack refused a repeated key already: appended without ordered_json's look-up, which is
    // a linear search (an object of N keys would cost N²/2 comparisons).
    auto& members = top.value->get_ref<Tree::object_t&>();
    members.emplace_back(std::move(top.key), std::move(v));
    return &members.back().second;
  }

  bool put(Tree v) {
    paths_.take_value();
    place(std::move(v));
    return true;
  }

  bool open(Tree container, bool object) {
    if (locator_.positions != nullptr) locator_.container(paths_.peek_value());
    if (!keep(paths_.open(object))) return false;
    containers_.push_back({place(std::move(container)), {}});
    return true;
  }

  bool close() {
    paths_.close();
    containers_.pop_back();
    return true;
  }

  bool keep(Status status) {
    status_ = std::move(status);
    return status_.ok();
  }
  bool fail(Status status) {
    KCB_ASSERT(!status.ok());
    return keep(std::move(status));
  }

  PathStack paths_;
  Locator& locator_;
  std::vector<Container> containers_;
  Tree root_;
  Status status_;
};

}  // namespace

Result<Tree> read_json_text(ByteView bytes, const Limits& limits, Positions* positions) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore what follows it.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::InvalidArgument("invalid JSON: a NUL byte at byte " + std::to_string(nul));
  }
  size_t consumed = 0;
  Locator locator{text, &consumed, positions, LineCounter(text)};
  TreeBuilder builder(limits.max_nesting, locator);
  const bool parsed =
      Tree::sax_parse(CountingIterator(text.data(), &consumed),
                      CountingIterator(text.data() + text.size(), &consumed), &builder);
  if (!builder.status().ok()) return builder.status();
  if (!parsed) return Status::InvalidArgument("invalid JSON");  // every failure sets status()
  if (limits.drop_annotations) drop_annotations(builder.tree());
  return std::move(builder.tree());
}

}  // namespace kcb::input
