// Restore's all-or-nothing and its refusals, on bundles and devices a bit flip cannot make:
//   - a store fault in the middle of a restore (the Nth insert fails, injected by a SQLite trigger
//     in the target's own keychain-2.db) fails the restore and leaves every row as it was (R7's
//     delete included: it belongs to the same transaction);
//   - an archive paired with another backup's Manifest (another valid keybag UUID of the same
//     length) is refused as a whole and changes nothing;
//   - an item re-sealed (valid GCM) under class X while its plaintext pdmn says class Y != X is
//     lost as corrupt, and the other items still restore;
//   - a device folder opened with another UID reads none of its items: the system keybag's class
//     keys carry the device layer (0x835), so they are nothing without the hardware;
//   - every backup item that does not come back says why, the reason rules.md gives it (R12: a
//     system-bound or token item; R9: refused by SecItemAdd, with its error; no class key for its
//     class; a duplicate of an earlier item; R2/R3: a class key that does not open it on another
//     device), R13's collisions are kept, and `replaced` is exactly what R7 deleted;
//   - a folder whose Manifest lists an app file it lacks (or holds cut short) is refused before
//     anything changes;
//   - a stored row says what its item says (dates at their edges, flags, account), and one account
//     both synchronizable and not is two items that survive a backup and restore.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include <unistd.h>

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "engine/manifest_db.h"
#include "kcbackup/backup.h"
#include "kcbackup/item.h"
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

// ---- why an item does not come back ----

// Items a real export never carries, made by hand in the archive, and what a restore must say.
enum class HandMade { kSystemBound, kToken, kRefusedAuthSync, kNoClassKey, kDuplicate };

struct Expected {
  Outcome outcome = Outcome::kRestored;
  LossReason reason = LossReason::kNone;
  std::string detail_words;  // for a lost item
};

