// Backup, restore and Quick Start through real cryptography: the seed's 12 measured rows come out
// of the engine, every whole-restore failure leaves the target exactly as it was, and the rules of
// Apple's own KeychainBackupTests hold by mechanism: App Clip items and (without SOS) tombstones
// stay out of backups (R10, R15); persistent references come back, or are renewed when they must
// be (R11); the import skips system-bound and token items and puts the target's own system-bound
// items back (R12); a collision with the target's synchronizable item keeps the target's (R13).
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "engine/folder_writer.h"
#include "engine/keybag.h"
#include "input/property_list.h"
#include "kcbackup/backup.h"
#include "kcbackup/names.h"
#include "kcbackup/persistent_ref.h"
#include "tests/test_support.h"

namespace kcb {
namespace {

NewItem item(Accessibility a, std::string account) {
  NewItem n;
  n.accessible = a;
  n.account = std::move(account);
  n.service = "seed";
  n.secret = SecretBytes(as_bytes("secret-" + n.account));
  return n;
}

std::unique_ptr<Device> device(Random& r) {
  return test_support::in_memory_device(r);
}

bool has_account(Device& d, const std::string& account) {
  for (const auto& s : *d.list()) {
    if (std::string(s.item.account().begin(), s.item.account().end()) == account) return true;
  }
  return false;
}

BackupOptions options(Journey j) {
  return {j, j == Journey::kLocalEncrypted ? "hunter2" : "", kFastKdf};
}

// The keychain archive a folder carries, read back through OpenedBackup (empty on failure, which
// the caller's next expectation then shows).
KeychainArchive archive_of(const BackupFolder& folder, const std::string& password) {
  auto archive = test_support::keychain_of(folder, password);
  EXPECT_TRUE(archive.ok()) << archive.status().to_string();
  return archive.ok() ? std::move(archive).value() : KeychainArchive{};
}

// `change` applied to the folder's keychain archive (re-sealed under its file key when encrypted).
void edit_archive(BackupFolder& folder, const std::string& password,
                  const std::function<void(KeychainArchive&)>& change) {
  const Status st = test_support::edit_keychain(folder, password, change);
  ASSERT_TRUE(st.ok()) << st.to_string();
}

// The seed's experiment: each row is a real backup and a real restore.
TEST(Backup, ReproducesTheSeedsMeasuredTable) {
  struct Row {
    Journey journey;
    bool same_device;
    bool normal_restored;
    bool this_device_only_restored;
  } rows[] = {
      {Journey::kLocal, true, true, true},          {Journey::kLocal, false, false, false},
      {Journey::kLocalEncrypted, true, true, true}, {Journey::kLocalEncrypted, false, true, false},
      {Journey::kIcloudBackup, true, true, true},   {Journey::kIcloudBackup, false, false, false},
  };
  auto r = make_seeded_random(11);
  for (const Row& row : rows) {
    auto a = device(*r);
    ASSERT_TRUE(a->add(item(Accessibility::kWhenUnlocked, "normal"), *r).ok());
    ASSERT_TRUE(a->add(item(Accessibility::kWhenUnlockedThisDeviceOnly, "tdo"), *r).ok());
    auto bundle = make_backup(*a, options(row.journey), *r);
    ASSERT_TRUE(bundle.ok()) << bundle.status().to_string();
    std::unique_ptr<Device> other;
    Device* target = a.get();
    if (row.same_device) {
      ASSERT_TRUE(a->erase(*r).ok());
    } else {
      other = device(*r);
      target = other.get();
    }
    auto report = restore_backup(*bundle, *target, {"hunter2", {}, {}}, *r);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(has_account(*target, "normal"), row.normal_restored);
    EXPECT_EQ(has_account(*target, "tdo"), row.this_device_only_restored);
    EXPECT_EQ(report->items.size(), 2u);
  }
}

TEST(Backup, ExportFilterKeepsAkpuTokenAuthAndSystemBoundItemsOut) {
  auto r = make_seeded_random(12);
  auto a = device(*r);
  ASSERT_TRUE(a->add(item(Accessibility::kWhenPasscodeSetThisDeviceOnly, "akpu"), *r).ok());
  NewItem se = item(Accessibility::kWhenUnlockedThisDeviceOnly, "se");
  se.item_class = ItemClass::kKeys;
  se.token = Token::kSecureEnclave;
  ASSERT_TRUE(a->add(se, *r).ok());
  NewItem auth = item(Accessibility::kWhenUnlocked, "auth");
  auth.auth_constraint = true;
  ASSERT_TRUE(a->add(auth, *r).ok());
  NewItem sysb = item(Accessibility::kWhenUnlocked, "sysb");
  sysb.system_bound = SystemBound::kPreserveDuringRestore;
  ASSERT_TRUE(a->add(sysb, *r).ok());
  NewItem sync = item(Accessibility::kWhenUnlocked, "sync");
  sync.synchronizable = true;
  ASSERT_TRUE(a->add(sync, *r).ok());
  auto bundle = make_backup(*a, options(Journey::kLocal), *r);
  ASSERT_TRUE(bundle.ok());
  size_t total = 0;
  for (const auto& v : archive_of(*bundle, "").items)
    total += v.size();
  EXPECT_EQ(total, 1u);  // only the synchronizable item
}

// Every file of the folder, keychain blob, Manifest.db, Manifest.plist and Status.plist alike.
TEST(Backup, SameSeedGivesByteIdenticalFolders) {
  std::map<std::string, Bytes, std::less<>> first;
  for (int run = 0; run < 2; ++run) {
    auto r = make_seeded_random(13);
    auto a = device(*r);
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "x"), *r).ok());
    auto bundle = make_backup(*a, options(Journey::kLocalEncrypted), *r);
    ASSERT_TRUE(bundle.ok());
    EXPECT_TRUE(bundle->files.count(test_support::kKeychainBlobName));
    if (run == 0)
      first = bundle->files;
    else
      EXPECT_EQ(bundle->files, first);
  }
}

