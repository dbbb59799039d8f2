// Known answers for the backup folder kcbackup writes (docs/formats.md, "Backup folder"): a writer
// and a reader that share a wrong constant agree with each other, so each constant real backups
// fix is checked here against the value formats.md gives, read from the bytes with the building
// blocks (keybag, Manifest.db, MBFile) rather than through OpenedBackup.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>

#include "engine/binary_plist_writer.h"
#include "engine/file_crypto.h"
#include "engine/folder_writer.h"
#include "engine/keybag.h"
#include "engine/manifest_db.h"
#include "engine/mbfile.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "tests/test_support.h"

namespace kcb {
namespace {

using test_support::in_memory_device;

struct Written {
  std::unique_ptr<Random> r;
  std::unique_ptr<Device> source;
  BackupFolder folder;
};

Written backup_of(Journey journey, const std::string& password = "") {
  Written w;
  w.r = make_seeded_random(41);
  w.source = in_memory_device(*w.r);
  NewItem item;
  item.account = "a";
  item.service = "s";
  item.secret = SecretBytes(as_bytes("x"));
  EXPECT_TRUE(w.source->add(item, *w.r).ok());
  EXPECT_TRUE(
      w.source->put_app_file({"AppDomain-com.example.app", "Documents/x", 3, Bytes{'h', 'i'}})
          .ok());
  auto folder = make_backup(*w.source, {journey, password, kFastKdf}, *w.r);
  EXPECT_TRUE(folder.ok()) << folder.status().to_string();
  w.folder = std::move(folder).value();
  return w;
}

std::string blob_name(std::string_view domain, std::string_view path) {
  const std::string id = file_id_of(domain, path);
  return id.substr(0, 2) + "/" + id;
}

Keybag bag_of(const BackupFolder& f) {
  auto m = read_folder_manifest(f);
  EXPECT_TRUE(m.ok());
  auto bag = parse_keybag(m->backup_keybag);
  EXPECT_TRUE(bag.ok());
  return std::move(bag).value();
}

TEST(BackupFolderKnownAnswers, FileNamesAreTheRealLayout) {
  const Written w = backup_of(Journey::kLocal);
  std::set<std::string> names;
  for (const auto& [name, bytes] : w.folder.files)
    names.insert(name);
  // SHA-1("KeychainDomain-keychain-backup.plist") and SHA-1 of the app file's domain-path.
  EXPECT_EQ(names,
            (std::set<std::string>{"Info.plist", "Manifest.plist", "Manifest.db", "Status.plist",
                                   "51/51a4616e576dd33cd2abadfea874eb8ff246bf0e",
                                   blob_name("AppDomain-com.example.app", "Documents/x")}));
  // Info.plist is XML, the others binary property lists; Manifest.db is plain SQLite here.
  const Bytes& info = w.folder.files.at("Info.plist");
  EXPECT_EQ(std::string(info.begin(), info.begin() + 5), "<?xml");
  for (const char* name : {"Manifest.plist", "Status.plist"}) {
    const Bytes& b = w.folder.files.at(name);
    EXPECT_EQ(std::string(b.begin(), b.begin() + 8), "bplist00") << name;
  }
  const Bytes& db = w.folder.files.at("Manifest.db");
  EXPECT_EQ(std::string(db.begin(), db.begin() + 15), "SQLite format 3");
}

TEST(BackupFolderKnownAnswers, KeybagIsVersion5WithClasses1To11AndTheWrapTable) {
  // formats.md: encrypted WRAP 2 for 1-4 and 6-8, WRAP 3 for 5 and 9-11; unencrypted WRAP 2 for
  // 1-4, WRAP 3 for 5-11. Unencrypted bags have no double protection.
  for (const bool encrypted : {false, true}) {
    const Written w =
        encrypted ? backup_of(Journey::kLocalEncrypted, "pw") : backup_of(Journey::kLocal);
    const Keybag bag = bag_of(w.folder);
    EXPECT_EQ(bag.version, 5u);
    EXPECT_EQ(bag.type(), 1u);
    EXPECT_EQ(bag.double_protection, encrypted);
    ASSERT_EQ(bag.classes.size(), 11u);
    for (uint32_t c = 1; c <= 11; ++c) {
      const KeybagClass* k = bag.find_class(c);
      ASSERT_NE(k, nullptr) << c;
      const bool device_layer = c == 5 || c >= 9 || (!encrypted && c >= 5);
      EXPECT_EQ(k->wrap, device_layer ? 3u : 2u) << "class " << c << " encrypted " << encrypted;
      EXPECT_EQ(k->records.size(), 5u) << "UUID CLAS WRAP KTYP WPKY, class " << c;
    }
  }
}

// The Manifest.db rows of a folder, decrypted with the key ManifestKey wraps.
ManifestDb rows_of(const Written& w, const std::string& password) {
  auto m = read_folder_manifest(w.folder);
  EXPECT_TRUE(m.ok());
  Bytes db = w.folder.files.at("Manifest.db");
  if (m->is_encrypted) {
    EXPECT_TRUE(m->manifest_key.has_value());
    const Bytes& mk = *m->manifest_key;
    EXPECT_EQ(mk.size(), 44u);
    // 4-byte little-endian class 4.
    EXPECT_EQ(Bytes(mk.begin(), mk.begin() + 4), (Bytes{4, 0, 0, 0}));
    const Keybag bag = bag_of(w.folder);
    auto keys = unlock_keybag(bag, as_bytes(password), std::nullopt);
    EXPECT_TRUE(keys.ok());
    auto key = aes_key_unwrap(*keys->kek_for(4), ByteView(mk).subspan(4));
    EXPECT_TRUE(key.ok());
    auto plain = decrypt_file_blob(key->view(), db, "Manifest.db");
    EXPECT_TRUE(plain.ok());
    db.assign(plain->view().begin(), plain->view().end());
  } else {
    EXPECT_FALSE(m->manifest_key.has_value());
  }
  auto rows = read_manifest_db(db);
  EXPECT_TRUE(rows.ok()) << rows.status().to_string();
  return std::move(rows).value();
}

TEST(BackupFolderKnownAnswers, ManifestKeyIsClass4AndTheKeychainFileClass1) {
  const Written w = backup_of(Journey::kLocalEncrypted, "pw");
  const ManifestDb db = rows_of(w, "pw");
  bool saw_keychain = false;
  for (const ManifestFile& f : db.files) {
    if (f.flags != kManifestFile) continue;
    auto mb = decode_mbfile(f.file);
    ASSERT_TRUE(mb.ok());
    ASSERT_TRUE(mb->encryption_key.has_value()) << f.relative_path;
    EXPECT_EQ(mb->encryption_key->protection_class, mb->protection_class);
    if (f.domain == "KeychainDomain") {
      saw_keychain = true;
      EXPECT_EQ(f.relative_path, "keychain-backup.plist");
      EXPECT_EQ(mb->protection_class, 1u);
    } else {
      EXPECT_EQ(mb->protection_class, 3u);
      EXPECT_EQ(mb->size, 2u);
    }
  }
  EXPECT_TRUE(saw_keychain);
}

TEST(BackupFolderKnownAnswers, UnencryptedFilesAreTheirPlaintextAndFoldersAreListed) {
  const Written w = backup_of(Journey::kLocal);
  const ManifestDb db = rows_of(w, "");
  std::set<std::pair<std::string, uint32_t>> rows;
  for (const ManifestFile& f : db.files) {
    rows.emplace(f.domain + "/" + f.relative_path, f.flags);
    auto mb = decode_mbfile(f.file);
    ASSERT_TRUE(mb.ok());
    EXPECT_FALSE(mb->encryption_key.has_value());
  }
  EXPECT_EQ(rows, (std::set<std::pair<std::string, uint32_t>>{
                      {"KeychainDomain/", 2},
                      {"KeychainDomain/keychain-backup.plist", 1},
                      {"AppDomain-com.example.app/", 2},
                      {"AppDomain-com.example.app/Documents", 2},
                      {"AppDomain-com.example.app/Documents/x", 1}}));
  EXPECT_EQ(w.folder.files.at(blob_name("AppDomain-com.example.app", "Documents/x")),
            (Bytes{'h', 'i'}));
}

TEST(BackupFolderKnownAnswers, StatusSaysFinishedAndLockdownNamesTheSource) {
  const Written w = backup_of(Journey::kLocal);
  auto status = read_backup_status(w.folder.files.at("Status.plist"));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->snapshot_state, "finished");
  EXPECT_TRUE(status->is_full_backup);
  auto m = read_folder_manifest(w.folder);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->lockdown.unique_device_id, w.source->unique_device_id());
  EXPECT_EQ(m->version, "10.0");
  EXPECT_EQ(m->journey, "local");
  EXPECT_FALSE(m->is_encrypted);
}

