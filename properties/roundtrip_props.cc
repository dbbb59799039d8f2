// Round trips: DER values <-> bytes (equal and byte-stable), blob seal/open, keybag
// create -> serialize -> parse -> serialize (identical) -> unlock (same class keys), and archive,
// Manifest.plist, Status.plist and a whole folder on disk write -> read (equal).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <filesystem>
#include <set>

#include <unistd.h>

#include "engine/blob.h"
#include "engine/keybag.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/der.h"
#include "properties/generators.h"

namespace kcb {

namespace {

RC_GTEST_PROP(RoundTrip, DerValueEncodesDecodesEqualAndByteStable, ()) {
  const DerValue value = *props::gen_der_value(3).as("value");
  auto bytes = encode_der(value);
  RC_ASSERT(bytes.ok());
  auto decoded = decode_der(*bytes);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == value);
  auto again = encode_der(*decoded);
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == *bytes);
}

RC_GTEST_PROP(RoundTrip, BlobSealsAndOpens, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const uint32_t key_class = *rc::gen::inRange<uint32_t>(6, 13).as("key class");
  const Bytes plaintext = *props::gen_secret().as("plaintext");
  Bytes class_key(kClassKeySize);
  r->fill(class_key);
  auto blob = seal_blob(key_class, class_key, plaintext, *r);
  RC_ASSERT(blob.ok());
  RC_ASSERT(blob->size() == plaintext.size() + kBlobOverhead);
  auto parsed = parse_blob(*blob);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(parsed->key_class == key_class);
  auto opened = open_blob(*parsed, class_key);
  RC_ASSERT(opened.ok());
  RC_ASSERT(Bytes(opened->view().begin(), opened->view().end()) == plaintext);
  class_key[*rc::gen::inRange<size_t>(0, kClassKeySize)] ^= 0x80;
  RC_ASSERT(!open_blob(*parsed, class_key).ok());
}

RC_GTEST_PROP(RoundTrip, KeybagWriteParseSerializeIdenticalAndUnlocks, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const auto classes = *props::gen_keybag_classes(false).as("classes");
  const std::string password = *props::gen_password().as("password");
  const auto type = *rc::gen::element(KeybagType::kSystem, KeybagType::kBackup).as("type");
  Bytes device_key(16);
  r->fill(device_key);
  auto made = create_keybag(type, classes, as_bytes(password), ByteView(device_key),
                            KeybagKdf{2, true, 3}, *r);
  RC_ASSERT(made.ok());
  const Bytes bytes = serialize_keybag(made->bag);
  auto parsed = parse_keybag(bytes);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(serialize_keybag(*parsed) == bytes);
  RC_ASSERT(parsed->classes.size() == classes.size());
  auto keys = unlock_keybag(*parsed, as_bytes(password), ByteView(device_key));
  RC_ASSERT(keys.ok());
  for (const NewClassKey& c : classes) {
    const SecretBytes* got = keys->key_for(c.class_number);
    const SecretBytes* want = made->keys.key_for(c.class_number);
    RC_ASSERT(got != nullptr);
    RC_ASSERT(want != nullptr);
    RC_ASSERT(*got == *want);
  }
}

rc::Gen<KeychainArchive> gen_archive() {
  auto item = rc::gen::apply(
      [](ItemClass c, Bytes blob, int64_t rowid) {
        return std::pair<ItemClass, ArchivedItem>(
            c, ArchivedItem{std::move(blob), make_persistent_ref(c, rowid)});
      },
      props::gen_item_class(), rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()),
      rc::gen::inRange<int64_t>(1, int64_t{1} << 40));
  return rc::gen::map(
      rc::gen::pair(rc::gen::container<std::vector<std::pair<ItemClass, ArchivedItem>>>(item),
                    rc::gen::container<Bytes>(16, rc::gen::arbitrary<uint8_t>())),
      [](const std::pair<std::vector<std::pair<ItemClass, ArchivedItem>>, Bytes>& p) {
        KeychainArchive a;
        for (const auto& [c, it] : p.first)
          a.items[static_cast<size_t>(c)].push_back(it);
        a.keybag_uuid = uuid_text(p.second);
        return a;
      });
}

rc::Gen<std::string> gen_text() {
  return rc::gen::container<std::string>(rc::gen::inRange('a', 'z'));
}

rc::Gen<Manifest> gen_manifest() {
  return rc::gen::apply(
      [](Bytes bag, bool encrypted, rc::Maybe<Bytes> key, Bytes udid, Journey j,
         std::vector<std::string> text, int64_t date, bool passcode) {
        Manifest m;
        m.backup_keybag = std::move(bag);
        m.is_encrypted = encrypted;
        if (key) m.manifest_key = std::move(*key);
        m.lockdown = {to_hex(udid), text[0], text[1], text[2], text[3], text[4]};
        m.version = text[5];
        m.date = date;
        m.was_passcode_set = passcode;
        m.journey = std::string(name_of(j));
        return m;
      },
      rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()), rc::gen::arbitrary<bool>(),
      rc::gen::maybe(rc::gen::container<Bytes>(44, rc::gen::arbitrary<uint8_t>())),
      rc::gen::container<Bytes>(20, rc::gen::arbitrary<uint8_t>()),
      rc::gen::element(Journey::kLocal, Journey::kLocalEncrypted, Journey::kIcloudBackup,
                       Journey::kQuickStart),
      rc::gen::container<std::vector<std::string>>(6, gen_text()),
      // Dates a property list's seconds since 2001 hold as whole seconds (1970 to 2037).
      rc::gen::inRange<int64_t>(0, int64_t{1} << 31), rc::gen::arbitrary<bool>());
}