struct Fixture {
  std::unique_ptr<Random> r = make_seeded_random(14);
  std::unique_ptr<Device> source = device(*r);
  std::unique_ptr<Device> target = device(*r);
  BackupFolder bundle;
  Fixture() {
    EXPECT_TRUE(source->add(item(Accessibility::kAfterFirstUnlock, "a"), *r).ok());
    EXPECT_TRUE(source->add(item(Accessibility::kAlways, "b"), *r).ok());
    EXPECT_TRUE(target->add(item(Accessibility::kWhenUnlocked, "already-here"), *r).ok());
    bundle = *make_backup(*source, options(Journey::kLocalEncrypted), *r);
  }
  std::vector<KeychainRow> target_rows() { return *DeviceInternals::store(*target).list_all(); }
};

TEST(Restore, WrongOrMissingPasswordRestoresNothingAndChangesNothing) {
  Fixture f;
  const auto before = f.target_rows();
  auto wrong = restore_backup(f.bundle, *f.target, {"hunter3", {}, {}}, *f.r);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(restore_backup(f.bundle, *f.target, {"", {}, {}}, *f.r).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(f.target_rows(), before);
}

TEST(Restore, KeybagUuidMismatchFailsTheWholeRestore) {
  Fixture f;
  const auto before = f.target_rows();
  edit_archive(f.bundle, "hunter2",
               [](KeychainArchive& a) { a.keybag_uuid = "00000000-0000-0000-0000-000000000000"; });
  auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}, {}}, *f.r);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("keybag-uuid"), std::string::npos);
  EXPECT_EQ(f.target_rows(), before);
}

TEST(Restore, AManifestClaimingNoEncryptionOverAPasswordOnlyClassIsCorrupt) {
  Fixture f;
  const auto before = f.target_rows();
  ASSERT_TRUE(
      test_support::edit_manifest(f.bundle, [](Manifest& m) { m.is_encrypted = false; }).ok());
  auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}, {}}, *f.r);
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();
  EXPECT_NE(r.status().message().find("IsEncrypted is false"), std::string::npos);
  EXPECT_EQ(f.target_rows(), before);
}

// The folder's own structure: each damage is refused with its precise code before the target is
// touched. Status.plist is the commit mark, Manifest.db the index, the keychain blob what it lists;
// a folder with only Manifest.mbdb is an iOS 9 backup.
TEST(Restore, AFolderMissingAFileOrUnfinishedIsRefusedAndChangesNothing) {
  struct Case {
    std::string name;
    std::function<void(BackupFolder&)> damage;
    Code code;
    std::string message;
  };
  const Case cases[] = {
      {"no Status.plist", [](BackupFolder& b) { b.files.erase(kStatusPlistName); },
       Code::kCorruption, "Status.plist"},
      {"unfinished",
       [](BackupFolder& b) {
         BackupStatus st;
         st.snapshot_state = "uploading";
         b.files[kStatusPlistName] = write_backup_status(st);
       },
       Code::kCorruption, "SnapshotState 'uploading'"},
      {"no Manifest.plist", [](BackupFolder& b) { b.files.erase(kManifestPlistName); },
       Code::kCorruption, "Manifest.plist"},
      {"no Manifest.db", [](BackupFolder& b) { b.files.erase(kManifestDbName); }, Code::kCorruption,
       "Manifest.db"},
      {"Manifest.mbdb only",
       [](BackupFolder& b) {
         b.files.erase(kManifestDbName);
         b.files[kManifestMbdbName] = Bytes{'m', 'b', 'd', 'b', 5, 0};
       },
       Code::kUnsupported, "Manifest.mbdb"},
      {"no keychain blob",
       [](BackupFolder& b) { b.files.erase(std::string(test_support::kKeychainBlobName)); },
       Code::kCorruption, "missing from the folder"},
      {"ManifestKey of 43 bytes",
       [](BackupFolder& b) {
         ASSERT_TRUE(
             test_support::edit_manifest(b, [](Manifest& m) { m.manifest_key->pop_back(); }).ok());
       },
       Code::kCorruption, "ManifestKey: 43 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    const auto before = f.target_rows();
    c.damage(f.bundle);
    auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}, {}}, *f.r);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
    EXPECT_EQ(f.target_rows(), before);
  }
}

// A file Manifest.db lists whose blob is missing, or whose blob's padding is wrong, makes the
// folder invalid input (issue 13: exit 2, target unchanged), not only when it is the keychain.
TEST(Restore, AListedAppFileMissingOrBadlyPaddedIsRefusedAndChangesNothing) {
  for (const bool remove : {true, false}) {
    SCOPED_TRACE(remove ? "blob missing" : "bad padding");
    Fixture f;
    ASSERT_TRUE(f.source->put_app_file({"HomeDomain", "Library/sixteen", 3, Bytes(16, 0x61)}).ok());
    f.bundle = *make_backup(*f.source, options(Journey::kLocalEncrypted), *f.r);
    const std::string id = file_id_of("HomeDomain", "Library/sixteen");
    const std::string blob = id.substr(0, 2) + "/" + id;
    ASSERT_EQ(f.bundle.files.count(blob), 1u);
    if (remove) {
      f.bundle.files.erase(blob);
    } else {
      f.bundle.files[blob].back() ^= 0x5A;  // the last block no longer ends in valid padding
    }
    const auto before = f.target_rows();
    auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}, {}}, *f.r);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();
    EXPECT_NE(r.status().message().find("HomeDomain/Library/sixteen"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(f.target_rows(), before);
  }
}

