// to_binary_plist: our own writer of Apple's binary property list ("bplist00", CFBinaryPList.c's
// layout: objects, offset table, 32-byte trailer).
//
// Why not libplist's plist_to_bin: libplist 2.2 uniques objects through a hash table that hashes
// data, arrays and dictionaries by their address but compares them by content, so whether two
// equal blobs are written once or twice depends on where malloc put them. The same archive could
// then be written as different bytes from one run to the next (the archive fuzz target caught it:
// write(read(write(x))) != write(x)). Here the output is a pure function of the tree: strings and
// keys are uniqued by content, everything else is written once per occurrence, and objects are
// numbered in depth-first order (a dictionary's keys, then its values).
#include <plist/plist.h>

#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/der.h"
#include "engine/property_list.h"

namespace kcb {

namespace {

class BinaryPlistWriter {
 public:
  Bytes write(plist_t root) {
    const uint64_t top = add(root);
    ref_size_ = bytes_for(objects_.size() - 1);
    out_.assign({'b', 'p', 'l', 'i', 's', 't', '0', '0'});
    std::vector<uint64_t> offsets;
    offsets.reserve(objects_.size());
    for (const Object& object : objects_) {
      offsets.push_back(out_.size());
      emit(object);
    }
    const uint64_t table = out_.size();
    const size_t offset_size = bytes_for(offsets.back());
    for (uint64_t offset : offsets)
      put_be(offset, offset_size);
    // Trailer: 5 unused bytes, the sort version, the two sizes, then three 8-byte numbers.
    out_.insert(out_.end(), 6, 0);
    out_.push_back(static_cast<uint8_t>(offset_size));
    out_.push_back(static_cast<uint8_t>(ref_size_));
    put_be(objects_.size(), 8);
    put_be(top, 8);
    put_be(table, 8);
    return std::move(out_);
  }

 private:
  struct Object {
    plist_type type;
    plist_t node;             // arrays, dictionaries, data, booleans
    const std::string* text;  // strings and keys (owned by strings_)
    size_t first_ref = 0;     // into refs_: an array's items; a dictionary's keys then values
    size_t entries = 0;       // items of an array, pairs of a dictionary
  };

  static size_t bytes_for(uint64_t max_value) {
    if (max_value <= 0xFF) return 1;
    if (max_value <= 0xFFFF) return 2;
    if (max_value <= 0xFFFFFFFF) return 4;
    return 8;
  }

  // Assigns the node (and everything under it) its object number; returns the number.
  uint64_t add(plist_t node) {
    const plist_type type = plist_get_node_type(node);
    switch (type) {
      case PLIST_STRING: {
        uint64_t length = 0;
        const char* text = plist_get_string_ptr(node, &length);
        return add_text(PLIST_STRING, std::string(text, length));
      }
      case PLIST_ARRAY:
        return add_array(node);
      case PLIST_DICT:
        return add_dict(node);
      case PLIST_DATA:
      case PLIST_BOOLEAN:
        objects_.push_back({type, node, nullptr});
        return objects_.size() - 1;
      default:
        // Our documents hold only these types; a writer for more would be untested code.
        KCB_ASSERT(!"to_binary_plist: node type not written by kcbackup");
        return 0;
    }
  }

  uint64_t add_text(plist_type type, std::string text) {
    auto [it, inserted] = strings_.try_emplace(std::move(text), objects_.size());
    if (inserted) objects_.push_back({type, nullptr, &it->first});
    return it->second;
  }

  uint64_t add_array(plist_t node) {
    const uint64_t id = objects_.size();
    objects_.push_back({PLIST_ARRAY, node, nullptr});
    const size_t base = pending_.size();
    const uint32_t n = plist_array_get_size(node);
    for (uint32_t i = 0; i < n; ++i)
      pending_.push_back(add(plist_array_get_item(node, i)));
    return close_container(id, base, n, 1);
  }

  uint64_t add_dict(plist_t node) {
    const uint64_t id = objects_.size();
    objects_.push_back({PLIST_DICT, node, nullptr});
    const size_t base = pending_.size();
    plist_dict_iter it = nullptr;
    plist_dict_new_iter(node, &it);
    size_t pairs = 0;
    for (;; ++pairs) {
      char* key = nullptr;
      plist_t value = nullptr;
      plist_dict_next_item(node, it, &key, &value);
      if (key == nullptr) break;
      pending_.push_back(add_text(PLIST_KEY, key));
      std::free(key);
      pending_.push_back(add(value));
    }
    std::free(it);
    return close_container(id, base, pairs, 2);
  }