// Items and uuid; warnings are the reader's remarks, not content.
bool same_archive(const KeychainArchive& a, const KeychainArchive& b) {
  return a.items == b.items && a.keybag_uuid == b.keybag_uuid;
}

RC_GTEST_PROP(RoundTrip, ArchiveWritesAndReadsEqual, ()) {
  const KeychainArchive archive = *gen_archive().as("archive");
  auto read = read_keychain_archive(write_keychain_archive(archive));
  RC_ASSERT(read.ok());
  RC_ASSERT(same_archive(*read, archive));
  RC_ASSERT(read->warnings.empty());
}

RC_GTEST_PROP(RoundTrip, ManifestWritesAndReadsEqual, ()) {
  const Manifest manifest = *gen_manifest().as("manifest");
  auto read = read_manifest(write_manifest(manifest));
  RC_ASSERT(read.ok());
  RC_ASSERT(*read == manifest);
}

RC_GTEST_PROP(RoundTrip, StatusWritesAndReadsEqual, ()) {
  BackupStatus status;
  status.snapshot_state = *gen_text().as("SnapshotState");
  status.is_full_backup = *rc::gen::arbitrary<bool>().as("IsFullBackup");
  status.uuid = uuid_text(*rc::gen::container<Bytes>(16, rc::gen::arbitrary<uint8_t>()));
  status.date = *rc::gen::inRange<int64_t>(0, int64_t{1} << 31).as("date");
  status.version = *gen_text().as("Version");
  auto read = read_backup_status(write_backup_status(status));
  RC_ASSERT(read.ok());
  RC_ASSERT(*read == status);
}

// The real file system without fsync: durability is not what the round trip checks, and a sync
// per blob would make this property the slowest of the label.
class NoSyncEnv final : public Env {
 public:
  Result<Bytes> read_file(const std::filesystem::path& p, size_t max) override {
    return base_.read_file(p, max);
  }
  Status write_file(const std::filesystem::path& p, ByteView b) override {
    return base_.write_file(p, b);
  }
  Status sync_file(const std::filesystem::path&) override { return Status::Ok(); }
  Status sync_dir(const std::filesystem::path&) override { return Status::Ok(); }
  Status rename(const std::filesystem::path& a, const std::filesystem::path& b) override {
    return base_.rename(a, b);
  }
  Status remove(const std::filesystem::path& p) override { return base_.remove(p); }
  Status create_dirs(const std::filesystem::path& d) override { return base_.create_dirs(d); }
  Result<std::vector<std::string>> list_dir(const std::filesystem::path& d) override {
    return base_.list_dir(d);
  }
  FileKind kind_of(const std::filesystem::path& p) override { return base_.kind_of(p); }

 private:
  Env& base_ = default_env();
};

// A real folder (items and app files of a generated device) written to disk reads back file for
// file, opens to the same index, and gives every app file's contents back.
RC_GTEST_PROP(RoundTrip, FolderWritesToDiskAndOpensEqual, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const Journey journey = *props::gen_backup_journey().as("journey");
  auto device = Device::create_in_memory({}, *r);
  RC_ASSERT(device.ok());
  for (const auto& spec : *props::gen_item_batch(0, 4, props::gen_addable_traits(true)).as("items"))
    (void)(*device)->add(props::new_item_of(spec), *r);
  const int files = *rc::gen::inRange(0, 4).as("app files");
  for (int i = 0; i < files; ++i) {
    AppFile f{"AppDomain-com.example.app" + std::to_string(i % 2),
              "Documents/f" + std::to_string(i), *rc::gen::inRange<uint32_t>(1, 5).as("class"),
              *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()).as("contents")};
    RC_ASSERT((*device)->put_app_file(f).ok());
  }
  const std::string pw = journey == Journey::kLocalEncrypted ? "hunter2" : "";
  auto folder = make_backup(**device, {journey, pw, kFastKdf}, *r);
  RC_ASSERT(folder.ok());
  const auto dir =
      std::filesystem::temp_directory_path() / ("kcb-props-folder-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  NoSyncEnv env;
  RC_ASSERT(write_backup_folder(env, dir, *folder).ok());
  const DiskFolder disk(env, dir);
  for (const auto& [name, bytes] : folder->files) {
    auto read = disk.read(name, bytes.size());
    RC_ASSERT(read.ok());
    RC_ASSERT(*read == bytes);
  }
  BackupOpenOptions o;
  o.password = pw;
  o.device = device->get();
  auto from_disk = OpenedBackup::open(disk, o);
  auto from_memory = OpenedBackup::open(*folder, o);
  RC_ASSERT(from_disk.ok());
  RC_ASSERT(from_memory.ok());
  RC_ASSERT(from_disk->manifest() == from_memory->manifest());
  RC_ASSERT(from_disk->files().size() == from_memory->files().size());
  for (const AppFile& f : *(*device)->app_files()) {
    const BackupFileEntry* e = from_disk->find(f.domain, f.relative_path);
    RC_ASSERT(e != nullptr);
    RC_ASSERT(e->protection_class == f.protection_class);
    auto contents = from_disk->read_file(*e, 1 << 20);
    RC_ASSERT(contents.ok());
    RC_ASSERT(contents->view().size() == f.contents.size());
    RC_ASSERT(std::equal(f.contents.begin(), f.contents.end(), contents->view().begin()));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kcb