TEST(Restore, ReplacesNonSynchronizableItemsAndReportsEachFate) {
  Fixture f;
  auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}, {}}, *f.r);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->replaced, 1);
  EXPECT_EQ(r->restored_count(), 2u);
  EXPECT_FALSE(has_account(*f.target, "already-here"));
  EXPECT_TRUE(has_account(*f.target, "a"));
}

// restore_keychain_archive: a folder's two decisive files, its Manifest.plist and the plaintext of
// its keychain file, restore exactly as the folder does; its refusals change nothing either.

// The folder's keychain file as a tool that decrypts a backup leaves it.
SecretBytes keychain_plaintext(const BackupFolder& folder, const std::string& password) {
  BackupOpenOptions o;
  o.password = password;
  auto opened = OpenedBackup::open(folder, o);
  EXPECT_TRUE(opened.ok()) << opened.status().to_string();
  if (!opened.ok()) return SecretBytes();
  const BackupFileEntry* e = opened->find(kKeychainDomain, kKeychainRelativePath);
  EXPECT_NE(e, nullptr);
  if (e == nullptr) return SecretBytes();
  auto plist = opened->read_file(*e, size_t{1} << 20);
  EXPECT_TRUE(plist.ok()) << plist.status().to_string();
  return plist.ok() ? std::move(plist).value() : SecretBytes();
}

TEST(RestoreKeychainFile, RestoresWhatTheFolderRestores) {
  for (const Journey j : {Journey::kLocal, Journey::kLocalEncrypted}) {
    const std::string password = options(j).password;
    Fixture through_folder;
    through_folder.bundle = *make_backup(*through_folder.source, options(j), *through_folder.r);
    Fixture bare;
    bare.bundle = *make_backup(*bare.source, options(j), *bare.r);
    auto folder_report = restore_backup(through_folder.bundle, *through_folder.target,
                                        {password, {}, {}}, *through_folder.r);
    ASSERT_TRUE(folder_report.ok()) << folder_report.status().to_string();
    auto archive = read_keychain_archive(keychain_plaintext(bare.bundle, password).view(), {});
    ASSERT_TRUE(archive.ok()) << archive.status().to_string();
    auto bare_report = restore_keychain_archive(*read_folder_manifest(bare.bundle), *archive,
                                                *bare.target, {password, {}, {}}, *bare.r);
    ASSERT_TRUE(bare_report.ok()) << bare_report.status().to_string();
    EXPECT_EQ(bare_report->items, folder_report->items) << name_of(j);
    EXPECT_EQ(bare_report->replaced, folder_report->replaced);
    EXPECT_EQ(bare_report->warnings, folder_report->warnings);
    EXPECT_EQ(bare.target_rows(), through_folder.target_rows()) << name_of(j);
    // Onto another device: an unencrypted backup brings nothing (R2), an encrypted one both (R3).
    EXPECT_EQ(bare_report->restored_count(), j == Journey::kLocal ? 0u : 2u);
  }
}

TEST(RestoreKeychainFile, RefusesAWrongPasswordOrAnotherBagsFileAndChangesNothing) {
  Fixture f;
  const auto before = f.target_rows();
  const Manifest manifest = *read_folder_manifest(f.bundle);
  auto archive = read_keychain_archive(keychain_plaintext(f.bundle, "hunter2").view(), {});
  ASSERT_TRUE(archive.ok()) << archive.status().to_string();
  auto wrong = restore_keychain_archive(manifest, *archive, *f.target, {"hunter3", {}, {}}, *f.r);
  EXPECT_EQ(wrong.status().code(), Code::kPermissionDenied) << wrong.status().to_string();
  auto none = restore_keychain_archive(manifest, *archive, *f.target, {"", {}, {}}, *f.r);
  EXPECT_EQ(none.status().code(), Code::kPermissionDenied) << none.status().to_string();
  KeychainArchive other = *archive;
  other.keybag_uuid = "00000000-0000-0000-0000-000000000000";
  auto mismatch = restore_keychain_archive(manifest, other, *f.target, {"hunter2", {}, {}}, *f.r);
  EXPECT_EQ(mismatch.status().code(), Code::kCorruption) << mismatch.status().to_string();
  EXPECT_NE(mismatch.status().message().find("keybag-uuid"), std::string::npos);
  Manifest unencrypted = manifest;
  unencrypted.is_encrypted = false;
  auto claim =
      restore_keychain_archive(unencrypted, *archive, *f.target, {"hunter2", {}, {}}, *f.r);
  EXPECT_EQ(claim.status().code(), Code::kCorruption) << claim.status().to_string();
  EXPECT_NE(claim.status().message().find("IsEncrypted is false"), std::string::npos);
  EXPECT_EQ(f.target_rows(), before);
}