TEST(BackupFolder, AnUnfinishedOrStatuslessBackupIsRefusedAndChangesNothing) {
  Written w = backup_of(Journey::kLocal);
  BackupStatus unfinished;
  unfinished.snapshot_state = "uploading";
  BackupFolder half = w.folder;
  half.files["Status.plist"] = write_backup_status(unfinished);
  BackupFolder none = w.folder;
  none.files.erase("Status.plist");
  const auto before = w.source->rows();
  for (const BackupFolder* f : {&half, &none}) {
    auto report = restore_backup(*f, *w.source, {}, *w.r);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), Code::kCorruption);
    EXPECT_NE(report.status().message().find("did not finish"), std::string::npos)
        << report.status().to_string();
    EXPECT_EQ(w.source->rows().value(), before.value());
  }
  EXPECT_TRUE(restore_backup(w.folder, *w.source, {}, *w.r).ok());
}

TEST(BackupFolder, AnIos9FolderIsRefusedAsUnsupported) {
  Written w = backup_of(Journey::kLocal);
  w.folder.files.erase("Manifest.db");
  w.folder.files["Manifest.mbdb"] = Bytes{'m', 'b', 'd', 'b'};
  auto opened = OpenedBackup::open(w.folder, {});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kUnsupported);
  EXPECT_NE(opened.status().message().find("iOS 9 and earlier"), std::string::npos);
}

