#include "kcbackup/archive.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "engine/binary_plist_writer.h"
#include "input/property_list.h"
#include "kcbackup/der.h"
#include "kcbackup/env.h"
#include "kcbackup/names.h"

namespace kcb {
namespace {

constexpr const char* kArchiveName = "keychain-backup.plist";
constexpr const char* kManifestName = "Manifest.plist";

std::string item_path(ItemClass c, size_t index, const char* field) {
  return std::string(kArchiveName) + ": " + std::string(name_of(c)) + "[" + std::to_string(index) +
         "]." + field;
}

Status read_class_array(plist_t array, ItemClass c, const ArchiveLimits& limits,
                        size_t* total_items, std::vector<ArchivedItem>* out) {
  const std::string path = std::string(kArchiveName) + ": " + std::string(name_of(c));
  KCB_RETURN_IF_ERROR(expect_plist_type(array, PLIST_ARRAY, path));
  const uint32_t n = plist_array_get_size(array);
  *total_items += n;
  if (*total_items > limits.max_items) {
    return Status::ResourceExhausted(path + ": more than " + std::to_string(limits.max_items) +
                                     " items");
  }
  out->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    plist_t entry = plist_array_get_item(array, i);
    KCB_RETURN_IF_ERROR(expect_plist_type(entry, PLIST_DICT, item_path(c, i, "")));
    KCB_ASSIGN_OR_RETURN(
        ByteView blob, plist_data(plist_dict_get_item(entry, "v_Data"), item_path(c, i, "v_Data")));
    if (blob.size() > limits.max_blob_bytes) {
      return Status::ResourceExhausted(item_path(c, i, "v_Data") + ": " +
                                       std::to_string(blob.size()) + " bytes is over the cap");
    }
    ArchivedItem item{Bytes(blob.begin(), blob.end()), {}};
    plist_t ref = plist_dict_get_item(entry, "v_PersistentRef");
    if (ref != nullptr) {
      KCB_ASSIGN_OR_RETURN(ByteView r, plist_data(ref, item_path(c, i, "v_PersistentRef")));
      item.persistent_ref.assign(r.begin(), r.end());
    }
    out->push_back(std::move(item));
  }
  return Status::Ok();
}

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
    return Status::Corruption("UUID '" + std::string(text.substr(0, 64)) +
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
  const Ref uuid_key = w.string("keybag-uuid");
  root.emplace_back(uuid_key, w.string(archive.keybag_uuid));
  return w.finish(w.dict(root));
}

Result<KeychainArchive> read_keychain_archive(ByteView bytes, const ArchiveLimits& limits) {
  KCB_ASSIGN_OR_RETURN(PlistPtr root, parse_plist(bytes, kArchiveName));
  KCB_RETURN_IF_ERROR(expect_plist_type(root.get(), PLIST_DICT, kArchiveName));
  KeychainArchive archive;
  size_t total = 0;
  bool have_uuid = false;
  plist_dict_iter it = nullptr;
  plist_dict_new_iter(root.get(), &it);
  for (;;) {
    char* raw_key = nullptr;
    plist_t value = nullptr;
    plist_dict_next_item(root.get(), it, &raw_key, &value);
    if (raw_key == nullptr) break;
    const std::string key(raw_key);
    std::free(raw_key);
    Status st;
    if (key == "keybag-uuid") {
      auto text = plist_string(value, std::string(kArchiveName) + ": keybag-uuid");
      st = text.status();
      if (st.ok())
        st = parse_uuid_text(*text).status().with_context("keychain-backup.plist: keybag-uuid");
      if (st.ok()) archive.keybag_uuid = std::string(*text);
      have_uuid = st.ok();
    } else if (key == "idnt") {
      st = Status::Corruption(std::string(kArchiveName) +
                              ": 'idnt' is not a stored class (an identity is a cert plus a key)");
    } else if (auto c = parse_item_class(key); c.ok() && key == name_of(*c)) {
      st = read_class_array(value, *c, limits, &total, &archive.items[static_cast<size_t>(*c)]);
    } else {
      const std::string shown = is_valid_utf8(key) ? key.substr(0, 64) : "(not UTF-8)";
      archive.warnings.push_back(std::string(kArchiveName) + ": unknown top-level key '" + shown +
                                 "' ignored");
    }
    if (!st.ok()) {
      std::free(it);
      return st;
    }
  }
  std::free(it);
  if (!have_uuid) return Status::Corruption(std::string(kArchiveName) + ": no keybag-uuid");
  return archive;
}

Bytes write_manifest(const Manifest& m) {
  BinaryPlistWriter w;
  using Ref = BinaryPlistWriter::Ref;
  const std::pair<Ref, Ref> lockdown[] = {
      {w.string("UniqueDeviceID"), w.string(m.unique_device_id)}};
  const std::pair<Ref, Ref> root[] = {{w.string("BackupKeyBag"), w.data(m.backup_keybag)},
                                      {w.string("IsEncrypted"), w.boolean(m.is_encrypted)},
                                      {w.string("Lockdown"), w.dict(lockdown)},
                                      {w.string("Journey"), w.string(m.journey)}};
  return w.finish(w.dict(root));
}

Result<Manifest> read_manifest(ByteView bytes) {
  KCB_ASSIGN_OR_RETURN(PlistPtr root, parse_plist(bytes, kManifestName));
  const std::string p = std::string(kManifestName) + ": ";
  KCB_RETURN_IF_ERROR(expect_plist_type(root.get(), PLIST_DICT, kManifestName));
  Manifest m;
  KCB_ASSIGN_OR_RETURN(ByteView bag, plist_data(plist_dict_get_item(root.get(), "BackupKeyBag"),
                                                p + "BackupKeyBag"));
  m.backup_keybag.assign(bag.begin(), bag.end());
  KCB_ASSIGN_OR_RETURN(m.is_encrypted, plist_bool(plist_dict_get_item(root.get(), "IsEncrypted"),
                                                  p + "IsEncrypted"));
  plist_t lockdown = plist_dict_get_item(root.get(), "Lockdown");
  KCB_RETURN_IF_ERROR(expect_plist_type(lockdown, PLIST_DICT, p + "Lockdown"));
  KCB_ASSIGN_OR_RETURN(
      std::string_view udid,
      plist_string(plist_dict_get_item(lockdown, "UniqueDeviceID"), p + "Lockdown.UniqueDeviceID"));
  m.unique_device_id = std::string(udid);
  plist_t journey = plist_dict_get_item(root.get(), "Journey");
  if (journey != nullptr) {
    KCB_ASSIGN_OR_RETURN(std::string_view j, plist_string(journey, p + "Journey"));
    m.journey = std::string(j);
  }
  return m;
}

Status write_bundle(Env& env, const std::filesystem::path& dir, const Bundle& bundle) {
  KCB_RETURN_IF_ERROR(create_empty_dir(env, dir));
  KCB_RETURN_IF_ERROR(env.create_dirs(dir / "KeychainDomain"));
  KCB_RETURN_IF_ERROR(
      write_file_atomically(env, dir / kKeychainFile, write_keychain_archive(bundle.archive)));
  // The Manifest last: a bundle whose Manifest exists is complete.
  return write_file_atomically(env, dir / kManifestFile, write_manifest(bundle.manifest));
}

Result<Bundle> read_bundle(Env& env, const std::filesystem::path& dir,
                           const ArchiveLimits& limits) {
  if (env.kind_of(dir) != FileKind::kDirectory) {
    return Status::IOError(dir.string() + ": not a backup bundle directory");
  }
  Bundle bundle;
  KCB_ASSIGN_OR_RETURN(Bytes manifest, env.read_file(dir / kManifestFile, 64 << 20));
  // The readers name the file ("Manifest.plist: ..."); the bundle's directory says which one.
  auto parsed_manifest = read_manifest(manifest);
  if (!parsed_manifest.ok()) return parsed_manifest.status().with_context(dir.string());
  bundle.manifest = std::move(*parsed_manifest);
  KCB_ASSIGN_OR_RETURN(Bytes archive, env.read_file(dir / kKeychainFile, kMaxPlistBytes));
  auto parsed_archive = read_keychain_archive(archive, limits);
  if (!parsed_archive.ok()) return parsed_archive.status().with_context(dir.string());
  bundle.archive = std::move(*parsed_archive);
  return bundle;
}

}  // namespace kcb