// A flipped ciphertext bit under a class key that unwraps the item key is corruption; a flipped
// wrapped-key bit looks exactly like a wrong class key. Either way the item goes alone.
TEST(Restore, AFlippedBitInOneBlobDropsThatItemAloneWithItsReason) {
  const std::pair<size_t, LossReason> cases[] = {{60, LossReason::kCorrupt},
                                                 {20, LossReason::kClassKeyUnavailable}};
  for (const auto& [offset, reason] : cases) {
    Fixture f;
    edit_archive(f.bundle, "hunter2",
                 [offset](KeychainArchive& a) { a.items[0][0].blob[offset] ^= 0x01; });
    auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}, {}}, *f.r);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_FALSE(r->items[0].restored);
    EXPECT_EQ(r->items[0].reason, reason) << "offset " << offset << ": " << r->items[0].detail;
    EXPECT_TRUE(r->items[1].restored);
  }
}

TEST(Restore, ARetaggedKeyClassIsNotRestored) {
  Fixture f;
  // Claim class 6 for an item sealed under class 7: its key will not open under class 6's key.
  edit_archive(f.bundle, "hunter2", [](KeychainArchive& a) { a.items[0][0].blob[4] = 6; });
  auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}, {}}, *f.r);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->items[0].restored);
}

// A backup whose keybag holds class 12 and an akpu item sealed under it: no export writes one (R1),
// another tool or a hand-made folder can. Restored onto the same hardware (its UID) with the
// passcode off, that item is refused by the device (errSecAuthFailed: no class-12 key there, R8)
// and lost alone, with its reason; the rest of the backup restores. With the passcode on it
// restores too.
TEST(Restore, AnAkpuItemOntoADeviceWithoutAPasscodeIsRefusedAlone) {
  auto r = make_seeded_random(61);
  const Bytes uid(32, 0x61);
  auto source = Device::create_in_memory({true, false, uid}, *r);
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE((*source)->add(item(Accessibility::kWhenPasscodeSetThisDeviceOnly, "akpu"), *r).ok());
  ASSERT_TRUE((*source)->add(item(Accessibility::kAfterFirstUnlock, "afu"), *r).ok());
  auto plain = make_backup(**source, options(Journey::kLocal), *r);
  ASSERT_TRUE(plain.ok());
  auto manifest = read_folder_manifest(*plain);
  ASSERT_TRUE(manifest.ok());

  // The unencrypted backup bag (classes 1-4 under the empty password, 5-11 under it and the
  // device key), plus class 12 as a ThisDeviceOnly class; every item sealed under its class.
  std::vector<NewClassKey> classes;
  for (uint32_t c = 1; c <= 12; ++c)
    classes.push_back({c, c <= 4 ? kWrapPassword : kWrapDevice | kWrapPassword, std::nullopt});
  auto bag = create_keybag(KeybagType::kBackup, classes, {}, DeviceInternals::device_key(**source),
                           {1, false, 0}, *r);
  ASSERT_TRUE(bag.ok()) << bag.status().to_string();
  ASSERT_NE(bag->keys.kek_for(12), nullptr);
  KeychainArchive archive;
  archive.keybag_uuid = uuid_text(bag->bag.uuid);
  ASSERT_TRUE((*source)
                  ->for_each_item([&](int64_t, ByteView ref, Item& i, ByteView plaintext) {
                    const uint32_t key_class = names_of(i.accessibility()).key_class;
                    KCB_ASSIGN_OR_RETURN(
                        Bytes blob,
                        seal_blob(key_class, *bag->keys.kek_for(key_class), plaintext, *r));
                    archive.items[static_cast<size_t>(i.item_class())].push_back(
                        {std::move(blob), Bytes(ref.begin(), ref.end())});
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(archive.items[0].size(), 2u);
  FolderContents contents;
  contents.manifest = *manifest;
  contents.keychain = write_keychain_archive(archive);
  auto folder = build_backup_folder(std::move(contents), *bag, *r);
  ASSERT_TRUE(folder.ok()) << folder.status().to_string();

  auto off = Device::create_in_memory({false, false, uid}, *r);
  ASSERT_TRUE(off.ok());
  auto report = restore_backup(*folder, **off, {"", {}, {}}, *r);
  ASSERT_TRUE(report.ok()) << "one refused item aborted the restore: "
                           << report.status().to_string();
  ASSERT_EQ(report->items.size(), 2u);
  for (const ItemFate& fate : report->items) {
    if (fate.accessible == Accessibility::kWhenPasscodeSetThisDeviceOnly) {
      EXPECT_FALSE(fate.restored);
      EXPECT_EQ(fate.reason, LossReason::kRefusedByDevice);
      EXPECT_NE(fate.detail.find("errSecAuthFailed"), std::string::npos) << fate.detail;
    } else {
      EXPECT_TRUE(fate.restored) << fate.detail;
    }
  }
  EXPECT_TRUE(has_account(**off, "afu"));
  EXPECT_FALSE(has_account(**off, "akpu"));

  auto on = Device::create_in_memory({true, false, uid}, *r);
  ASSERT_TRUE(on.ok());
  auto with_passcode = restore_backup(*folder, **on, {"", {}, {}}, *r);
  ASSERT_TRUE(with_passcode.ok()) << with_passcode.status().to_string();
  EXPECT_TRUE(has_account(**on, "akpu"));
  EXPECT_TRUE(has_account(**on, "afu"));
}

TEST(QuickStart, MovesMigratoryItemsOnly) {
  auto r = make_seeded_random(15);
  auto a = device(*r);
  auto b = device(*r);
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "moves"), *r).ok());
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlockThisDeviceOnly, "stays"), *r).ok());
  auto report = quick_start(*a, *b, kFastKdf, *r);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(has_account(*b, "moves"));
  EXPECT_FALSE(has_account(*b, "stays"));
  ASSERT_EQ(report->items.size(), 2u);
  EXPECT_FALSE(report->items[1].restored);
  EXPECT_EQ(report->items[1].header_key_class, 10u);  // named by the header though not decoded
}

