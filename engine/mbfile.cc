// NSKeyedArchiver MBFile records on libplist (through input/property_list.h's bounded parser) and
// BinaryPlistWriter. The decoder indexes $objects once (iterators: libplist 2.2 finds an array's
// i-th item by walking), reads each dictionary once, and follows a UID only through object_at,
// which checks the index and the chain of hops: no field can reach past $objects or loop.
#include "engine/mbfile.h"

#include <plist/plist.h>

#include <array>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/binary_plist_writer.h"
#include "input/property_list.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

constexpr uint64_t kArchiveVersion = 100000;
constexpr std::string_view kArchiver = "NSKeyedArchiver";
constexpr std::string_view kClassName = "MBFile";

// ---- encoding ----

struct ObjectPlan {
  uint64_t root = 1, path = 2, target = 0, digest = 0, key = 0, key_class = 0, file_class = 0;
  uint64_t count = 3;
};

ObjectPlan plan_objects(const MBFile& f) {
  ObjectPlan p;
  if (f.target) p.target = p.count++;
  if (f.digest) p.digest = p.count++;
  if (f.encryption_key) {
    p.key = p.count++;
    p.key_class = p.count++;
  }
  p.file_class = p.count++;
  return p;
}

using Entry = std::pair<BinaryPlistWriter::Ref, BinaryPlistWriter::Ref>;

BinaryPlistWriter::Ref class_object(BinaryPlistWriter& w,
                                    std::initializer_list<std::string_view> classes) {
  std::vector<BinaryPlistWriter::Ref> names;
  for (std::string_view c : classes)
    names.push_back(w.string(c));
  const std::array<Entry, 2> entries{Entry{w.string("$classes"), w.array(names)},
                                     Entry{w.string("$classname"), names.front()}};
  return w.dict(entries);
}

BinaryPlistWriter::Ref root_object(BinaryPlistWriter& w, const MBFile& f, const ObjectPlan& p) {
  std::vector<Entry> e;
  auto number = [&](std::string_view key, int64_t value) {
    e.emplace_back(w.string(key), w.integer(value));
  };
  auto uid = [&](std::string_view key, uint64_t index) {
    e.emplace_back(w.string(key), w.uid(index));
  };
  uid("$class", p.file_class);
  number("Birth", f.birth);
  if (f.digest) uid("Digest", p.digest);
  if (f.encryption_key) uid("EncryptionKey", p.key);
  number("Flags", f.flags);
  number("GroupID", f.group_id);
  number("InodeNumber", static_cast<int64_t>(f.inode_number));
  number("LastModified", f.last_modified);
  number("LastStatusChange", f.last_status_change);
  number("Mode", f.mode);
  number("ProtectionClass", f.protection_class);
  uid("RelativePath", p.path);
  number("Size", static_cast<int64_t>(f.size));
  if (f.target) uid("Target", p.target);
  number("UserID", f.user_id);
  return w.dict(e);
}

// ---- decoding ----