  // Moves a container's child numbers from the pending stack (key, value, key, value... for a
  // dictionary) to refs_ in file order: all keys, then all values.
  uint64_t close_container(uint64_t id, size_t base, size_t entries, size_t stride) {
    objects_[id].first_ref = refs_.size();
    objects_[id].entries = entries;
    for (size_t lane = 0; lane < stride; ++lane) {
      for (size_t i = base + lane; i < pending_.size(); i += stride)
        refs_.push_back(pending_[i]);
    }
    pending_.resize(base);
    return id;
  }

  void put_be(uint64_t value, size_t bytes) {
    for (size_t i = bytes; i-- > 0;)
      out_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }

  // A marker with a count in its low nibble, or 0xF and an integer object when it does not fit.
  void put_marker(uint8_t high, uint64_t count) {
    if (count < 15) {
      out_.push_back(static_cast<uint8_t>(high << 4 | count));
      return;
    }
    out_.push_back(static_cast<uint8_t>(high << 4 | 0xF));
    const size_t bytes = bytes_for(count);
    out_.push_back(static_cast<uint8_t>(0x10 | (bytes == 1   ? 0
                                                : bytes == 2 ? 1
                                                : bytes == 4 ? 2
                                                             : 3)));
    put_be(count, bytes);
  }

  void emit(const Object& object) {
    switch (object.type) {
      case PLIST_BOOLEAN: {
        uint8_t value = 0;
        plist_get_bool_val(object.node, &value);
        out_.push_back(value ? 0x09 : 0x08);
        break;
      }
      case PLIST_DATA: {
        uint64_t length = 0;
        const auto* data =
            reinterpret_cast<const uint8_t*>(plist_get_data_ptr(object.node, &length));
        put_marker(0x4, length);
        out_.insert(out_.end(), data, data + length);
        break;
      }
      case PLIST_STRING:
      case PLIST_KEY:
        emit_text(*object.text);
        break;
      default:  // arrays and dictionaries
        put_marker(object.type == PLIST_ARRAY ? 0xA : 0xD, object.entries);
        const size_t refs = object.entries * (object.type == PLIST_ARRAY ? 1 : 2);
        for (size_t i = 0; i < refs; ++i)
          put_be(refs_[object.first_ref + i], ref_size_);
    }
  }

  // ASCII text as 0x5n; anything else as UTF-16 big-endian (0x6n, n counts 16-bit units), the
  // two string forms CFBinaryPList writes.
  void emit_text(const std::string& text) {
    bool ascii = true;
    for (unsigned char c : text)
      ascii = ascii && c < 0x80;
    if (ascii) {
      put_marker(0x5, text.size());
      out_.insert(out_.end(), text.begin(), text.end());
      return;
    }
    const std::u16string units = utf16_of(text);
    put_marker(0x6, units.size());
    for (char16_t u : units)
      put_be(u, 2);
  }

  // The readers accept only valid UTF-8 and the writers are fed what they read or wrote.
  static std::u16string utf16_of(const std::string& text) {
    KCB_ASSERT(is_valid_utf8(text));
    std::u16string units;
    for (size_t i = 0; i < text.size();) {
      const auto b = static_cast<unsigned char>(text[i]);
      const size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
      uint32_t cp = n == 1 ? b : b & (0x7F >> n);
      for (size_t k = 1; k < n; ++k)
        cp = cp << 6 | (static_cast<unsigned char>(text[i + k]) & 0x3F);
      i += n;
      if (cp < 0x10000) {
        units.push_back(static_cast<char16_t>(cp));
      } else {
        cp -= 0x10000;
        units.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
        units.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
      }
    }
    return units;
  }

  std::vector<Object> objects_;
  std::vector<uint64_t> refs_;
  std::vector<uint64_t> pending_;
  std::unordered_map<std::string, uint64_t> strings_;
  size_t ref_size_ = 1;
  Bytes out_;
};

}  // namespace

Bytes to_binary_plist(plist_t node) {
  return BinaryPlistWriter().write(node);
}

}  // namespace kcb