TEST(QuickStart, RefusesATargetWithTheSameUid) {
  auto r = make_seeded_random(16);
  const Bytes uid(32, 0x42);
  auto a = Device::create_in_memory({true, false, uid}, *r);
  auto copy = Device::create_in_memory({true, false, uid}, *r);
  ASSERT_TRUE(a.ok() && copy.ok());
  ASSERT_TRUE((*a)->add(item(Accessibility::kAfterFirstUnlockThisDeviceOnly, "stays"), *r).ok());
  auto report = quick_start(**a, **copy, kFastKdf, *r);
  EXPECT_EQ(report.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(has_account(**copy, "stays"));
}

// The public unlock names a device and never hands out its key: without one, the classes with
// the device layer stay locked; with the source they open; with another device they "open" to a
// wrong key (the CBC layer cannot tell), which the items' own unwrap then refuses.
TEST(Backup, UnlockingABackupKeybagTakesADeviceNotItsKey) {
  auto r = make_seeded_random(15);
  auto source = device(*r);
  auto bundle = make_backup(*source, options(Journey::kLocalEncrypted), *r);
  ASSERT_TRUE(bundle.ok());
  auto manifest = read_folder_manifest(*bundle);
  ASSERT_TRUE(manifest.ok());
  auto bag = parse_keybag(manifest->backup_keybag);
  ASSERT_TRUE(bag.ok());
  const ByteView password = as_bytes(options(Journey::kLocalEncrypted).password);

  auto alone = unlock_keybag_for(*bag, password, nullptr);
  ASSERT_TRUE(alone.ok()) << alone.status().to_string();
  EXPECT_TRUE(alone->is_unlocked(6));   // WRAP 2: the password alone
  EXPECT_FALSE(alone->is_unlocked(9));  // WRAP 3: needs the device layer too
  auto with_source = unlock_keybag_for(*bag, password, source.get());
  ASSERT_TRUE(with_source.ok());
  EXPECT_TRUE(with_source->is_unlocked(9));
  const auto reference = unlock_keybag(*bag, password, DeviceInternals::device_key(*source));
  ASSERT_TRUE(reference.ok());
  EXPECT_TRUE(*with_source->key_for(9) == *reference->key_for(9));

  auto key = derive_password_key(*bag, password);
  ASSERT_TRUE(key.ok());
  auto by_key = unlock_keybag_with_password_key_for(*bag, key->view(), source.get());
  ASSERT_TRUE(by_key.ok());
  EXPECT_TRUE(*by_key->key_for(9) == *reference->key_for(9));
  EXPECT_EQ(unlock_keybag_for(*bag, as_bytes("wrong"), source.get()).status().code(),
            Code::kPermissionDenied);
}

// ---- Issue 14: what Apple's KeychainBackupTests assert, by mechanism. ----

std::unique_ptr<Device> device_with(Random& r, PersistentRefKind kind, bool sos = false) {
  DeviceConfig config;
  config.persistent_refs = kind;
  config.sos = sos;
  auto d = Device::create_in_memory(config, r);
  EXPECT_TRUE(d.ok());
  return std::move(d).value();
}

size_t archived_count(const BackupFolder& b) {
  size_t n = 0;
  for (const auto& v : archive_of(b, "").items)
    n += v.size();
  return n;
}

// account -> (persistent ref, secret) as the device reads it.
std::map<std::string, std::pair<Bytes, std::string>> refs_by_account(Device& d) {
  std::map<std::string, std::pair<Bytes, std::string>> out;
  for (const StoredItem& s : *d.list()) {
    out[std::string(s.item.account().begin(), s.item.account().end())] = {
        s.persistent_ref,
        std::string(s.item.secret().view().begin(), s.item.secret().view().end())};
  }
  return out;
}

const ItemFate* fate_of(const RestoreReport& report, const std::string& account) {
  for (const ItemFate& f : report.items) {
    if (f.account == account) return &f;
  }
  return nullptr;
}

// testAppClipDoesNotBackup: a regular and an App Clip item per class; only the regular ones are
// in the backup, and Quick Start (the same export) does not move the clip items either.
TEST(Backup, AppClipItemsAreNeverExported) {
  auto r = make_seeded_random(40);
  auto a = device(*r);
  for (ItemClass c : kAllItemClasses) {
    for (bool clip : {false, true}) {
      NewItem n = item(Accessibility::kAfterFirstUnlock,
                       std::string(name_of(c)) + (clip ? "-clip" : "-app"));
      n.item_class = c;
      n.label = n.account;
      n.app_clip = clip;
      ASSERT_TRUE(a->add(n, *r).ok());
    }
  }
  auto bundle = make_backup(*a, options(Journey::kLocalEncrypted), *r);
  ASSERT_TRUE(bundle.ok());
  for (const auto& v : archive_of(*bundle, "hunter2").items)
    EXPECT_EQ(v.size(), 1u);
  auto b = device(*r);
  auto restored = restore_backup(*bundle, *b, {"hunter2", {}, {}}, *r);
  ASSERT_TRUE(restored.ok());
  for (ItemClass c : kAllItemClasses) {
    EXPECT_TRUE(has_account(*b, std::string(name_of(c)) + "-app"));
    EXPECT_FALSE(has_account(*b, std::string(name_of(c)) + "-clip"));
  }
  auto fresh = device(*r);
  ASSERT_TRUE(quick_start(*a, *fresh, kFastKdf, *r).ok());
  EXPECT_FALSE(has_account(*fresh, "genp-clip"));
  EXPECT_TRUE(has_account(*fresh, "genp-app"));
}

// testBackupTombstonesWhenSOSEnabled / testBackupAvoidsTombstonesWhenSOSDisabled.
TEST(Backup, TombstonesAreExportedOnlyWhileSosIsOn) {
  auto r = make_seeded_random(41);
  for (bool sos : {false, true}) {
    auto a = device_with(*r, PersistentRefKind::kRowid, sos);
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "live"), *r).ok());
    NewItem tomb = item(Accessibility::kAfterFirstUnlock, "tomb");
    tomb.synchronizable = true;
    tomb.tombstone = true;
    ASSERT_TRUE(a->add(tomb, *r).ok());
    auto bundle = make_backup(*a, options(Journey::kLocal), *r);
    ASSERT_TRUE(bundle.ok());
    EXPECT_EQ(archived_count(*bundle), sos ? 2u : 1u) << "sos " << sos;
    ASSERT_TRUE(a->set_sos(!sos).ok());
    EXPECT_EQ(archived_count(*make_backup(*a, options(Journey::kLocal), *r)), sos ? 1u : 2u);
  }
}