RC_GTEST_PROP(Restore, EveryItemThatDoesNotComeBackSaysWhy, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const auto specs = *props::gen_item_batch(1, 5, gen_exported_traits()).as("items");
  auto r = make_seeded_random(seed);
  auto device = Device::create_in_memory({true, false, std::nullopt}, *r);
  RC_ASSERT(device.ok());
  Device& d = **device;
  add_all(d, specs, *r);
  const std::string password = password_for(journey);
  auto folder = make_backup(d, {journey, password, kFastKdf}, *r);
  RC_ASSERT(folder.ok());

  KeychainArchive archive = props::keychain_of(*folder, d, password);
  auto manifest = read_folder_manifest(*folder);
  RC_ASSERT(manifest.ok());
  auto bag = parse_keybag(manifest->backup_keybag);
  RC_ASSERT(bag.ok());
  auto keys = unlock_keybag(*bag, as_bytes(password), DeviceInternals::device_key(d));
  RC_ASSERT(keys.ok());

  // The originals, restored onto the device that still holds them: R7 deletes its
  // non-synchronizable items first; a synchronizable one stays and the backup's copy is kept (R13).
  std::vector<std::vector<Expected>> expected(archive.items.size());
  std::vector<std::pair<size_t, size_t>> originals;
  for (size_t c = 0; c < archive.items.size(); ++c) {
    for (size_t i = 0; i < archive.items[c].size(); ++i) {
      auto parsed = parse_blob(archive.items[c][i].blob);
      RC_ASSERT(parsed.ok());
      auto opened = open_blob(*parsed, keys->key_for(parsed->key_class)->view());
      RC_ASSERT(opened.ok());
      auto item = Item::decode(static_cast<ItemClass>(c), opened->view());
      RC_ASSERT(item.ok());
      expected[c].push_back({item->synchronizable() ? Outcome::kKept : Outcome::kRestored});
      originals.emplace_back(c, i);
    }
  }
  int64_t deletable = 0;
  for (const ItemSpec& spec : specs)
    deletable += oracle::replaced_by_restore(spec.traits) ? 1 : 0;

  const auto edits =
      *rc::gen::container<std::vector<HandMade>>(
           rc::gen::element(HandMade::kSystemBound, HandMade::kToken, HandMade::kRefusedAuthSync,
                            HandMade::kNoClassKey, HandMade::kDuplicate))
           .as("hand-made items");
  for (size_t k = 0; k < edits.size(); ++k) {
    const auto [c, i] = *rc::gen::elementOf(originals).as("made from");
    const ArchivedItem base = archive.items[c][i];
    auto parsed = parse_blob(base.blob);
    RC_ASSERT(parsed.ok());
    auto plaintext = open_blob(*parsed, keys->key_for(parsed->key_class)->view());
    RC_ASSERT(plaintext.ok());
    auto item = Item::decode(static_cast<ItemClass>(c), plaintext->view());
    RC_ASSERT(item.ok());
    const bool base_sync = item->synchronizable();
    // Its own primary key (account for genp and inet, label for cert and keys).
    RC_ASSERT(item->set_account("hand-made-" + std::to_string(k)).ok());
    item->set_label("hand-made-" + std::to_string(k));
    uint32_t header_class = names_of(item->accessibility()).key_class;
    Expected want{Outcome::kLost};
    switch (edits[k]) {
      case HandMade::kSystemBound:
        item->set_system_bound_flags(1);
        want.reason = LossReason::kSystemBound;
        want.detail_words = "R12";
        break;
      case HandMade::kToken:
        item->set_token_id(std::string(kSecureEnclaveTokenId));
        want.reason = LossReason::kToken;
        want.detail_words = "R12";
        break;
      case HandMade::kRefusedAuthSync:
        item->set_synchronizable(true);
        item->set_auth_constraint(true);
        want.reason = LossReason::kRefusedByDevice;
        want.detail_words = "errSecParam";
        break;
      case HandMade::kNoClassKey:
        header_class = 12;  // akpu's class: a backup bag holds 1-11 only (R1)
        want.reason = LossReason::kNoClassKey;
        want.detail_words = "class 12";
        break;
      case HandMade::kDuplicate:
        // The very same item again: its primary key is the original's, which the restore just
        // put in, or (synchronizable) the device's own row that stays (R13).
        archive.items[c].push_back(base);
        expected[c].push_back(base_sync ? Expected{Outcome::kKept}
                                        : Expected{Outcome::kLost, LossReason::kDuplicateInBackup,
                                                   "restored from this backup"});
        continue;
    }
    auto der = item->encode();
    RC_ASSERT(der.ok());
    auto blob = seal_blob(header_class, keys->key_for(parsed->key_class)->view(), der->view(), *r);
    RC_ASSERT(blob.ok());
    archive.items[c].push_back({std::move(blob).value(), {}});
    expected[c].push_back(want);
  }
  const BackupFolder made = props::with_keychain(*folder, archive, d, password);
  auto report = restore_backup(made, d, {password, {}, {}}, *r);
  if (!report.ok()) RC_FAIL("restore failed: " + report.status().to_string());
  RC_ASSERT(report->replaced == deletable);
  for (const ItemFate& f : report->items) {
    const Expected& e = expected[static_cast<size_t>(f.item_class)][f.index];
    RC_LOG() << name_of(f.item_class) << "[" << f.index << "] " << name_of(f.outcome()) << " "
             << loss_reason_name(f.reason) << ": " << f.detail << "\n";
    RC_ASSERT(f.outcome() == e.outcome);
    RC_ASSERT(f.reason == e.reason);
    if (e.outcome == Outcome::kLost) RC_ASSERT(f.detail.find(e.detail_words) != std::string::npos);
  }
  RC_TAG(std::string(name_of(journey)));
}

// R2/R3/R4: onto another device, what its class keys cannot open is lost as exactly that; only
// the migratory items of an encrypted backup come back.
RC_GTEST_PROP(Restore, OntoAnotherDeviceWhatItsKeysCannotOpenIsLostAsThat, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const auto specs = *props::gen_item_batch(1, 5, gen_exported_traits()).as("items");
  auto r = make_seeded_random(seed);
  auto source = Device::create_in_memory({true, false, std::nullopt}, *r);
  auto other = Device::create_in_memory({true, false, std::nullopt}, *r);
  RC_ASSERT(source.ok() && other.ok());
  add_all(**source, specs, *r);
  const std::string password = password_for(journey);
  auto folder = make_backup(**source, {journey, password, kFastKdf}, *r);
  RC_ASSERT(folder.ok());
  auto report = restore_backup(*folder, **other, {password, {}, {}}, *r);
  if (!report.ok()) RC_FAIL("restore failed: " + report.status().to_string());
  RC_ASSERT(report->items.size() == specs.size());
  for (const ItemFate& f : report->items) {
    RC_ASSERT(f.accessible.has_value() == f.restored);
    const bool migrates = journey == Journey::kLocalEncrypted && f.restored;
    if (f.restored) {
      RC_ASSERT(migrates);
      RC_ASSERT(oracle::is_migratory(*f.accessible));
      continue;
    }
    RC_ASSERT(f.reason == LossReason::kClassKeyUnavailable);
    RC_ASSERT(!f.detail.empty());
    RC_ASSERT(f.header_key_class.has_value());
    const auto claimed = accessibility_from_key_class(*f.header_key_class);
    RC_ASSERT(claimed.has_value());
    RC_ASSERT(journey != Journey::kLocalEncrypted || !oracle::is_migratory(*claimed));
  }
}

