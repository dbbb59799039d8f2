// Small helpers that several unit tests share: known-answer bytes written as hex, a fresh
// in-memory device (passcode on, iCloud Keychain off, random UID), and the ways tests forge a
// damaged backup folder: the keychain file (decrypted, edited and sealed again under its own file
// key in an encrypted folder) and Manifest.plist.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/crypto.h"
#include "engine/file_crypto.h"
#include "engine/keybag.h"
#include "engine/manifest_db.h"
#include "engine/mbfile.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/bytes.h"
#include "kcbackup/device.h"
#include "kcbackup/env.h"
#include "kcbackup/random.h"

namespace kcb::test_support {

// The bytes of a hex string the test itself wrote (a typo is a test bug: asserted).
inline Bytes hex(std::string_view h) {
  Bytes out;
  KCB_ASSERT(from_hex(h, &out));
  return out;
}

// The keychain's blob in a backup folder: SHA-1("KeychainDomain-keychain-backup.plist"), written
// out here as a known answer rather than computed with the engine's file_id_of.
inline constexpr std::string_view kKeychainBlobName = "51/51a4616e576dd33cd2abadfea874eb8ff246bf0e";

inline std::unique_ptr<Device> in_memory_device(Random& r) {
  auto d = Device::create_in_memory({true, false, std::nullopt}, r);
  KCB_ASSERT(d.ok());
  return std::move(d).value();
}

// The keychain file's plaintext of `folder` changed by `edit`. In an encrypted folder the blob is
// decrypted with its own file key (found the way a reader finds it: ManifestKey -> Manifest.db ->
// the row's MBFile EncryptionKey, unwrapped with `password`'s class keys) and sealed again under
// the same key, so only the plaintext differs: what a forger who knows the password can do.
inline Status edit_keychain_file(BackupFolder& folder, const std::string& password,
                                 const std::function<void(Bytes&)>& edit) {
  auto blob = folder.files.find(kKeychainBlobName);
  if (blob == folder.files.end()) return Status::NotFound("no keychain blob");
  KCB_ASSIGN_OR_RETURN(Manifest m, read_folder_manifest(folder));
  if (!m.is_encrypted) {
    edit(blob->second);
    return Status::Ok();
  }
  KCB_ASSIGN_OR_RETURN(Keybag bag, parse_keybag(m.backup_keybag));
  KCB_ASSIGN_OR_RETURN(UnlockedKeybag keys, unlock_keybag_for(bag, as_bytes(password), nullptr));
  if (!m.manifest_key || m.manifest_key->size() < 4) return Status::Corruption("no ManifestKey");
  const KeyWrapKey* db_kek = keys.kek_for(load_le32(m.manifest_key->data()));
  if (db_kek == nullptr) return Status::Corruption("ManifestKey class locked");
  KCB_ASSIGN_OR_RETURN(SecretBytes db_key,
                       aes_key_unwrap(*db_kek, ByteView(*m.manifest_key).subspan(4)));
  KCB_ASSIGN_OR_RETURN(
      SecretBytes db_bytes,
      decrypt_file_blob(db_key.view(), folder.files.at(kManifestDbName), kManifestDbName));
  KCB_ASSIGN_OR_RETURN(ManifestDb db, read_manifest_db(db_bytes.view()));
  for (const ManifestFile& row : db.files) {
    if (row.domain != kKeychainDomain || row.relative_path != kKeychainRelativePath) continue;
    KCB_ASSIGN_OR_RETURN(MBFile mb, decode_mbfile(row.file));
    if (!mb.encryption_key) return Status::Corruption("keychain row without EncryptionKey");
    const KeyWrapKey* kek = keys.kek_for(mb.encryption_key->protection_class);
    if (kek == nullptr) return Status::Corruption("keychain file class locked");
    KCB_ASSIGN_OR_RETURN(SecretBytes file_key,
                         aes_key_unwrap(*kek, mb.encryption_key->wrapped_key));
    KCB_ASSIGN_OR_RETURN(SecretBytes plain,
                         decrypt_file_blob(file_key.view(), blob->second, "keychain"));
    Bytes edited(plain.view().begin(), plain.view().end());
    edit(edited);
    KCB_ASSIGN_OR_RETURN(blob->second, encrypt_file_blob(file_key.view(), edited));
    return Status::Ok();
  }
  return Status::NotFound("Manifest.db has no keychain row");
}

// The same with the parsed archive: read, changed by `edit`, written back by the engine's writer.
inline Status edit_keychain(BackupFolder& folder, const std::string& password,
                            const std::function<void(KeychainArchive&)>& edit) {
  Status parsed = Status::Ok();
  KCB_RETURN_IF_ERROR(edit_keychain_file(folder, password, [&](Bytes& plist) {
    auto archive = read_keychain_archive(plist);
    if (!archive.ok()) {
      parsed = archive.status();
      return;
    }
    edit(*archive);
    plist = write_keychain_archive(*archive);
  }));
  return parsed;
}

// The keychain archive of `folder`, read through the public reader.
inline Result<KeychainArchive> keychain_of(const BackupFolder& folder, const std::string& password,
                                           const Device* device = nullptr) {
  BackupOpenOptions o;
  o.password = password;
  o.device = device;
  KCB_ASSIGN_OR_RETURN(OpenedBackup opened, OpenedBackup::open(folder, o));
  return opened.read_keychain();
}

// Every file under `dir`, by its name relative to it ("Manifest.plist", "51/51a4..."): a folder on
// disk as a BackupFolder, to damage and write back with write_backup_folder.
inline BackupFolder load_folder(const std::filesystem::path& dir) {
  BackupFolder out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    auto bytes = default_env().read_file(e.path(), size_t{1} << 30);
    KCB_ASSERT(bytes.ok());
    out.files[std::filesystem::relative(e.path(), dir).generic_string()] = std::move(*bytes);
  }
  return out;
}

// Manifest.plist of `folder` changed by `edit` and written back.
inline Status edit_manifest(BackupFolder& folder, const std::function<void(Manifest&)>& edit) {
  KCB_ASSIGN_OR_RETURN(Manifest m, read_folder_manifest(folder));
  edit(m);
  folder.files[kManifestPlistName] = write_manifest(m);
  return Status::Ok();
}

}  // namespace kcb::test_support