TEST(Backup, EachItemCarriesItsPersistentReferenceInTheSourcesKind) {
  auto r = make_seeded_random(42);
  for (PersistentRefKind kind : kAllPersistentRefKinds) {
    auto a = device_with(*r, kind);
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "x"), *r).ok());
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "y"), *r).ok());
    auto bundle = make_backup(*a, options(Journey::kLocal), *r);
    ASSERT_TRUE(bundle.ok());
    const auto listed = *a->list();
    const KeychainArchive archive = archive_of(*bundle, "");
    ASSERT_EQ(archive.items[0].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(archive.items[0][i].persistent_ref, listed[i].persistent_ref);
      EXPECT_EQ(listed[i].persistent_ref.size(), kind == PersistentRefKind::kUuid
                                                     ? kUuidPersistentRefBytes
                                                     : kRowidPersistentRefBytes);
    }
    EXPECT_EQ(listed[1].persistent_ref.size() == kRowidPersistentRefBytes,
              listed[1].persistent_ref == make_persistent_ref(ItemClass::kGenp, listed[1].rowid));
  }
}

// testSecItemBackupAndRestoreWithPersistentRefs: back up, delete, restore: every reference the
// app stored resolves again, on either kind of device (same device: the rowids are free again).
TEST(Restore, ReferencesAreEqualAfterBackupDeleteAndRestore) {
  auto r = make_seeded_random(43);
  for (PersistentRefKind kind : kAllPersistentRefKinds) {
    SCOPED_TRACE(std::string(name_of(kind)));
    auto a = device_with(*r, kind);
    for (const char* account : {"one", "two", "three"})
      ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, account), *r).ok());
    const auto before = refs_by_account(*a);
    auto bundle = make_backup(*a, options(Journey::kLocal), *r);
    ASSERT_TRUE(bundle.ok());
    for (const StoredItem& s : *a->list())
      ASSERT_TRUE(a->remove(s.item.item_class(), s.rowid).ok());
    auto report = restore_backup(*bundle, *a, {"", {}, {}}, *r);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(refs_by_account(*a), before);
    for (const ItemFate& f : report->items) {
      EXPECT_TRUE(f.restored);
      EXPECT_EQ(f.persistent_ref, f.backup_ref);
    }
  }
}

// A UUID reference is the item's wherever it goes; an old-style one is a rowid, which another
// device may have given away already (R11: then the item gets a new rowid).
TEST(Restore, ARowidTakenOnTheTargetGivesANewRowidAndAUuidTravels) {
  auto r = make_seeded_random(44);
  for (PersistentRefKind kind : kAllPersistentRefKinds) {
    SCOPED_TRACE(std::string(name_of(kind)));
    auto a = device_with(*r, kind);
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "mine"), *r).ok());
    auto bundle = make_backup(*a, options(Journey::kLocalEncrypted), *r);
    ASSERT_TRUE(bundle.ok());
    auto b = device_with(*r, kind);
    NewItem theirs = item(Accessibility::kAfterFirstUnlock, "theirs");
    theirs.synchronizable = true;  // R7 keeps it, and its rowid 1
    ASSERT_TRUE(b->add(theirs, *r).ok());
    auto report = restore_backup(*bundle, *b, {"hunter2", {}, {}}, *r);
    ASSERT_TRUE(report.ok());
    const auto after = refs_by_account(*b);
    ASSERT_EQ(after.count("mine"), 1u);
    const Bytes& ref = after.at("mine").first;
    if (kind == PersistentRefKind::kUuid) {
      EXPECT_EQ(ref, archive_of(*bundle, "hunter2").items[0][0].persistent_ref);
    } else {
      EXPECT_EQ(ref, make_persistent_ref(ItemClass::kGenp, 2));
      EXPECT_EQ(archive_of(*bundle, "hunter2").items[0][0].persistent_ref,
                make_persistent_ref(ItemClass::kGenp, 1));
    }
  }
}