// The restore reads every file the Manifest lists before it changes anything: one missing, or an
// encrypted one cut short, refuses the whole folder and leaves the target as it was.
RC_GTEST_PROP(Restore, AFolderMissingAnAppFileIsRefusedAndChangesNothing, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const auto specs = *props::gen_item_batch(0, 3, gen_exported_traits()).as("items");
  const size_t file_count = *rc::gen::inRange<size_t>(1, 4).as("app files");
  auto r = make_seeded_random(seed);
  auto device = Device::create_in_memory({true, false, std::nullopt}, *r);
  RC_ASSERT(device.ok());
  Device& d = **device;
  add_all(d, specs, *r);
  for (size_t k = 0; k < file_count; ++k) {
    AppFile f{"AppDomain-com.example.app" + std::to_string(k), "Documents/f" + std::to_string(k),
              *rc::gen::inRange<uint32_t>(1, 5).as("protection class"),
              *rc::gen::nonEmpty(rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()))
                   .as("contents")};
    RC_ASSERT(d.put_app_file(std::move(f)).ok());
  }
  const std::string password = password_for(journey);
  auto folder = make_backup(d, {journey, password, kFastKdf}, *r);
  RC_ASSERT(folder.ok());
  BackupOpenOptions o;
  o.password = password;
  o.device = &d;
  auto opened = OpenedBackup::open(*folder, o);
  RC_ASSERT(opened.ok());
  std::vector<std::string> app_blobs;
  for (const BackupFileEntry& e : opened->files())
    if (e.flags == kManifestFile && e.domain != kKeychainDomain) app_blobs.push_back(e.blob_name());
  RC_ASSERT(app_blobs.size() == file_count);
  BackupFolder broken = *folder;
  const std::string victim = *rc::gen::elementOf(app_blobs).as("app file");
  const bool encrypted = journey == Journey::kLocalEncrypted;
  if (encrypted && *rc::gen::arbitrary<bool>().as("cut short instead of missing")) {
    Bytes& blob = broken.files.at(victim);
    blob.resize(blob.size() - *rc::gen::inRange<size_t>(1, 16).as("bytes cut"));
  } else {
    broken.files.erase(victim);
  }
  // Items added after the backup: R7 would delete them, so a restore that went ahead shows.
  auto later = *props::gen_item_batch(1, 3, gen_exported_traits()).as("added later");
  for (ItemSpec& spec : later)
    spec.account = "later-" + spec.account;
  add_all(d, later, *r);
  const Snapshot before = snapshot(d);
  auto report = restore_backup(broken, d, {password, {}, {}}, *r);
  RC_ASSERT(!report.ok());
  RC_ASSERT(report.status().code() == Code::kCorruption);
  RC_ASSERT(snapshot(d) == before);
}

// ---- rows and items ----