TEST(BackupFolder, AListedBlobThatIsMissingIsCorruptionNamingTheFile) {
  Written w = backup_of(Journey::kLocal);
  w.folder.files.erase("51/51a4616e576dd33cd2abadfea874eb8ff246bf0e");
  auto target = in_memory_device(*w.r);
  auto report = restore_backup(w.folder, *w.source, {}, *w.r);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kCorruption);
  EXPECT_NE(report.status().message().find("KeychainDomain/keychain-backup.plist"),
            std::string::npos)
      << report.status().to_string();
  EXPECT_NE(report.status().message().find("missing from the folder"), std::string::npos);
}

TEST(BackupFolder, AMissingOrBrokenAppFileBlobFailsTheRestoreAndChangesNothing) {
  for (const bool missing : {true, false}) {
    Written w = backup_of(Journey::kLocalEncrypted, "pw");
    const std::string name = blob_name("AppDomain-com.example.app", "Documents/x");
    if (missing) {
      w.folder.files.erase(name);
    } else {
      w.folder.files[name].back() ^= 1;  // the last block's padding no longer checks
    }
    const auto before = w.source->rows();
    auto report = restore_backup(w.folder, *w.source, {"pw", {}, {}}, *w.r);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), Code::kCorruption) << report.status().to_string();
    EXPECT_NE(report.status().message().find("AppDomain-com.example.app/Documents/x"),
              std::string::npos)
        << report.status().to_string();
    EXPECT_EQ(w.source->rows().value(), before.value());
  }
}

TEST(BackupFolder, AKeyFileRoundTripsAndOpensTheBackupWithoutThePassword) {
  const Written w = backup_of(Journey::kLocalEncrypted, "pw");
  BackupOpenOptions with_password;
  with_password.password = "pw";
  auto opened = OpenedBackup::open(w.folder, with_password);
  ASSERT_TRUE(opened.ok());
  const Bytes text = backup_key_file_text(opened->password_key());
  EXPECT_EQ(text.size(), 65u);
  auto key = parse_backup_key_file(text);
  ASSERT_TRUE(key.ok());
  BackupOpenOptions with_key;
  with_key.password_key = *key;
  auto again = OpenedBackup::open(w.folder, with_key);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(again->read_keychain().ok());
  // A key of another backup is a wrong password.
  Bytes wrong = text;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  with_key.password_key = *parse_backup_key_file(wrong);
  auto refused = OpenedBackup::open(w.folder, with_key);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(parse_backup_key_file(as_bytes("abc")).status().code(), Code::kInvalidArgument);
}