// testSecItemRestoreBackupOldStylePrefsAndAddUUIDPersistentRefs: the backup was made with
// old-style references and the device uses UUIDs by the time it restores: every item comes back,
// under a new reference (its rowid kept).
TEST(Restore, AnOldStyleBackupOntoAUuidDeviceRenewsEveryReference) {
  auto r = make_seeded_random(45);
  auto a = device_with(*r, PersistentRefKind::kRowid);
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "one"), *r).ok());
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "two"), *r).ok());
  const auto before = refs_by_account(*a);
  auto bundle = make_backup(*a, options(Journey::kLocal), *r);
  ASSERT_TRUE(bundle.ok());
  ASSERT_TRUE(a->set_persistent_refs(PersistentRefKind::kUuid, *r).ok());
  ASSERT_TRUE(a->erase(*r).ok());
  auto report = restore_backup(*bundle, *a, {"", {}, {}}, *r);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->restored_count(), 2u);
  const auto after = refs_by_account(*a);
  for (const auto& [account, was] : before) {
    ASSERT_EQ(after.count(account), 1u);
    EXPECT_NE(after.at(account).first, was.first);
    EXPECT_EQ(after.at(account).first.size(), kUuidPersistentRefBytes);
    EXPECT_EQ(after.at(account).second, was.second);
  }
  std::vector<int64_t> rowids;
  for (const StoredItem& s : *a->list())
    rowids.push_back(s.rowid);
  EXPECT_EQ(rowids, (std::vector<int64_t>{1, 2})) << "new rows of an empty table";
}

// testSecItemRestoreConflictedUUIDPersistentReferenceItems: a synchronizable item updated on the
// device after the backup keeps its data and its reference through the restore; the backup's
// version is `kept` (not lost, not restored), and it is not counted as replaced.
TEST(Restore, ALocallyUpdatedSynchronizableItemKeepsItsDataAndReference) {
  auto r = make_seeded_random(46);
  auto a = device_with(*r, PersistentRefKind::kUuid);
  NewItem synced = item(Accessibility::kAfterFirstUnlock, "synced");
  synced.synchronizable = true;
  const int64_t rowid = *a->add(synced, *r);
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "plain"), *r).ok());
  auto bundle = make_backup(*a, options(Journey::kLocal), *r);
  ASSERT_TRUE(bundle.ok());
  ItemUpdate change;
  change.secret = SecretBytes(as_bytes("updated locally"));
  ASSERT_TRUE(a->update(ItemClass::kGenp, rowid, change, *r).ok());
  const auto before = refs_by_account(*a);
  auto report = restore_backup(*bundle, *a, {"", {}, {}}, *r);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  const auto after = refs_by_account(*a);
  EXPECT_EQ(after.at("synced"), before.at("synced"));
  EXPECT_EQ(after.at("synced").second, "updated locally");
  const ItemFate* kept = fate_of(*report, "synced");
  ASSERT_NE(kept, nullptr);
  EXPECT_TRUE(kept->kept);
  EXPECT_FALSE(kept->restored);
  EXPECT_EQ(kept->outcome(), Outcome::kKept);
  EXPECT_EQ(kept->reason, LossReason::kNone);
  EXPECT_EQ(kept->persistent_ref, before.at("synced").first);
  EXPECT_EQ(report->kept_count(), 1u);
  EXPECT_EQ(report->restored_count(), 1u);
  EXPECT_EQ(report->replaced, 1) << "only 'plain' was deleted and brought back";
}

// An item seen twice in one archive is the archive's problem, not R13: the second copy is lost as
// a duplicate, and the report names the row the first one became.
TEST(Restore, ADuplicateWithinTheBackupIsLostNotKept) {
  auto r = make_seeded_random(47);
  auto a = device(*r);
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "twice"), *r).ok());
  auto bundle = make_backup(*a, options(Journey::kLocal), *r);
  ASSERT_TRUE(bundle.ok());
  edit_archive(*bundle, "", [](KeychainArchive& a) { a.items[0].push_back(a.items[0][0]); });
  ASSERT_TRUE(a->erase(*r).ok());
  auto report = restore_backup(*bundle, *a, {"", {}, {}}, *r);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->items.size(), 2u);
  EXPECT_TRUE(report->items[0].restored);
  EXPECT_FALSE(report->items[1].kept);
  EXPECT_EQ(report->items[1].reason, LossReason::kDuplicateInBackup);
  EXPECT_NE(report->items[1].detail.find("genp row 1"), std::string::npos)
      << report->items[1].detail;
}

// Re-seals one archived item after `change` edits its decrypted attributes: what an older backup
// (iOS 9 and 10.0 exported token items) or another tool could hold.
// The folder is unencrypted (its keychain file is the plist itself).
void edit_archived_item(BackupFolder& bundle, size_t index, const Device& source,
                        const std::function<void(Item&)>& change, Random& r) {
  auto manifest = read_folder_manifest(bundle);
  ASSERT_TRUE(manifest.ok());
  ASSERT_FALSE(manifest->is_encrypted);
  auto bag = parse_keybag(manifest->backup_keybag);
  ASSERT_TRUE(bag.ok());
  auto keys = unlock_keybag(*bag, {}, DeviceInternals::device_key(source));
  ASSERT_TRUE(keys.ok());
  KeychainArchive archive = archive_of(bundle, "");
  ASSERT_GT(archive.items[0].size(), index);
  ArchivedItem& archived = archive.items[0][index];
  auto parsed = parse_blob(archived.blob);
  ASSERT_TRUE(parsed.ok());
  auto plaintext = open_blob(*parsed, keys->key_for(parsed->key_class)->view());
  ASSERT_TRUE(plaintext.ok());
  auto decoded = Item::decode(ItemClass::kGenp, plaintext->view());
  ASSERT_TRUE(decoded.ok());
  change(*decoded);
  auto encoded = decoded->encode();
  ASSERT_TRUE(encoded.ok());
  auto sealed =
      seal_blob(parsed->key_class, keys->key_for(parsed->key_class)->view(), encoded->view(), r);
  ASSERT_TRUE(sealed.ok());
  archived.blob = std::move(*sealed);
  edit_archive(bundle, "", [&](KeychainArchive& a) { a = archive; });
}

