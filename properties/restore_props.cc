// Restore's all-or-nothing and its refusals, on bundles and devices a bit flip cannot make:
//   - a store fault in the middle of a restore (the Nth insert fails, injected by a SQLite trigger
//     in the target's own keychain-2.db) fails the restore and leaves every row as it was (R7's
//     delete included: it belongs to the same transaction);
//   - an archive paired with another backup's Manifest (another valid keybag UUID of the same
//     length) is refused as a whole and changes nothing;
//   - an item re-sealed (valid GCM) under class X while its plaintext pdmn says class Y != X is
//     lost as corrupt, and the other items still restore;
//   - a device folder opened with another UID reads none of its items: the system keybag's class
//     keys carry the device layer (0x835), so they are nothing without the hardware.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include <unistd.h>

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "kcbackup/backup.h"
#include "kcbackup/oracle.h"
#include "properties/generators.h"

namespace kcb {
namespace {

using props::ItemSpec;

const std::string kPassword = "hunter2";

std::string password_for(Journey j) {
  return j == Journey::kLocalEncrypted ? kPassword : "";
}

// In memory when the machine has a tmpfs there: the store fsyncs every commit (synchronous=FULL),
// which on a disk costs more than everything else these properties do.
std::filesystem::path scratch_root() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return std::filesystem::temp_directory_path();
}

// A scratch folder per case, removed at the end of the case whatever happens.
struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(uint64_t seed)
      : path(scratch_root() / ("kcb-props-restore-" + std::to_string(::getpid()) + "-" +
                               to_hex(props::distinctive_bytes(seed, 1, 6)))) {
    std::filesystem::remove_all(path);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
};

void add_all(Device& d, const std::vector<ItemSpec>& specs, Random& r) {
  for (const ItemSpec& s : specs)
    RC_ASSERT(d.add(props::new_item_of(s), r).ok());
}

// Everything a restore may change, as the store holds it and as the device reads it.
struct Snapshot {
  std::vector<KeychainRow> rows;
  std::vector<Item> items;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(Device& d) {
  auto rows = DeviceInternals::store(d).list_all();
  auto listed = d.list();
  RC_ASSERT(rows.ok());
  RC_ASSERT(listed.ok());
  Snapshot s{std::move(rows).value(), {}};
  for (StoredItem& stored : *listed)
    s.items.push_back(std::move(stored.item));
  return s;
}

// Addable (passcode on) items that also pass the export filter: every one lands in the backup.
rc::Gen<Traits> gen_exported_traits() {
  return rc::gen::suchThat(props::gen_addable_traits(true),
                           [](const Traits& t) { return oracle::is_exportable(t); });
}

Status exec_sql(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  std::string error;
  if (rc == SQLITE_OK) {
    char* msg = nullptr;
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
    if (msg != nullptr) error = msg;
    sqlite3_free(msg);
  } else {
    error = sqlite3_errstr(rc);
  }
  sqlite3_close(db);
  return rc == SQLITE_OK ? Status::Ok() : Status::IOError(db_path.string() + ": " + error);
}

// Every insert into any of the four item tables counts; the Nth raises. A failed statement's
// trigger effects are undone with it, so the count is of inserts that would have succeeded.
std::string fault_on_nth_insert(size_t n) {
  std::string sql =
      "CREATE TABLE fault_count(n INTEGER NOT NULL); INSERT INTO fault_count VALUES(0);";
  for (ItemClass c : kAllItemClasses) {
    const std::string t(name_of(c));
    sql += "CREATE TRIGGER fault_" + t + " BEFORE INSERT ON " + t +
           " BEGIN UPDATE fault_count SET n = n + 1;"
           " SELECT RAISE(ABORT, 'injected fault') WHERE (SELECT n FROM fault_count) >= " +
           std::to_string(n) + "; END;";
  }
  return sql;
}

std::string no_fault() {
  std::string sql;
  for (ItemClass c : kAllItemClasses)
    sql += "DROP TRIGGER fault_" + std::string(name_of(c)) + ";";
  return sql + "DROP TABLE fault_count;";
}

// The target is the source itself, with items added after the backup too: R7 then has rows to
// delete and the backup has rows to insert. The Nth insert fails: restore must report the error
// and leave every row as it was. Without the fault the same restore succeeds.
RC_GTEST_PROP(Restore, AStoreFaultMidRestoreLeavesTheTargetExactlyAsItWas, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const auto backed_up = *props::gen_item_batch(1, 6, gen_exported_traits()).as("items backed up");
  auto later =
      *props::gen_item_batch(0, 3, props::gen_addable_traits(true)).as("items added later");
  for (ItemSpec& s : later)
    s.account = "later-" + s.account;
  // Inserts the restore makes: every backed-up item but the synchronizable ones, which R7 leaves
  // on the target (their re-insert is refused as a duplicate).
  const size_t inserts = std::count_if(backed_up.begin(), backed_up.end(),
                                       [](const ItemSpec& s) { return !s.traits.synchronizable; });
  RC_PRE(inserts >= 1u);
  const size_t nth = *rc::gen::inRange<size_t>(1, inserts + 1).as("failing insert");

  ScratchDir dir(seed);
  auto r = make_seeded_random(seed);
  auto device = Device::create_at(default_env(), dir.path, {true, false, std::nullopt}, *r);
  RC_ASSERT(device.ok());
  Device& target = **device;
  add_all(target, backed_up, *r);
  auto bundle = make_backup(target, {journey, password_for(journey), kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  add_all(target, later, *r);

  const auto db = dir.path / "keychain-2.db";
  RC_ASSERT(exec_sql(db, fault_on_nth_insert(nth)).ok());
  const Snapshot before = snapshot(target);
  auto failed = restore_backup(*bundle, target, {kPassword, {}, {}}, *r);
  RC_ASSERT(!failed.ok());
  RC_ASSERT(failed.status().code() == Code::kIOError);
  RC_ASSERT(failed.status().message().find("injected fault") != std::string::npos);
  RC_ASSERT(snapshot(target) == before);

  RC_ASSERT(exec_sql(db, no_fault()).ok());
  auto report = restore_backup(*bundle, target, {kPassword, {}, {}}, *r);
  RC_ASSERT(report.ok());
  RC_ASSERT(report->restored_count() == inserts);
}

// Two backups of one device have bags of the same shape and UUIDs of the same length; an archive
// restores only against its own bag.
RC_GTEST_PROP(Restore, AnArchiveWithAnotherBackupsManifestIsRefusedAndChangesNothing, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const auto specs = *props::gen_item_batch(0, 5, props::gen_addable_traits(true)).as("items");
  auto r = make_seeded_random(seed);
  auto device = Device::create_in_memory({true, false, std::nullopt}, *r);
  RC_ASSERT(device.ok());
  Device& d = **device;
  add_all(d, specs, *r);
  const BackupOptions options{journey, password_for(journey), kFastKdf};
  auto first = make_backup(d, options, *r);
  auto second = make_backup(d, options, *r);
  RC_ASSERT(first.ok());
  RC_ASSERT(second.ok());
  const std::string pw = password_for(journey);
  RC_ASSERT(props::keychain_of(*first, d, pw).keybag_uuid !=
            props::keychain_of(*second, d, pw).keybag_uuid);
  const bool archive_of_first = *rc::gen::arbitrary<bool>().as("the first backup's archive");
  const BackupFolder& a = archive_of_first ? *first : *second;
  const BackupFolder& m = archive_of_first ? *second : *first;
  // The other backup's keychain file, sealed into this folder as its own would be.
  const BackupFolder mixed = props::with_keychain(m, props::keychain_of(a, d, pw), d, pw);

  const Snapshot before = snapshot(d);
  auto report = restore_backup(mixed, d, {kPassword, {}, {}}, *r);
  RC_ASSERT(!report.ok());
  RC_ASSERT(report.status().code() == Code::kCorruption);
  RC_ASSERT(report.status().message().find("keybag-uuid") != std::string::npos);
  RC_ASSERT(snapshot(d) == before);
  // Each archive with its own Manifest restores.
  RC_ASSERT(restore_backup(a, d, {kPassword, {}, {}}, *r).ok());
}

// The keyclass field is not authenticated, but the plaintext is: an item whose blob is sealed,
// correctly, under class X while its pdmn claims class Y is corrupt, whichever of X and Y is
// higher. Restored onto the source itself after an erase, so every other item comes back.
RC_GTEST_PROP(Restore, AnItemSealedUnderAnotherClassThanItsPdmnIsLostAsCorrupt, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const auto specs = *props::gen_item_batch(1, 5, gen_exported_traits()).as("items");
  auto r = make_seeded_random(seed);
  auto device = Device::create_in_memory({true, false, std::nullopt}, *r);
  RC_ASSERT(device.ok());
  Device& d = **device;
  add_all(d, specs, *r);
  auto bundle = make_backup(d, {journey, password_for(journey), kFastKdf}, *r);
  RC_ASSERT(bundle.ok());

  KeychainArchive archive = props::keychain_of(*bundle, d, password_for(journey));
  std::vector<std::pair<size_t, size_t>> archived;  // (class index, index)
  for (size_t c = 0; c < archive.items.size(); ++c) {
    for (size_t i = 0; i < archive.items[c].size(); ++i)
      archived.emplace_back(c, i);
  }
  RC_ASSERT(archived.size() == specs.size());
  const auto [victim_class, victim_index] = *rc::gen::elementOf(archived).as("re-sealed item");
  ArchivedItem& victim = archive.items[victim_class][victim_index];

  auto manifest = read_folder_manifest(*bundle);
  RC_ASSERT(manifest.ok());
  auto bag = parse_keybag(manifest->backup_keybag);
  RC_ASSERT(bag.ok());
  auto keys = unlock_keybag(*bag, as_bytes(password_for(journey)), DeviceInternals::device_key(d));
  RC_ASSERT(keys.ok());
  auto parsed = parse_blob(victim.blob);
  RC_ASSERT(parsed.ok());
  const uint32_t claimed = parsed->key_class;  // the class its pdmn says
  auto plaintext = open_blob(*parsed, keys->key_for(claimed)->view());
  RC_ASSERT(plaintext.ok());
  const uint32_t sealed_under =
      *rc::gen::suchThat(rc::gen::inRange<uint32_t>(6, 12), [&](uint32_t c) {
         return c != claimed;
       }).as("class it is sealed under");
  auto resealed =
      seal_blob(sealed_under, keys->key_for(sealed_under)->view(), plaintext->view(), *r);
  RC_ASSERT(resealed.ok());
  victim.blob = std::move(resealed).value();
  RC_TAG(sealed_under > claimed ? "sealed under a higher class" : "sealed under a lower class");

  const BackupFolder resealed_folder =
      props::with_keychain(*bundle, archive, d, password_for(journey));
  RC_ASSERT(d.erase(*r).ok());
  auto report = restore_backup(resealed_folder, d, {kPassword, {}, {}}, *r);
  RC_ASSERT(report.ok());
  RC_ASSERT(report->items.size() == specs.size());
  for (const ItemFate& f : report->items) {
    const bool is_victim =
        static_cast<size_t>(f.item_class) == victim_class && f.index == victim_index;
    if (!is_victim) {
      RC_ASSERT(f.restored);
      continue;
    }
    RC_ASSERT(!f.restored);
    RC_ASSERT(f.reason == LossReason::kCorrupt);
    RC_ASSERT(f.detail.find("key class " + std::to_string(sealed_under)) != std::string::npos);
  }
  auto listed = d.list();
  RC_ASSERT(listed.ok());
  RC_ASSERT(listed->size() == specs.size() - 1);
}

// A device folder carried to other hardware (its uid file replaced) opens, but its class keys come
// out wrong, so not one item reads; the rows are still there.
RC_GTEST_PROP(DeviceFolder, OpenedWithAnotherUidReadsNoItem, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const bool passcode = *rc::gen::arbitrary<bool>().as("passcode");
  const auto specs = *props::gen_item_batch(1, 6, props::gen_addable_traits(passcode)).as("items");
  ScratchDir dir(seed);
  auto r = make_seeded_random(seed);
  {
    auto device =
        Device::create_at(default_env(), dir.path / "home", {passcode, false, std::nullopt}, *r);
    RC_ASSERT(device.ok());
    add_all(**device, specs, *r);
  }
  auto home = Device::open(default_env(), dir.path / "home");
  RC_ASSERT(home.ok());
  RC_ASSERT((*home)->list()->size() == specs.size());
  home->reset();

  std::filesystem::copy(dir.path / "home", dir.path / "elsewhere",
                        std::filesystem::copy_options::recursive);
  Bytes other_uid(32);
  r->fill(other_uid);
  RC_ASSERT(write_file_atomically(default_env(), dir.path / "elsewhere" / "uid", other_uid).ok());
  auto elsewhere = Device::open(default_env(), dir.path / "elsewhere");
  if (!elsewhere.ok()) {
    RC_TAG("refused to open");
    return;
  }
  auto listed = (*elsewhere)->list();
  RC_ASSERT(listed.ok());
  RC_ASSERT(listed->empty());
  RC_ASSERT(static_cast<size_t>(*DeviceInternals::store(**elsewhere).count()) == specs.size());
}

}  // namespace
}  // namespace kcb
