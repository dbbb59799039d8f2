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
#include "engine/plist_doc.h"
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

// A class chain of at most three names (NSMutableData, NSData, NSObject), on the stack: every
// record of every backup writes one or two (issue 17).
BinaryPlistWriter::Ref class_object(BinaryPlistWriter& w,
                                    std::initializer_list<std::string_view> classes) {
  std::array<BinaryPlistWriter::Ref, 3> names{};
  KCB_ASSERT(classes.size() >= 1 && classes.size() <= names.size());
  size_t n = 0;
  for (std::string_view c : classes)
    names[n++] = w.string(c);
  const std::array<Entry, 2> entries{
      Entry{w.string("$classes"),
            w.array(std::span<const BinaryPlistWriter::Ref>(names.data(), n))},
      Entry{w.string("$classname"), names.front()}};
  return w.dict(entries);
}

// The record's fields, at most 15 (MBFile's eleven numbers and four references).
constexpr size_t kMaxRootFields = 15;

BinaryPlistWriter::Ref root_object(BinaryPlistWriter& w, const MBFile& f, const ObjectPlan& p) {
  std::vector<Entry> e;
  e.reserve(kMaxRootFields);
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

// One decoder for both readings of a record (engine/plist_doc.h): a binary one in place
// (BinaryDoc, what decode_mbfile does with every record), or libplist's tree (TreeDoc: an XML
// record, and decode_mbfile_through_libplist, which tests and the mbfile fuzz target hold to the
// same answer). A Maybe with no node is nil: a missing field, or UID 0.
template <typename Doc>
class ArchiveReader {
 public:
  using Node = typename Doc::Node;
  using Maybe = std::optional<Node>;

  ArchiveReader(const Doc& doc, const MBFileLimits& limits) : doc_(doc), limits_(limits) {}

  Result<MBFile> read(Node doc_root) {
    KCB_ASSIGN_OR_RETURN(Node root, read_envelope(doc_root));
    return read_root(root);
  }

 private:
  Status bad(std::string_view field, std::string_view what) const {
    return Status::Corruption("MBFile: " + std::string(field) + ": " + std::string(what));
  }

  // A getter of the document with the field's path ("MBFile: Size") for its error.
  template <typename Get>
  static auto named(std::string_view field, const Get& get) {
    return with_path_on_error(get, [field] { return "MBFile: " + std::string(field); });
  }

  // The dictionary's entries by key, read once, in document order (a key given twice, which only
  // an XML record can do, is its last value). Keys not asked for are ignored.
  template <size_t N>
  Result<std::array<Maybe, N>> fields(Node dict, std::string_view path,
                                      const std::array<std::string_view, N>& keys) const {
    std::array<Maybe, N> found{};
    KCB_RETURN_IF_ERROR(doc_.for_each_entry(dict, path, [&](std::string_view key, Node value) {
      for (size_t i = 0; i < N; ++i) {
        if (keys[i] == key) found[i] = value;
      }
      return Status::Ok();
    }));
    return found;
  }

  // $archiver, $version, $objects (indexed), $top.root: the root object's dictionary.
  Result<Node> read_envelope(Node doc) {
    KCB_RETURN_IF_ERROR(doc_.expect(doc, PLIST_DICT, "MBFile"));
    static constexpr std::array<std::string_view, 4> kKeys = {"$archiver", "$version", "$objects",
                                                              "$top"};
    KCB_ASSIGN_OR_RETURN(auto envelope, fields(doc, "MBFile", kKeys));
    const auto [archiver, version, objects, top] = envelope;
    KCB_ASSIGN_OR_RETURN(std::string name, string_of(archiver, "MBFile: $archiver"));
    if (name != kArchiver) {
      return bad("$archiver", "'" + printable_text(name) + "', expected NSKeyedArchiver");
    }
    KCB_RETURN_IF_ERROR(expect(version, PLIST_UINT, "MBFile: $version"));
    KCB_ASSIGN_OR_RETURN(uint64_t v, doc_.integer_bits(*version, "MBFile: $version"));
    if (v != kArchiveVersion) {
      return Status::Unsupported("MBFile: $version " + std::to_string(v) + ", expected 100000");
    }
    KCB_RETURN_IF_ERROR(index_objects(objects));
    KCB_RETURN_IF_ERROR(expect(top, PLIST_DICT, "MBFile: $top"));
    static constexpr std::array<std::string_view, 1> kRoot = {"root"};
    KCB_ASSIGN_OR_RETURN(auto top_fields, fields(*top, "MBFile: $top", kRoot));
    const Maybe root_uid = top_fields[0];
    KCB_RETURN_IF_ERROR(expect(root_uid, PLIST_UID, "MBFile: $top.root"));
    KCB_ASSIGN_OR_RETURN(Followed root, follow(*root_uid, "$top.root"));
    KCB_RETURN_IF_ERROR(expect(root.node, PLIST_DICT, "MBFile: $top.root"));
    return *root.node;
  }

  // The type of a value that may be missing ("expected a dictionary, found nothing").
  Status expect(Maybe value, plist_type type, std::string_view path) const {
    return value ? doc_.expect(*value, type, path) : expect_plist_type(nullptr, type, path);
  }

  // A required string: missing is "expected a string, found nothing".
  Result<std::string> string_of(Maybe value, std::string_view path) const {
    KCB_RETURN_IF_ERROR(expect(value, PLIST_STRING, path));
    return doc_.string(*value, path);
  }

  Status index_objects(Maybe objects) {
    KCB_RETURN_IF_ERROR(expect(objects, PLIST_ARRAY, "MBFile: $objects"));
    const size_t count = doc_.count(*objects);
    if (count > limits_.max_objects) {
      return Status::ResourceExhausted("MBFile: $objects: " + plural(count, "object") +
                                       ", over the cap of " + std::to_string(limits_.max_objects));
    }
    objects_.reserve(count);
    KCB_RETURN_IF_ERROR(doc_.for_each_item(*objects, "MBFile: $objects", [&](size_t, Node item) {
      objects_.push_back(item);
      return Status::Ok();
    }));
    // UID 0 means nil because $objects[0] is the string "$null"; an archive without it would make
    // every nil a real object.
    if (objects_.empty()) return bad("$objects", "empty");
    KCB_ASSIGN_OR_RETURN(std::string null, doc_.string(objects_[0], "MBFile: $objects[0]"));
    if (null != "$null")
      return bad("$objects[0]", "'" + printable_text(null) + "', expected $null");
    return Status::Ok();
  }

  // Where a value led: the object (none: nil) and the $objects index of the last UID followed
  // (0: the value was no UID). Indices, not nodes, identify objects on a chain: in place two
  // $objects entries may be one object, which libplist's tree copies into two.
  struct Followed {
    Maybe node;
    uint64_t index = 0;
  };

  // The object a value stands for: a UID is looked up in $objects (checked), and a UID found there
  // is followed again, at most max_depth hops, never to an object already on the way. Anything
  // else is its own value.
  Result<Followed> follow(Node value, std::string_view field) {
    std::vector<uint64_t> hops;
    Followed at{value, 0};
    while (doc_.is(*at.node, PLIST_UID)) {
      const Node uid = *at.node;
      KCB_ASSIGN_OR_RETURN(
          uint64_t index, named(field, [&](std::string_view path) { return doc_.uid(uid, path); }));
      if (index >= objects_.size()) {
        return bad(field, "UID " + std::to_string(index) + " past $objects (" +
                              std::to_string(objects_.size()) + ")");
      }
      if (index == 0) return Followed{};
      for (uint64_t seen : hops) {
        if (seen == index) return bad(field, "UID cycle through object " + std::to_string(index));
      }
      if (hops.size() >= limits_.max_depth) {
        return Status::ResourceExhausted("MBFile: " + std::string(field) + ": more than " +
                                         std::to_string(limits_.max_depth) + " UID hops");
      }
      hops.push_back(index);
      at = Followed{objects_[index], index};
    }
    return at;
  }

  // A string or data object, possibly wrapped as NSMutableString / NSMutableData ({NS.string:
  // ...} / {NS.data: ...}, the wrapped value itself maybe a UID), unwrapped at most max_depth
  // times: a wrapper that leads back to itself is a cycle.
  Result<Maybe> leaf(Node value, std::string_view field, plist_type type,
                     std::string_view wrapper_key) {
    std::vector<uint64_t> wrappers;  // the $objects indices of the wrappers reached by UID
    size_t unwrapped = 0;
    Maybe at = value;
    for (;;) {
      KCB_ASSIGN_OR_RETURN(Followed f, follow(*at, field));
      at = f.node;
      if (!at || !doc_.is(*at, PLIST_DICT)) break;
      for (uint64_t seen : wrappers) {
        if (f.index != 0 && seen == f.index)
          return bad(field, "UID cycle through a " + std::string(wrapper_key) + " wrapper");
      }
      if (unwrapped >= limits_.max_depth) {
        return Status::ResourceExhausted("MBFile: " + std::string(field) + ": more than " +
                                         std::to_string(limits_.max_depth) + " nested wrappers");
      }
      ++unwrapped;
      if (f.index != 0) wrappers.push_back(f.index);
      const std::array<std::string_view, 1> keys = {wrapper_key};
      const Node wrapper = *at;
      KCB_ASSIGN_OR_RETURN(auto inner, named(field, [&](std::string_view path) {
                             return fields(wrapper, path, keys);
                           }));
      if (!inner[0]) return bad(field, "a dictionary without " + std::string(wrapper_key));
      at = inner[0];
    }
    if (!at) return Maybe{};
    if (!doc_.is(*at, type)) return doc_.expect(*at, type, "MBFile: " + std::string(field));
    return at;
  }

  Result<std::optional<std::string>> text(Maybe value, std::string_view field) {
    if (!value) return std::optional<std::string>();
    KCB_ASSIGN_OR_RETURN(Maybe node, leaf(*value, field, PLIST_STRING, "NS.string"));
    if (!node) return std::optional<std::string>();
    KCB_ASSIGN_OR_RETURN(std::string s, named(field, [&](std::string_view path) {
                           return doc_.string(*node, path);
                         }));
    return std::optional<std::string>(std::move(s));
  }

  Result<std::optional<Bytes>> data(Maybe value, std::string_view field) {
    if (!value) return std::optional<Bytes>();
    KCB_ASSIGN_OR_RETURN(Maybe node, leaf(*value, field, PLIST_DATA, "NS.data"));
    if (!node) return std::optional<Bytes>();
    KCB_ASSIGN_OR_RETURN(
        ByteView b, named(field, [&](std::string_view path) { return doc_.data(*node, path); }));
    return std::optional<Bytes>(Bytes(b.begin(), b.end()));
  }

  // Integers are stored inline. libplist 2.2 hands every integer over as 64 unsigned bits; an
  // 8-byte integer of a binary plist is signed, so the bits are reinterpreted.
  Result<int64_t> integer(Maybe value, std::string_view field) const {
    if (!value) return int64_t{0};
    KCB_ASSIGN_OR_RETURN(uint64_t v, named(field, [&](std::string_view path) {
                           return doc_.integer_bits(*value, path);
                         }));
    return static_cast<int64_t>(v);
  }

  // A 32-bit field (mode, ids, class): 0..2^32-1, or a negative 32-bit value as Darwin's uid_t
  // holds "nobody" (-2), kept as its unsigned bits.
  Result<uint32_t> integer32(Maybe value, std::string_view field) const {
    KCB_ASSIGN_OR_RETURN(int64_t v, integer(value, field));
    if (v < INT32_MIN || v > int64_t{UINT32_MAX}) {
      return bad(field, std::to_string(v) + " does not fit in 32 bits");
    }
    return static_cast<uint32_t>(v);
  }

  Status check_class(Maybe value) {
    if (!value) return bad("$class", "missing");
    KCB_ASSIGN_OR_RETURN(Followed cls, follow(*value, "$class"));
    if (!cls.node) return bad("$class", "UID 0 ($null)");
    KCB_RETURN_IF_ERROR(doc_.expect(*cls.node, PLIST_DICT, "MBFile: $class"));
    static constexpr std::array<std::string_view, 1> kName = {"$classname"};
    KCB_ASSIGN_OR_RETURN(auto name_field, fields(*cls.node, "MBFile: $class", kName));
    KCB_ASSIGN_OR_RETURN(std::optional<std::string> name, text(name_field[0], "$class.$classname"));
    if (!name) return bad("$class", "no $classname");
    if (*name != kClassName)
      return bad("$class", "class '" + printable_text(*name) + "', expected MBFile");
    return Status::Ok();
  }

  Result<MBFile> read_root(Node root) {
    static constexpr std::array<std::string_view, 15> kKeys = {
        "$class",           "RelativePath",    "Size",          "Mode",   "UserID",
        "GroupID",          "InodeNumber",     "Flags",         "Birth",  "LastModified",
        "LastStatusChange", "ProtectionClass", "EncryptionKey", "Target", "Digest"};
    KCB_ASSIGN_OR_RETURN(auto v, fields(root, "MBFile: $top.root", kKeys));
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

  const Doc& doc_;
  MBFileLimits limits_;
  std::vector<Node> objects_;
};

// Refused before anything is parsed.
Status check_size(ByteView bytes, const MBFileLimits& limits) {
  if (bytes.size() <= limits.max_bytes) return Status::Ok();
  return Status::ResourceExhausted("MBFile: " + plural(bytes.size(), "byte") +
                                   ", over the cap of " + std::to_string(limits.max_bytes));
}

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

Result<MBFile> decode_mbfile_through_libplist(ByteView bytes, const MBFileLimits& limits) {
  KCB_RETURN_IF_ERROR(check_size(bytes, limits));
  KCB_ASSIGN_OR_RETURN(PlistPtr doc, parse_plist(bytes, "MBFile"));
  const TreeDoc tree;
  return ArchiveReader<TreeDoc>(tree, limits).read(doc.get());
}

// Every record of a real backup is a binary plist: read in place, one per Manifest.db row.
Result<MBFile> decode_mbfile(ByteView bytes, const MBFileLimits& limits) {
  if (!BinaryPlist::is_binary(bytes)) return decode_mbfile_through_libplist(bytes, limits);
  KCB_RETURN_IF_ERROR(check_size(bytes, limits));
  KCB_ASSIGN_OR_RETURN(BinaryPlist plist, BinaryPlist::parse(bytes, "MBFile"));
  const BinaryDoc doc{plist};
  return ArchiveReader<BinaryDoc>(doc, limits).read(plist.root());
}

}  // namespace kcb