rc::Gen<DerDate> gen_edge_date() {
  return rc::gen::map(
      rc::gen::weightedOneOf<int64_t>({
          {2, rc::gen::elementOf(std::vector<int64_t>{
                  props::kMinDerDateMillis, props::kMaxDerDateMillis, 0, -1, 1, 978'307'200'000})},
          {1, rc::gen::inRange<int64_t>(props::kMinDerDateMillis, props::kMaxDerDateMillis + 1)},
      }),
      [](int64_t ms) { return DerDate{ms}; });
}

Item item_with(const Traits& t, const std::string& account, DerDate cdat, DerDate mdat) {
  Item item(t.item_class, t.accessible, SecretBytes(as_bytes(account)));
  item.set_synchronizable(t.synchronizable);
  if (t.token != Token::kNone) item.set_token_id(std::string(kSecureEnclaveTokenId));
  item.set_auth_constraint(t.auth_constraint);
  item.set_system_bound_flags(t.system_bound != SystemBound::kNone ? 1 : 0);
  item.set_app_clip(t.app_clip);
  item.set_tombstone(t.tombstone);
  RC_ASSERT(item.set_account(account).ok());
  RC_ASSERT(item.set_service("svc").ok());
  item.set_label(account);
  item.set_access_group("kcbackup.example");
  item.set_creation_date(cdat);
  item.set_modification_date(mdat);
  if (t.item_class == ItemClass::kInet) {
    item.set_server("example.com");
    item.set_port(443);
  }
  return item;
}

// Every row's columns are its item's attributes, and every item is the one added.
void expect_rows_say_what_items_say(Device& d, const std::vector<Item>& added) {
  auto rows = DeviceInternals::store(d).list_all();
  auto listed = d.list();
  RC_ASSERT(rows.ok() && listed.ok());
  RC_ASSERT(rows->size() == added.size());
  RC_ASSERT(listed->size() == added.size());
  for (const StoredItem& s : *listed) {
    const Item& item = s.item;
    const auto row = std::find_if(rows->begin(), rows->end(), [&](const KeychainRow& x) {
      return x.item_class == item.item_class() && x.rowid == s.rowid;
    });
    RC_ASSERT(row != rows->end());
    RC_ASSERT(row->cdat == item.creation_date());
    RC_ASSERT(row->mdat == item.modification_date());
    RC_ASSERT(row->sync == item.synchronizable());
    RC_ASSERT(row->pdmn == item.accessibility());
    RC_ASSERT(row->labl == item.label());
    RC_ASSERT(row->tkid == item.token_id());
    RC_ASSERT(row->sysb == item.system_bound_flags());
    RC_ASSERT(row->clip == item.app_clip());
    RC_ASSERT(row->tomb == item.tombstone());
    RC_ASSERT(row->accc == item.auth_constraint());
    RC_ASSERT(Bytes(item.account().begin(), item.account().end()) == row->acct);
    const auto same = std::count_if(added.begin(), added.end(), [&](const Item& a) {
      return a.item_class() == item.item_class() && a.attributes() == item.attributes() &&
             a.secret().view().size() == item.secret().view().size();
    });
    RC_ASSERT(same == 1);
  }
}

// Apple's primary keys include sync: one account both synchronizable and not is two items, on
// the device and through a backup and restore onto it after an erase. Their dates, whatever they
// are, stay theirs.
RC_GTEST_PROP(Store, ARowSaysWhatItsItemSaysAndOneAccountSyncAndNotIsTwoItems, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const auto traits =
      *rc::gen::container<std::vector<Traits>>(props::gen_addable_traits(true)).as("traits");
  auto r = make_seeded_random(seed);
  auto device = Device::create_in_memory({true, false, std::nullopt}, *r);
  RC_ASSERT(device.ok());
  Device& d = **device;
  std::vector<Item> added;
  size_t twins = 0;
  for (size_t i = 0; i < traits.size() && i < 6; ++i) {
    const std::string account = "acct-" + std::to_string(i);
    const DerDate cdat = *gen_edge_date().as("cdat");
    const DerDate mdat = *gen_edge_date().as("mdat");
    added.push_back(item_with(traits[i], account, cdat, mdat));
    RC_ASSERT(d.add_item(added.back(), *r).ok());
    Traits twin = traits[i];
    twin.synchronizable = !twin.synchronizable;
    if (oracle::check_add(twin, true) != AddError::kNone) continue;
    if (!*rc::gen::weightedOneOf<bool>({{2, rc::gen::just(true)}, {1, rc::gen::just(false)}})
              .as("with a twin of the other sync")) {
      continue;
    }
    added.push_back(item_with(twin, account, mdat, cdat));
    auto twin_added = d.add_item(added.back(), *r);
    if (!twin_added.ok()) RC_FAIL("the twin was refused: " + twin_added.status().to_string());
    ++twins;
    // An internet password for the same server on another port is another item too.
    if (traits[i].item_class == ItemClass::kInet) {
      Item other_port = item_with(traits[i], account, cdat, cdat);
      other_port.set_port(8443);
      added.push_back(other_port);
      auto port_added = d.add_item(added.back(), *r);
      if (!port_added.ok()) RC_FAIL("another port refused: " + port_added.status().to_string());
    }
  }
  expect_rows_say_what_items_say(d, added);
  // Through a backup: an erase, then the backup restores every exported item, twins apart.
  auto folder = make_backup(d, {Journey::kLocal, "", kFastKdf}, *r);
  RC_ASSERT(folder.ok());
  RC_ASSERT(d.erase(*r).ok());
  auto report = restore_backup(*folder, d, {"", {}, {}}, *r);
  RC_ASSERT(report.ok());
  std::vector<Item> exported;
  for (const Item& i : added)
    if (oracle::is_exportable(traits_of(i))) exported.push_back(i);
  RC_ASSERT(report->restored_count() == exported.size());
  expect_rows_say_what_items_say(d, exported);
  RC_TAG(twins > 0 ? "with twins" : "no twin");
}

}  // namespace
}  // namespace kcb