// No password for an encrypted folder is its own refusal, not a wrong empty password: the user is
// told to give one, where "wrong password" would send them hunting for a typo.
TEST(BackupFolder, AnEncryptedFolderOpenedWithoutAPasswordAsksForIt) {
  const Written w = backup_of(Journey::kLocalEncrypted, "pw");
  auto none = OpenedBackup::open(w.folder, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kPermissionDenied);
  EXPECT_NE(none.status().message().find("its password is needed"), std::string::npos)
      << none.status().to_string();
  BackupOpenOptions wrong;
  wrong.password = "not-pw";
  auto refused = OpenedBackup::open(w.folder, wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(refused.status().message().find("its password is needed"), std::string::npos);
}

// decode_records false (what extract and audit --backup can use): open() lists the rows without
// decoding their MBFile records, and a bad record is refused with open()'s own error, naming the
// row and the field, the first time it is needed: by record() and by read_file, even in an
// unencrypted backup that needs nothing from it. The default open refuses the folder outright.
TEST(BackupFolder, ALazilyDecodedRecordIsCheckedBeforeItsFileIsRead) {
  Written w = backup_of(Journey::kLocal);
  ManifestDb db = rows_of(w, "");
  size_t row = 0;
  for (size_t i = 0; i < db.files.size(); ++i) {
    if (db.files[i].relative_path != "Documents/x") continue;
    Bytes bad = db.files[i].file;
    bad.resize(bad.size() / 2);  // a truncated binary plist: no trailer
    db.files[i].file = bad;
    row = i + 1;
  }
  ASSERT_NE(row, 0u);
  w.folder.files[kManifestDbName] = write_manifest_db(db).value();
  const std::string id = file_id_of("AppDomain-com.example.app", "Documents/x");
  const std::string where =
      "Manifest.db: Files row " + std::to_string(row) + " (fileID " + id + "): file: MBFile: ";

  auto eager = OpenedBackup::open(w.folder, {});
  ASSERT_FALSE(eager.ok());
  EXPECT_EQ(eager.status().code(), Code::kCorruption);
  EXPECT_TRUE(eager.status().message().starts_with(where)) << eager.status().message();

  BackupOpenOptions lazy;
  lazy.decode_records = false;
  auto opened = OpenedBackup::open(w.folder, lazy);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(opened->files().size(), db.files.size());
  const BackupFileEntry* e = opened->find("AppDomain-com.example.app", "Documents/x");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->record_decoded);
  auto record = opened->record(*e);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().message(), eager.status().message());
  auto contents = opened->read_file(*e, 1 << 20);
  ASSERT_FALSE(contents.ok());
  EXPECT_EQ(contents.status().message(), eager.status().message());
  // The other files open and read as they do through the default open.
  auto keychain = opened->read_keychain();
  EXPECT_TRUE(keychain.ok()) << keychain.status().to_string();
  const BackupFileEntry* k = opened->find(kKeychainDomain, kKeychainRelativePath);
  ASSERT_NE(k, nullptr);
  auto facts = opened->record(*k);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->protection_class, 1u);
}