std::string plural(size_t n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

// The dictionary's entries by key, read once with an iterator. Keys not asked for are ignored.
template <size_t N>
std::array<plist_t, N> dict_fields(plist_t dict, const std::array<std::string_view, N>& keys) {
  std::array<plist_t, N> found{};
  plist_dict_iter it = nullptr;
  plist_dict_new_iter(dict, &it);
  for (;;) {
    char* key = nullptr;
    plist_t value = nullptr;
    plist_dict_next_item(dict, it, &key, &value);
    if (key == nullptr) break;
    for (size_t i = 0; i < N; ++i) {
      if (keys[i] == key) found[i] = value;
    }
    std::free(key);
  }
  std::free(it);
  return found;
}

class ArchiveReader {
 public:
  explicit ArchiveReader(const MBFileLimits& limits) : limits_(limits) {}

  Result<MBFile> decode(ByteView bytes) {
    if (bytes.size() > limits_.max_bytes) {
      return Status::ResourceExhausted("MBFile: " + plural(bytes.size(), "byte") +
                                       ", over the cap of " + std::to_string(limits_.max_bytes));
    }
    KCB_ASSIGN_OR_RETURN(PlistPtr doc, parse_plist(bytes, "MBFile"));
    KCB_ASSIGN_OR_RETURN(plist_t root, read_envelope(doc.get()));
    return read_root(root);
  }

 private:
  Status bad(std::string_view field, std::string_view what) const {
    return Status::Corruption("MBFile: " + std::string(field) + ": " + std::string(what));
  }

  // $archiver, $version, $objects (indexed), $top.root: the root object's dictionary.
  Result<plist_t> read_envelope(plist_t doc) {
    KCB_RETURN_IF_ERROR(expect_plist_type(doc, PLIST_DICT, "MBFile"));
    static constexpr std::array<std::string_view, 4> kKeys = {"$archiver", "$version", "$objects",
                                                              "$top"};
    const auto [archiver, version, objects, top] = dict_fields(doc, kKeys);
    KCB_ASSIGN_OR_RETURN(std::string_view name, plist_string(archiver, "MBFile: $archiver"));
    if (name != kArchiver) {
      return bad("$archiver", "'" + printable_text(name) + "', expected NSKeyedArchiver");
    }
    KCB_RETURN_IF_ERROR(expect_plist_type(version, PLIST_UINT, "MBFile: $version"));
    uint64_t v = 0;
    plist_get_uint_val(version, &v);
    if (v != kArchiveVersion) {
      return Status::Unsupported("MBFile: $version " + std::to_string(v) + ", expected 100000");
    }
    KCB_RETURN_IF_ERROR(index_objects(objects));
    KCB_RETURN_IF_ERROR(expect_plist_type(top, PLIST_DICT, "MBFile: $top"));
    static constexpr std::array<std::string_view, 1> kRoot = {"root"};
    const plist_t root_uid = dict_fields(top, kRoot)[0];
    KCB_RETURN_IF_ERROR(expect_plist_type(root_uid, PLIST_UID, "MBFile: $top.root"));
    KCB_ASSIGN_OR_RETURN(plist_t root, follow(root_uid, "$top.root"));
    KCB_RETURN_IF_ERROR(expect_plist_type(root, PLIST_DICT, "MBFile: $top.root"));
    return root;
  }

  Status index_objects(plist_t objects) {
    KCB_RETURN_IF_ERROR(expect_plist_type(objects, PLIST_ARRAY, "MBFile: $objects"));
    const size_t count = plist_array_get_size(objects);
    if (count > limits_.max_objects) {
      return Status::ResourceExhausted("MBFile: $objects: " + plural(count, "object") +
                                       ", over the cap of " + std::to_string(limits_.max_objects));
    }
    objects_.reserve(count);
    plist_array_iter it = nullptr;
    plist_array_new_iter(objects, &it);
    for (;;) {
      plist_t item = nullptr;
      plist_array_next_item(objects, it, &item);
      if (item == nullptr) break;
      objects_.push_back(item);
    }
    std::free(it);
    // UID 0 means nil because $objects[0] is the string "$null"; an archive without it would make
    // every nil a real object.
    auto null = objects_.empty() ? Result<std::string_view>(bad("$objects", "empty"))
                                 : plist_string(objects_[0], "MBFile: $objects[0]");
    if (!null.ok()) return null.status();
    if (*null != "$null")
      return bad("$objects[0]", "'" + printable_text(*null) + "', expected $null");
    return Status::Ok();
  }

  // The object a value stands for: a UID is looked up in $objects (checked), and a UID found there
  // is followed again, at most max_depth hops, never to an object already on the way. Anything
  // else is its own value. nullptr means nil (UID 0).
  Result<plist_t> follow(plist_t value, std::string_view field) {
    std::vector<uint64_t> hops;
    while (value != nullptr && plist_get_node_type(value) == PLIST_UID) {
      uint64_t index = 0;
      plist_get_uid_val(value, &index);
      if (index >= objects_.size()) {
        return bad(field, "UID " + std::to_string(index) + " past $objects (" +
                              std::to_string(objects_.size()) + ")");
      }
      if (index == 0) return plist_t{nullptr};
      for (uint64_t seen : hops) {
        if (seen == index) return bad(field, "UID cycle through object " + std::to_string(index));
      }
      if (hops.size() >= limits_.max_depth) {
        return Status::ResourceExhausted("MBFile: " + std::string(field) + ": more than " +
                                         std::to_string(limits_.max_depth) + " UID hops");
      }
      hops.push_back(index);
      value = objects_[index];
    }
    return value;
  }

  // A string or data object, possibly wrapped as NSMutableString / NSMutableData ({NS.string:
  // ...} / {NS.data: ...}, the wrapped value itself maybe a UID), unwrapped at most max_depth
  // times: a wrapper that leads back to itself is a cycle.
  Result<plist_t> leaf(plist_t value, std::string_view field, plist_type type,
                       std::string_view wrapper_key) {
    std::vector<plist_t> wrappers;
    for (;;) {
      KCB_ASSIGN_OR_RETURN(value, follow(value, field));
      if (value == nullptr || plist_get_node_type(value) != PLIST_DICT) break;
      for (plist_t seen : wrappers) {
        if (seen == value)
          return bad(field, "UID cycle through a " + std::string(wrapper_key) + " wrapper");
      }
      if (wrappers.size() >= limits_.max_depth) {
        return Status::ResourceExhausted("MBFile: " + std::string(field) + ": more than " +
                                         std::to_string(limits_.max_depth) + " nested wrappers");
      }
      wrappers.push_back(value);
      const std::array<std::string_view, 1> keys = {wrapper_key};
      const plist_t inner = dict_fields(value, keys)[0];
      if (inner == nullptr) {
        return bad(field, "a dictionary without " + std::string(wrapper_key));
      }
      value = inner;
    }
    if (value == nullptr) return plist_t{nullptr};
    KCB_RETURN_IF_ERROR(expect_plist_type(value, type, "MBFile: " + std::string(field)));
    return value;
  }

  Result<std::optional<std::string>> text(plist_t value, std::string_view field) {
    if (value == nullptr) return std::optional<std::string>();
    KCB_ASSIGN_OR_RETURN(plist_t node, leaf(value, field, PLIST_STRING, "NS.string"));
    if (node == nullptr) return std::optional<std::string>();
    KCB_ASSIGN_OR_RETURN(std::string_view s, plist_string(node, "MBFile: " + std::string(field)));
    return std::optional<std::string>(std::string(s));
  }

  Result<std::optional<Bytes>> data(plist_t value, std::string_view field) {
    if (value == nullptr) return std::optional<Bytes>();
    KCB_ASSIGN_OR_RETURN(plist_t node, leaf(value, field, PLIST_DATA, "NS.data"));
    if (node == nullptr) return std::optional<Bytes>();
    KCB_ASSIGN_OR_RETURN(ByteView b, plist_data(node, "MBFile: " + std::string(field)));
    return std::optional<Bytes>(Bytes(b.begin(), b.end()));
  }

  // Integers are stored inline. libplist 2.2 hands every integer over as 64 unsigned bits; an
  // 8-byte integer of a binary plist is signed, so the bits are reinterpreted.
  Result<int64_t> integer(plist_t value, std::string_view field) {
    if (value == nullptr) return int64_t{0};
    KCB_RETURN_IF_ERROR(expect_plist_type(value, PLIST_UINT, "MBFile: " + std::string(field)));
    uint64_t v = 0;
    plist_get_uint_val(value, &v);
    return static_cast<int64_t>(v);
  }

  // A 32-bit field (mode, ids, class): 0..2^32-1, or a negative 32-bit value as Darwin's uid_t
  // holds "nobody" (-2), kept as its unsigned bits.
  Result<uint32_t> integer32(plist_t value, std::string_view field) {
    KCB_ASSIGN_OR_RETURN(int64_t v, integer(value, field));
    if (v < INT32_MIN || v > int64_t{UINT32_MAX}) {
      return bad(field, std::to_string(v) + " does not fit in 32 bits");
    }
    return static_cast<uint32_t>(v);
  }

  Status check_class(plist_t value) {
    if (value == nullptr) return bad("$class", "missing");
    KCB_ASSIGN_OR_RETURN(plist_t cls, follow(value, "$class"));
    if (cls == nullptr) return bad("$class", "UID 0 ($null)");
    KCB_RETURN_IF_ERROR(expect_plist_type(cls, PLIST_DICT, "MBFile: $class"));
    static constexpr std::array<std::string_view, 1> kName = {"$classname"};
    KCB_ASSIGN_OR_RETURN(std::optional<std::string> name,
                         text(dict_fields(cls, kName)[0], "$class.$classname"));
    if (!name) return bad("$class", "no $classname");
    if (*name != kClassName)
      return bad("$class", "class '" + printable_text(*name) + "', expected MBFile");
    return Status::Ok();
  }

  Result<MBFile> read_root(plist_t root) {
    static constexpr std::array<std::string_view, 15> kKeys = {
        "$class",           "RelativePath",    "Size",          "Mode",   "UserID",
        "GroupID",          "InodeNumber",     "Flags",         "Birth",  "LastModified",
        "LastStatusChange", "ProtectionClass", "EncryptionKey", "Target", "Digest"};
    const std::array<plist_t, 15> v = dict_fields(root, kKeys);
    KCB_RETURN_IF_ERROR(check_class(v[0]));
    MBFile f;
    KCB_ASSIGN_OR_RETURN(std::optional<std::string> path, text(v[1], "RelativePath"));
    if (!path) return bad("RelativePath", "missing");
    f.relative_path = std::move(*path);
    KCB_ASSIGN_OR_RETURN(int64_t size, integer(v[2], "Size"));
    f.size = static_cast<uint64_t>(size);
    KCB_ASSIGN_OR_RETURN(f.mode, integer32(v[3], "Mode"));
    KCB_ASSIGN_OR_RETURN(f.user_id, integer32(v[4], "UserID"));
    KCB_ASSIGN_OR_RETURN(f.group_id, integer32(v[5], "GroupID"));
    KCB_ASSIGN_OR_RETURN(int64_t inode, integer(v[6], "InodeNumber"));
    f.inode_number = static_cast<uint64_t>(inode);
    KCB_ASSIGN_OR_RETURN(f.flags, integer32(v[7], "Flags"));
    KCB_ASSIGN_OR_RETURN(f.birth, integer(v[8], "Birth"));
    KCB_ASSIGN_OR_RETURN(f.last_modified, integer(v[9], "LastModified"));
    KCB_ASSIGN_OR_RETURN(f.last_status_change, integer(v[10], "LastStatusChange"));
    KCB_ASSIGN_OR_RETURN(f.protection_class, integer32(v[11], "ProtectionClass"));
    KCB_ASSIGN_OR_RETURN(std::optional<Bytes> key, data(v[12], "EncryptionKey"));
    if (key) {
      if (key->size() != kFileEncryptionKeySize) {
        return bad("EncryptionKey", plural(key->size(), "byte") +
                                        ", expected 44 (4-byte class + 40-byte wrapped key)");
      }
      f.encryption_key =
          FileEncryptionKey{load_le<uint32_t>(key->data()), Bytes(key->begin() + 4, key->end())};
    }
    KCB_ASSIGN_OR_RETURN(f.target, text(v[13], "Target"));
    KCB_ASSIGN_OR_RETURN(f.digest, data(v[14], "Digest"));
    return f;
  }

  MBFileLimits limits_;
  std::vector<plist_t> objects_;
};

}  // namespace

