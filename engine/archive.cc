#include "kcbackup/archive.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>

#include "engine/archive_internal.h"
#include "engine/binary_plist_writer.h"
#include "engine/plist_doc.h"
#include "input/property_list.h"
#include "kcbackup/der.h"
#include "kcbackup/env.h"
#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

constexpr const char* kArchiveName = "keychain-backup.plist";

std::string item_path(ItemClass c, size_t index, const char* field) {
  return std::string(kArchiveName) + ": " + std::string(name_of(c)) + "[" + std::to_string(index) +
         "]" + (*field != 0 ? "." : "") + field;
}

// An item's field as data. Its path is built only for an error: building three path strings per
// item cost 1.5 % of a restore's instructions.
template <typename Doc>
Result<ByteView> item_data(const Doc& doc, std::optional<typename Doc::Node> node, ItemClass c,
                           size_t i, const char* field) {
  if (!node) return expect_plist_type(nullptr, PLIST_DATA, item_path(c, i, field));
  if (!doc.is(*node, PLIST_DATA)) return doc.data(*node, item_path(c, i, field));
  return doc.data(*node, std::string_view());
}

// R14: an item that is not a dictionary fails the restore (an item that does not decrypt is the
// restore's to skip alone).
template <typename Doc>
Status read_archived_item(const Doc& doc, typename Doc::Node entry, ItemClass c, size_t i,
                          const ArchiveLimits& limits, std::vector<ArchivedItem>* out) {
  if (!doc.is(entry, PLIST_DICT)) return doc.expect(entry, PLIST_DICT, item_path(c, i, ""));
  // Two look-ups in the item's own dictionary: linear in its size, once per item.
  KCB_ASSIGN_OR_RETURN(ByteView blob, item_data(doc, doc.get(entry, "v_Data"), c, i, "v_Data"));
  if (blob.size() > limits.max_blob_bytes) {
    return Status::ResourceExhausted(item_path(c, i, "v_Data") + ": " +
                                     std::to_string(blob.size()) + " bytes is over the cap");
  }
  ArchivedItem item{Bytes(blob.begin(), blob.end()), {}};
  if (auto ref = doc.get(entry, "v_PersistentRef")) {
    KCB_ASSIGN_OR_RETURN(ByteView r, item_data(doc, ref, c, i, "v_PersistentRef"));
    item.persistent_ref.assign(r.begin(), r.end());
  }
  out->push_back(std::move(item));
  return Status::Ok();
}

Status count_item(const std::string& path, const ArchiveLimits& limits, size_t* total_items) {
  if (++*total_items > limits.max_items) {
    return Status::ResourceExhausted(path + ": more than " + std::to_string(limits.max_items) +
                                     " items");
  }
  return Status::Ok();
}

// R14: a class's value is an array of items or one item (a dictionary); anything else is ignored
// with a warning. One pass over the array (linear; see property_list.h).
template <typename Doc>
Status read_class(const Doc& doc, typename Doc::Node value, ItemClass c,
                  const ArchiveLimits& limits, size_t* total_items, std::vector<ArchivedItem>* out,
                  std::vector<std::string>* warnings) {
  const std::string path = std::string(kArchiveName) + ": " + std::string(name_of(c));
  if (doc.is(value, PLIST_DICT)) {
    KCB_RETURN_IF_ERROR(count_item(path, limits, total_items));
    return read_archived_item(doc, value, c, 0, limits, out);
  }
  if (!doc.is(value, PLIST_ARRAY)) {
    warnings->push_back(path + ": " + std::string(doc.type_name(value)) +
                        ", neither an array nor a dictionary of items: ignored");
    return Status::Ok();
  }
  return doc.for_each_item(value, path, [&](size_t i, typename Doc::Node entry) {
    KCB_RETURN_IF_ERROR(count_item(path, limits, total_items));
    return read_archived_item(doc, entry, c, i, limits, out);
  });
}

// The class a top-level key names, spelled exactly as the archive spells it. Not parse_item_class:
// that folds case and allocates for every key, and a hostile file has a million junk keys (it was
// 30 % of reading them).
std::optional<ItemClass> class_named(std::string_view key) {
  for (ItemClass c : kAllItemClasses) {
    if (key == name_of(c)) return c;
  }
  return std::nullopt;
}

// Unknown top-level keys: the first few by name, the rest counted (a hostile file of a million
// junk keys gives one line, not a million).
constexpr size_t kNamedUnknownKeys = 8;

}  // namespace

std::string uuid_text(ByteView uuid) {
  KCB_ASSERT(uuid.size() == 16);
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kDigits[uuid[i] >> 4]);
    out.push_back(kDigits[uuid[i] & 0xF]);
  }
  return out;
}