// Manifest.db's own key in an encrypted folder: what ManifestKey wraps under its class's key.
SecretBytes manifest_db_key(const BackupFolder& folder, const std::string& password) {
  auto m = read_folder_manifest(folder);
  EXPECT_TRUE(m.ok() && m->manifest_key.has_value());
  const Bytes& mk = *m->manifest_key;
  auto keys = unlock_keybag(bag_of(folder), as_bytes(password), std::nullopt);
  EXPECT_TRUE(keys.ok());
  const uint32_t key_class = mk[0];
  auto key = aes_key_unwrap(*keys->kek_for(key_class), ByteView(mk).subspan(4));
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

// Manifest.plist with its BackupKeyBag changed by `edit` on the bag's records.
void edit_backup_keybag(BackupFolder& folder, const std::function<void(Keybag&)>& edit) {
  auto m = read_folder_manifest(folder);
  ASSERT_TRUE(m.ok());
  Keybag bag = bag_of(folder);
  edit(bag);
  m->backup_keybag = serialize_keybag(bag);
  folder.files["Manifest.plist"] = write_manifest(*m);
}

// A bag whose TYPE is not 1 (a device's system bag, an escrow bag) holds other keys than the
// backup's: refused by name, though the password unwraps its classes.
TEST(BackupFolder, ABackupKeyBagOfAnotherTypeIsRefused) {
  for (const uint8_t type : {0, 2, 3}) {
    Written w = backup_of(Journey::kLocalEncrypted, "pw");
    edit_backup_keybag(w.folder, [&](Keybag& bag) {
      for (KeybagRecord& r : bag.header_records)
        if (r.tag == "TYPE") r.value = Bytes{0, 0, 0, type};
    });
    ASSERT_EQ(bag_of(w.folder).type(), type);
    BackupOpenOptions o;
    o.password = "pw";
    auto opened = OpenedBackup::open(w.folder, o);
    ASSERT_FALSE(opened.ok()) << int{type};
    EXPECT_EQ(opened.status().code(), Code::kCorruption);
    EXPECT_NE(
        opened.status().message().find("TYPE " + std::to_string(type) + " is not a backup keybag"),
        std::string::npos)
        << opened.status().to_string();
  }
}

// ManifestKey names the class its key is wrapped under; we write 4, as iOS does, but a reader
// takes the class it names (formats.md), and a class the bag lacks is refused by number.
TEST(BackupFolder, ManifestKeyIsUnwrappedUnderTheClassItNames) {
  Written w = backup_of(Journey::kLocalEncrypted, "pw");
  const SecretBytes db_key = manifest_db_key(w.folder, "pw");
  auto keys = unlock_keybag(bag_of(w.folder), as_bytes("pw"), std::nullopt);
  ASSERT_TRUE(keys.ok());
  auto m = read_folder_manifest(w.folder);
  ASSERT_TRUE(m.ok());
  auto rewrapped = aes_key_wrap(*keys->kek_for(3), db_key.view());
  ASSERT_TRUE(rewrapped.ok());
  Bytes mk{3, 0, 0, 0};
  mk.insert(mk.end(), rewrapped->begin(), rewrapped->end());
  m->manifest_key = mk;
  w.folder.files["Manifest.plist"] = write_manifest(*m);
  BackupOpenOptions o;
  o.password = "pw";
  auto opened = OpenedBackup::open(w.folder, o);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_TRUE(opened->read_keychain().ok());

  mk[0] = 12;  // no such class in the bag
  m->manifest_key = mk;
  w.folder.files["Manifest.plist"] = write_manifest(*m);
  auto refused = OpenedBackup::open(w.folder, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kCorruption);
  EXPECT_NE(refused.status().message().find("ManifestKey: class 12 has no unlocked key"),
            std::string::npos)
      << refused.status().to_string();
}

// Class 5 has the device layer (WRAP 3) in an encrypted backup's bag. A file of that class opens
// on the source device only: on another one the restore skips it and restores the items, and a
// reader given no device is told the class is locked. A file claiming a class the bag does not
// have is a broken record.
TEST(BackupFolder, AFileOfADeviceBoundClassOpensOnlyOnItsSourceDevice) {
  Written w = backup_of(Journey::kLocal);  // for its source device and item
  ASSERT_TRUE(
      w.source->put_app_file({"AppDomain-com.example.app", "Library/bound", 5, Bytes{'b'}}).ok());
  auto folder = make_backup(*w.source, {Journey::kLocalEncrypted, "pw", kFastKdf}, *w.r);
  ASSERT_TRUE(folder.ok());
  auto other = in_memory_device(*w.r);
  auto report = restore_backup(*folder, *other, {"pw", {}, {}}, *w.r);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_EQ(report->items[0].reason, LossReason::kNone);
  EXPECT_EQ(other->rows().value().size(), 1u);

  auto read_bound = [&](const Device* device) {
    BackupOpenOptions o;
    o.password = "pw";
    o.device = device;
    auto opened = OpenedBackup::open(*folder, o);
    EXPECT_TRUE(opened.ok()) << opened.status().to_string();
    const BackupFileEntry* e = opened->find("AppDomain-com.example.app", "Library/bound");
    EXPECT_NE(e, nullptr);
    return opened->read_file(*e, 16);
  };
  auto on_source = read_bound(w.source.get());
  ASSERT_TRUE(on_source.ok()) << on_source.status().to_string();
  EXPECT_EQ(Bytes(on_source->view().begin(), on_source->view().end()), Bytes{'b'});
  auto on_other = read_bound(other.get());
  ASSERT_FALSE(on_other.ok());
  EXPECT_EQ(on_other.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(on_other.status().message().find("bound to the source device"), std::string::npos)
      << on_other.status().to_string();
  auto no_device = read_bound(nullptr);
  ASSERT_FALSE(no_device.ok());
  EXPECT_EQ(no_device.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(no_device.status().message().find("protection class 5 is locked"), std::string::npos)
      << no_device.status().to_string();

  // The same file's record claiming class 12: Corruption on every device, and no restore.
  Written bad{std::move(w.r), std::move(w.source), std::move(folder).value()};
  const SecretBytes db_key = manifest_db_key(bad.folder, "pw");
  auto plain = decrypt_file_blob(db_key.view(), bad.folder.files.at(kManifestDbName), "db");
  ASSERT_TRUE(plain.ok());
  auto db = read_manifest_db(plain->view());
  ASSERT_TRUE(db.ok());
  for (ManifestFile& f : db->files) {
    if (f.relative_path != "Library/bound") continue;
    MBFile mb = decode_mbfile(f.file).value();
    mb.protection_class = 12;
    mb.encryption_key->protection_class = 12;
    f.file = encode_mbfile(mb);
  }
  bad.folder.files[kManifestDbName] =
      encrypt_file_blob(db_key.view(), write_manifest_db(*db).value()).value();
  const auto before = other->rows().value();
  auto refused = restore_backup(bad.folder, *other, {"pw", {}, {}}, *bad.r);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kCorruption);
  EXPECT_NE(refused.status().message().find("protection class 12 is not in BackupKeyBag"),
            std::string::npos)
      << refused.status().to_string();
  EXPECT_EQ(other->rows().value(), before);
}

// The entries' names are views into the OpenedBackup: they must stay right as the names outgrow
// one block of its arena (64 KiB) and when the OpenedBackup is moved.
TEST(BackupFolder, EveryListedNameSurvivesManyFilesAndAMove) {
  auto r = make_seeded_random(43);
  auto source = in_memory_device(*r);
  std::set<std::pair<std::string, std::string>> want;
  for (int i = 0; i < 3000; ++i) {
    const std::string domain = "AppDomain-com.example.app" + std::to_string(i / 1000);
    const std::string path = "Documents/a-rather-long-file-name-" + std::to_string(i);
    ASSERT_TRUE(source->put_app_file({domain, path, 3, Bytes{1}}).ok());
    want.emplace(domain, path);
  }
  auto folder = make_backup(*source, {Journey::kLocal, "", kFastKdf}, *r);
  ASSERT_TRUE(folder.ok());
  BackupOpenOptions o;
  o.decode_records = false;
  auto opened = OpenedBackup::open(*folder, o);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  const OpenedBackup moved = std::move(opened).value();
  std::set<std::pair<std::string, std::string>> got;
  for (const BackupFileEntry& e : moved.files()) {
    if (e.flags != kManifestFile || e.domain == kKeychainDomain) continue;
    got.emplace(std::string(e.domain), std::string(e.relative_path));
    EXPECT_EQ(e.file_id(), file_id_of(e.domain, e.relative_path));
  }
  EXPECT_EQ(got, want);
}

// Info.plist is written directly (issue 17); libplist's XML writer is the known answer. Every
// field carries text that needs escaping or that libplist passes through raw (quotes, tabs,
// newlines, control characters, non-ASCII), and the date runs over the whole int32 range of
// seconds since 2001 that plist_new_date takes, both ends and the epochs included, and past it.
TEST(InfoPlist, WrittenDirectlyAsLibplistWritesIt) {
  const std::vector<std::string> texts = {"",
                                          "iPhone 15",
                                          "a<b>&c",
                                          "&amp; already",
                                          "\"quoted\" 'one'",
                                          "tab\there",
                                          "line\nbreak\r\n",
                                          std::string("\x01\x1f\x7f", 3),
                                          "caf\xc3\xa9 \xf0\x9f\x94\x91",
                                          "]]>",
                                          "<![CDATA[x]]>",
                                          "<key>fake</key>"};
  const std::vector<int64_t> dates = {
      0, kAppleEpochUnixSeconds, 1'765'000'000, kAppleEpochUnixSeconds + INT32_MAX,
      kAppleEpochUnixSeconds + INT32_MIN, kAppleEpochUnixSeconds - 1, -1,
      // past int32 from 2001: libplist takes the truncated value
      kAppleEpochUnixSeconds + int64_t{INT32_MAX} + 1000, 5'000'000'000};
  size_t i = 0;
  for (const std::string& text : texts) {
    for (int64_t date : dates) {
      LockdownInfo l;
      l.build_version = text;
      l.device_name = texts[(i + 1) % texts.size()];
      l.product_type = texts[(i + 2) % texts.size()];
      l.product_version = texts[(i + 3) % texts.size()];
      l.serial_number = texts[(i + 4) % texts.size()];
      l.unique_device_id = texts[(i + 5) % texts.size()];
      ++i;
      const Bytes direct = write_info_plist(l, date);
      const Bytes reference = write_info_plist_through_libplist(l, date);
      EXPECT_EQ(std::string(direct.begin(), direct.end()),
                std::string(reference.begin(), reference.end()))
          << "text " << printable_text(text) << ", date " << date;
    }
  }
}

}  // namespace
}  // namespace kcb