Bytes encode_mbfile(const MBFile& f) {
  KCB_ASSERT(is_valid_utf8(f.relative_path) && (!f.target || is_valid_utf8(*f.target)));
  KCB_ASSERT(!f.encryption_key || f.encryption_key->wrapped_key.size() == kFileWrappedKeySize);
  const ObjectPlan p = plan_objects(f);
  BinaryPlistWriter w;
  std::vector<BinaryPlistWriter::Ref> objects(p.count);
  objects[0] = w.string("$null");
  objects[p.root] = root_object(w, f, p);
  objects[p.path] = w.string(f.relative_path);
  if (f.target) objects[p.target] = w.string(*f.target);
  if (f.digest) objects[p.digest] = w.data(*f.digest);
  Bytes key_bytes;
  if (f.encryption_key) {
    key_bytes.resize(4);
    store_le32(key_bytes.data(), f.encryption_key->protection_class);
    key_bytes.insert(key_bytes.end(), f.encryption_key->wrapped_key.begin(),
                     f.encryption_key->wrapped_key.end());
    const std::array<Entry, 2> wrapper{Entry{w.string("$class"), w.uid(p.key_class)},
                                       Entry{w.string("NS.data"), w.data(key_bytes)}};
    objects[p.key] = w.dict(wrapper);
    objects[p.key_class] = class_object(w, {"NSMutableData", "NSData", "NSObject"});
  }
  objects[p.file_class] = class_object(w, {"MBFile", "NSObject"});
  const std::array<Entry, 1> top{Entry{w.string("root"), w.uid(p.root)}};
  const std::array<Entry, 4> doc{Entry{w.string("$archiver"), w.string(kArchiver)},
                                 Entry{w.string("$objects"), w.array(objects)},
                                 Entry{w.string("$top"), w.dict(top)},
                                 Entry{w.string("$version"), w.integer(kArchiveVersion)}};
  return w.finish(w.dict(doc));
}

Result<MBFile> decode_mbfile(ByteView bytes, const MBFileLimits& limits) {
  return ArchiveReader(limits).decode(bytes);
}

}  // namespace kcb