// SecServerImportKeychainInPlist: whatever the export let through, the import skips system-bound
// items and token items, each with its reason; the rest of the backup restores.
TEST(Restore, TheImportSkipsSystemBoundAndTokenItemsWithAReason) {
  auto r = make_seeded_random(48);
  auto a = device(*r);
  for (const char* account : {"bound", "token", "plain"})
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, account), *r).ok());
  auto bundle = make_backup(*a, options(Journey::kLocal), *r);
  ASSERT_TRUE(bundle.ok());
  edit_archived_item(
      *bundle, 0, *a, [](Item& i) { i.set_system_bound_flags(1); }, *r);
  edit_archived_item(
      *bundle, 1, *a, [](Item& i) { i.set_token_id("com.apple.setoken"); }, *r);
  ASSERT_TRUE(a->erase(*r).ok());
  auto report = restore_backup(*bundle, *a, {"", {}, {}}, *r);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->items.size(), 3u);
  EXPECT_EQ(report->items[0].reason, LossReason::kSystemBound);
  EXPECT_EQ(report->items[1].reason, LossReason::kToken);
  EXPECT_TRUE(report->items[2].restored);
  EXPECT_EQ(report->items[0].account, "bound") << "a skipped item still has its name";
  EXPECT_FALSE(has_account(*a, "bound"));
  EXPECT_FALSE(has_account(*a, "token"));
}

// testSecItemRestoreSysboundBackupAndUpdateUUIDPersistentRefs: the target's own system-bound
// (preserve) items are not in any backup, and are there after a restore, references unchanged;
// they are not counted as replaced.
TEST(Restore, TheTargetsSystemBoundItemsComeBackWithTheirReferences) {
  auto r = make_seeded_random(49);
  for (PersistentRefKind kind : kAllPersistentRefKinds) {
    SCOPED_TRACE(std::string(name_of(kind)));
    auto a = device_with(*r, kind);
    NewItem bound = item(Accessibility::kAfterFirstUnlock, "bound");
    bound.system_bound = SystemBound::kPreserveDuringRestore;
    ASSERT_TRUE(a->add(bound, *r).ok());
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "plain"), *r).ok());
    auto bundle = make_backup(*a, options(Journey::kLocal), *r);
    ASSERT_TRUE(bundle.ok());
    EXPECT_EQ(archived_count(*bundle), 1u);
    const auto before = refs_by_account(*a);
    auto report = restore_backup(*bundle, *a, {"", {}, {}}, *r);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(refs_by_account(*a), before);
    EXPECT_EQ(report->replaced, 1);
    EXPECT_TRUE(report->warnings.empty());
  }
}

// R12 as Apple's restore runs it: the device's system-bound items go out before the import and
// back after it. A backup item whose rowid one of them had takes it; the system-bound item is put
// back under a new rowid, so an old-style reference to it is renewed (a UUID one is not).
TEST(Restore, ASystemBoundItemWhoseRowidTheImportTookGetsANewOne) {
  auto r = make_seeded_random(50);
  for (PersistentRefKind kind : kAllPersistentRefKinds) {
    SCOPED_TRACE(std::string(name_of(kind)));
    auto a = device_with(*r, kind);
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "from-backup"), *r).ok());
    auto bundle = make_backup(*a, options(Journey::kLocal), *r);
    ASSERT_TRUE(bundle.ok());
    ASSERT_TRUE(a->erase(*r).ok());
    NewItem bound = item(Accessibility::kAfterFirstUnlock, "bound");
    bound.system_bound = SystemBound::kPreserveDuringRestore;
    bound.secret = SecretBytes(as_bytes("the device's own"));
    ASSERT_EQ(*a->add(bound, *r), 1);
    const auto before = refs_by_account(*a);
    auto report = restore_backup(*bundle, *a, {"", {}, {}}, *r);
    ASSERT_TRUE(report.ok());
    const auto after = refs_by_account(*a);
    EXPECT_EQ(after.at("bound").second, "the device's own");
    EXPECT_EQ(report->replaced, 0);
    EXPECT_TRUE(report->warnings.empty());
    std::map<std::string, int64_t> rowid;
    for (const StoredItem& s : *a->list())
      rowid[std::string(s.item.account().begin(), s.item.account().end())] = s.rowid;
    if (kind == PersistentRefKind::kRowid) {
      EXPECT_EQ(rowid.at("from-backup"), 1);
      EXPECT_EQ(rowid.at("bound"), 2);
      EXPECT_EQ(after.at("bound").first, make_persistent_ref(ItemClass::kGenp, 2));
    } else {
      EXPECT_EQ(after.at("bound").first, before.at("bound").first);
    }
  }
}

}  // namespace
}  // namespace kcb