Result<Bytes> parse_uuid_text(std::string_view text) {
  const auto bad = [&] {
    return Status::Corruption("UUID '" + printable_text(text.substr(0, 64)) +
                              "' is not in 8-4-4-4-12 hexadecimal form");
  };
  if (text.size() != 36) return bad();
  std::string hex;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    if ((text[i] == '-') != dash_here) return bad();
    if (!dash_here) hex.push_back(text[i]);
  }
  Bytes out;
  if (!from_hex(hex, &out)) return bad();
  return out;
}

// Written straight from the archive (no libplist tree, no copy of the blobs) by the deterministic
// writer: a backup of a million items is mostly this file.
Bytes write_keychain_archive(const KeychainArchive& archive) {
  BinaryPlistWriter w;
  using Ref = BinaryPlistWriter::Ref;
  const Ref data_key = w.string("v_Data");
  const Ref ref_key = w.string("v_PersistentRef");
  std::vector<std::pair<Ref, Ref>> root;
  std::vector<Ref> entries;
  for (ItemClass c : kAllItemClasses) {
    entries.clear();
    for (const ArchivedItem& item : archive.items[static_cast<size_t>(c)]) {
      const std::pair<Ref, Ref> fields[] = {{data_key, w.data(item.blob)},
                                            {ref_key, w.data(item.persistent_ref)}};
      entries.push_back(w.dict(fields));
    }
    const Ref class_key = w.string(name_of(c));
    root.emplace_back(class_key, w.array(entries));
  }
  if (!archive.keybag_uuid.empty()) {  // an archive read without one (R14) is written without one
    const Ref uuid_key = w.string("keybag-uuid");
    root.emplace_back(uuid_key, w.string(archive.keybag_uuid));
  }
  return w.finish(w.dict(root));
}

namespace {

template <typename Doc>
Result<KeychainArchive> read_archive(const Doc& doc, typename Doc::Node root,
                                     const ArchiveLimits& limits) {
  KeychainArchive archive;
  size_t total = 0;
  size_t unknown_keys = 0;
  const Status read = doc.for_each_entry(
      root, kArchiveName, [&](std::string_view key, typename Doc::Node value) -> Status {
        if (key == "keybag-uuid") {
          // R14: compared with the keybag only when present (older backups have none).
          KCB_ASSIGN_OR_RETURN(std::string text,
                               doc.string(value, std::string(kArchiveName) + ": keybag-uuid"));
          KCB_RETURN_IF_ERROR(
              parse_uuid_text(text).status().with_context("keychain-backup.plist: keybag-uuid"));
          archive.keybag_uuid = std::move(text);
          return Status::Ok();
        }
        if (key == "idnt") {
          return Status::Corruption(
              std::string(kArchiveName) +
              ": 'idnt' is not a stored class (an identity is a cert plus a key)");
        }
        if (const std::optional<ItemClass> c = class_named(key)) {
          return read_class(doc, value, *c, limits, &total, &archive.items[static_cast<size_t>(*c)],
                            &archive.warnings);
        }
        if (++unknown_keys <= kNamedUnknownKeys) {
          const std::string shown =
              is_valid_utf8(key) ? std::string(key.substr(0, 64)) : "(not UTF-8)";
          archive.warnings.push_back(std::string(kArchiveName) + ": unknown top-level key '" +
                                     shown + "' ignored");
        }
        return Status::Ok();
      });
  KCB_RETURN_IF_ERROR(read);
  if (unknown_keys > kNamedUnknownKeys) {
    archive.warnings.push_back(std::string(kArchiveName) + ": " +
                               std::to_string(unknown_keys - kNamedUnknownKeys) +
                               " more unknown top-level keys ignored");
  }
  return archive;
}

}  // namespace

Result<KeychainArchive> read_keychain_archive_through_libplist(ByteView bytes,
                                                               const ArchiveLimits& limits) {
  KCB_ASSIGN_OR_RETURN(PlistPtr root, parse_plist(bytes, kArchiveName));
  return read_archive(TreeDoc{}, root.get(), limits);
}

// A binary archive (what every writer makes) is read in place; an XML one through libplist.
Result<KeychainArchive> read_keychain_archive(ByteView bytes, const ArchiveLimits& limits) {
  if (BinaryPlist::is_binary(bytes)) {
    KCB_ASSIGN_OR_RETURN(BinaryPlist plist, BinaryPlist::parse(bytes, kArchiveName));
    return read_archive(BinaryDoc{plist}, plist.root(), limits);
  }
  return read_keychain_archive_through_libplist(bytes, limits);
}

}  // namespace kcb
