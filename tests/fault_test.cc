// Fault injection through the Env (issue #15, label `faults`, docs/reliability.md): for each
// operation of the issue (add, update, delete, passcode off, erase, restore, migrate on a device
// folder; backup into a backup folder), a recording run counts the changes it makes to the file
// system, SQLite's own writes included (tests/fault_env.h); then, for every N, one run makes the
// Nth change fail and one crashes just after it, losing what was not durable, plus one power loss
// just after the operation returned. After each, the folder reopened holds the old state or the
// new one, never a mix, and the new one whenever the operation said it succeeded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "tests/fault_env.h"

namespace kcb {
namespace {

namespace fs = std::filesystem;
using faults::FaultEnv;

NewItem item(const std::string& account,
             Accessibility accessible = Accessibility::kAfterFirstUnlock) {
  NewItem n;
  n.accessible = accessible;
  n.account = account;
  n.service = "faults";
  n.secret = SecretBytes(as_bytes("secret-" + account));
  return n;
}

AppFile app_file() {
  const ByteView contents = as_bytes("app file");
  return {"AppDomain-com.example.faults", "Documents/x", 3,
          Bytes(contents.begin(), contents.end())};
}

// Everything a user can see of a device folder, through the public API: each item with its row,
// reference and every attribute and secret (its DER encoding), the settings, the app files.
struct DeviceState {
  std::vector<std::tuple<ItemClass, int64_t, Bytes, Bytes>> items;
  size_t unreadable = 0;
  bool passcode = false;
  bool icloud = false;
  PersistentRefKind refs = PersistentRefKind::kRowid;
  bool sos = false;
  std::vector<AppFile> app_files;
  bool operator==(const DeviceState&) const = default;
};

std::string describe(const DeviceState& s) {
  std::ostringstream out;
  out << s.items.size() << " items (";
  for (const auto& [c, rowid, ref, der] : s.items)
    out << static_cast<int>(c) << ":" << rowid << " ";
  out << "), " << s.unreadable << " unreadable, passcode " << s.passcode << ", "
      << s.app_files.size() << " app files";
  return out.str();
}

// The folder's state as a later process finds it (a writer's open finishes an interrupted change).
// Then its keybag must be usable: an item added now is readable after reopening.
DeviceState state_of(const fs::path& dir) {
  // fsyncs skipped: nothing here needs the disk's durability, and real ones cost the suite seconds
  FaultEnv env(default_env(), FaultEnv::kHookSqliteModelSyncs);
  DeviceState s;
  {
    auto d = Device::open(env, dir);
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    if (!d.ok()) return s;
    auto items = (*d)->list(&s.unreadable);
    EXPECT_TRUE(items.ok()) << items.status().to_string();
    if (!items.ok()) return s;
    for (const StoredItem& i : *items) {
      auto der = i.item.encode();
      EXPECT_TRUE(der.ok());
      s.items.emplace_back(i.item.item_class(), i.rowid, i.persistent_ref,
                           Bytes(der->view().begin(), der->view().end()));
    }
    s.passcode = (*d)->has_passcode();
    s.icloud = (*d)->icloud_keychain();
    s.refs = (*d)->persistent_refs();
    s.sos = (*d)->sos();
    auto files = (*d)->app_files();
    EXPECT_TRUE(files.ok()) << files.status().to_string();
    if (files.ok()) s.app_files = *files;
    auto r = make_seeded_random(99);
    EXPECT_TRUE((*d)->add(item("probe"), *r).ok()) << "the keybag cannot seal";
    // With a passcode, its class key (akpu) must be there too.
    if (s.passcode) {
      EXPECT_TRUE(
          (*d)->add(item("probe-akpu", Accessibility::kWhenPasscodeSetThisDeviceOnly), *r).ok())
          << "passcode on, but no akpu class key";
    }
  }
  auto d = Device::open(env, dir, {DeviceAccess::kReadOnly});
  EXPECT_TRUE(d.ok()) << d.status().to_string();
  if (!d.ok()) return s;
  size_t unreadable = 0;
  auto items = (*d)->list(&unreadable);
  EXPECT_TRUE(items.ok());
  EXPECT_EQ(unreadable, s.unreadable) << "the probe item cannot be read back";
  if (items.ok()) {
    EXPECT_EQ(items->size(), s.items.size() + (s.passcode ? 2 : 1)) << "a probe item is missing";
  }
  return s;
}

void copy_folder(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

using Operation = std::function<Status(Device&, Random&)>;

// The fault of run n: the nth change fails, or the machine crashes just after it.
std::function<void(FaultEnv&)> nth_fault(size_t n, bool crash) {
  return [n, crash](FaultEnv& env) {
    if (crash) {
      env.crash_after(n);
    } else {
      env.fail_change(n);
    }
  };
}

// Runs `op` in `parent`, a fresh folder the FaultEnv tracks, with the faults `arm` sets; counts
// the changes it made into *changes (when given), then keeps only what was durable, as a crash
// would. Init and backup each make their target inside such a folder.
Status run_in_fresh_folder(const fs::path& parent, const std::function<void(FaultEnv&)>& arm,
                           size_t* changes, const std::function<Status(FaultEnv&)>& op) {
  fs::remove_all(parent);
  fs::create_directories(parent);
  FaultEnv env(default_env(), FaultEnv::kHookSqliteModelSyncs);
  env.track(parent);
  const size_t before = env.changes();
  arm(env);
  const Status st = op(env);
  if (changes != nullptr) *changes = env.changes() - before;
  env.settle_crash();
  return st;
}

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(root_);
  }

  // The old state: a device with a passcode, three items (one akpu: only this device, only with
  // a passcode), an app file. `extra` adds to it.
  fs::path make_template(const std::function<void(Device&, Random&)>& extra = {}) {
    const fs::path dir = root_ / "template";
    auto r = make_seeded_random(1);
    auto d = Device::create_at(default_env(), dir, {true, false, std::nullopt}, *r);
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    for (const char* a : {"a", "b"})
      EXPECT_TRUE((*d)->add(item(a), *r).ok());
    EXPECT_TRUE((*d)->add(item("c", Accessibility::kWhenPasscodeSetThisDeviceOnly), *r).ok());
    EXPECT_TRUE((*d)->put_app_file(app_file()).ok());
    if (extra) extra(**d, *r);
    return dir;
  }

  // Runs `op` on a copy of the template through a FaultEnv; `arm` sets the fault.
  Status run(const fs::path& dir, const Operation& op, const std::function<void(FaultEnv&)>& arm,
             size_t* changes = nullptr) {
    copy_folder(template_, dir);
    FaultEnv env(default_env(), FaultEnv::kHookSqliteModelSyncs);
    Status st = Status::Ok();
    {
      auto d = Device::open(env, dir);
      if (!d.ok()) return d.status();
      env.track(dir);
      const size_t before = env.changes();
      arm(env);
      auto r = make_seeded_random(7);
      st = op(**d, *r);
      if (changes != nullptr) *changes = env.changes() - before;
    }
    env.settle_crash();  // without a crash: a power loss just after the operation returned
    return st;
  }

  // The whole check for one operation; returns the number of changes it makes.
  size_t check_every_fault(const std::string& name, const Operation& op) {
    copy_folder(template_, root_ / "old");
    const DeviceState old_state = state_of(root_ / "old");
    size_t changes = 0;
    const Status recorded = run(
        root_ / "new", op, [](FaultEnv&) {}, &changes);
    EXPECT_TRUE(recorded.ok()) << name << ": " << recorded.to_string();
    const DeviceState new_state = state_of(root_ / "new");
    EXPECT_NE(old_state, new_state) << name << ": the operation changed nothing";
    EXPECT_GE(changes, 1u);
    for (size_t n = 1; n <= changes; ++n) {
      for (const bool crash : {false, true}) {
        SCOPED_TRACE(name + ": change " + std::to_string(n) + " of " + std::to_string(changes) +
                     (crash ? ": crash just after it" : ": it fails"));
        const fs::path dir = root_ / "run";
        const Status st = run(dir, op, nth_fault(n, crash));
        const DeviceState s = state_of(dir);
        if (st.ok()) {
          EXPECT_EQ(s, new_state) << "reported success, found " << describe(s);
        } else {
          EXPECT_TRUE(s == old_state || s == new_state)
              << st.to_string() << "\nfound " << describe(s) << "\nold   " << describe(old_state)
              << "\nnew   " << describe(new_state);
        }
        if (HasFailure()) return changes;  // one failing point says it; the rest would repeat it
      }
    }
    // The coverage table of docs/reliability.md comes from these lines.
    std::printf("[ coverage ] %s: %zu changes, %zu failing runs, %zu crash runs\n", name.c_str(),
                changes, changes, changes);
    return changes;
  }

  fs::path root_ = fs::temp_directory_path() / ("kcb-faults-" + std::to_string(getpid()));
  fs::path template_;
};

Result<int64_t> rowid_of(Device& d, const std::string& account) {
  KCB_ASSIGN_OR_RETURN(RowInfo row,
                       find_row(d, {ItemClass::kGenp, std::nullopt, account, "faults"}));
  return row.rowid;
}

TEST_F(Faults, Add) {
  template_ = make_template();
  check_every_fault("add", [](Device& d, Random& r) { return d.add(item("new"), r).status(); });
}

TEST_F(Faults, Update) {
  template_ = make_template();
  check_every_fault("update", [](Device& d, Random& r) {
    KCB_ASSIGN_OR_RETURN(int64_t rowid, rowid_of(d, "a"));
    ItemUpdate u;
    u.accessible = Accessibility::kWhenUnlocked;
    u.secret = SecretBytes(as_bytes("updated"));
    return d.update(ItemClass::kGenp, rowid, u, r);
  });
}

TEST_F(Faults, Delete) {
  template_ = make_template();
  check_every_fault("delete", [](Device& d, Random&) {
    KCB_ASSIGN_OR_RETURN(int64_t rowid, rowid_of(d, "b"));
    return d.remove(ItemClass::kGenp, rowid);
  });
}

TEST_F(Faults, PasscodeOff) {
  template_ = make_template();
  check_every_fault("passcode off", [](Device& d, Random& r) {
    size_t deleted = 0;
    KCB_RETURN_IF_ERROR(d.set_passcode(false, r, &deleted));
    return deleted == 1 ? Status::Ok() : Status::CheckFailed("deleted " + std::to_string(deleted));
  });
}

TEST_F(Faults, PasscodeOn) {
  template_ =
      make_template([](Device& d, Random& r) { ASSERT_TRUE(d.set_passcode(false, r).ok()); });
  // state_of checks that the akpu class key is there: an akpu item can be added
  check_every_fault("passcode on", [](Device& d, Random& r) { return d.set_passcode(true, r); });
}

TEST_F(Faults, Erase) {
  template_ = make_template();
  check_every_fault("erase", [](Device& d, Random& r) { return d.erase(r); });
}

// `device put`: a second app file beside the template's one, and the template's one replaced.
TEST_F(Faults, PutAppFile) {
  template_ = make_template();
  check_every_fault("put", [](Device& d, Random&) {
    const ByteView contents = as_bytes("another app file");
    return d.put_app_file(
        {"AppDomain-com.example.other", "Library/y", 4, Bytes(contents.begin(), contents.end())});
  });
}

TEST_F(Faults, ReplaceAppFile) {
  template_ = make_template();
  check_every_fault("put (replacing)", [](Device& d, Random&) {
    AppFile f = app_file();
    f.contents = Bytes(3, 0x5a);
    return d.put_app_file(std::move(f));
  });
}

TEST_F(Faults, ICloudKeychainOn) {
  template_ = make_template();
  check_every_fault("icloud-keychain on",
                    [](Device& d, Random&) { return d.set_icloud_keychain(true); });
}

TEST_F(Faults, PersistentRefsUuid) {
  template_ = make_template();
  check_every_fault("persistent refs uuid", [](Device& d, Random& r) {
    return d.set_persistent_refs(PersistentRefKind::kUuid, r);
  });
}

TEST_F(Faults, SosOn) {
  template_ = make_template();
  check_every_fault("sos on", [](Device& d, Random&) { return d.set_sos(true); });
}

// `device init`: DIR is no device (open refuses it as "not a device directory", and a second init
// makes the device there) or a complete one, and a complete one whenever init said it succeeded,
// after a power loss just afterwards too. The old state is DIR absent, inside a tracked folder.
TEST_F(Faults, Init) {
  const DeviceConfig config{true, false, std::nullopt};
  const auto init = [&](const fs::path& parent, const std::function<void(FaultEnv&)>& arm,
                        size_t* changes) {
    return run_in_fresh_folder(parent, arm, changes, [&](FaultEnv& env) {
      auto r = make_seeded_random(7);
      return Device::create_at(env, parent / "phone", config, *r).status();
    });
  };
  size_t changes = 0;
  ASSERT_TRUE(init(
                  root_ / "new", [](FaultEnv&) {}, &changes)
                  .ok());
  const DeviceState new_state = state_of(root_ / "new" / "phone");
  ASSERT_FALSE(HasFailure()) << "the device init made does not survive a power loss";
  ASSERT_GE(changes, 10u);  // the folder, the marker, uid, keybag, device.plist, the keychain
  size_t refused = 0;
  for (size_t n = 1; n <= changes; ++n) {
    for (const bool crash : {false, true}) {
      SCOPED_TRACE("init: change " + std::to_string(n) + " of " + std::to_string(changes) +
                   (crash ? ": crash just after it" : ": it fails"));
      const Status st = init(root_ / "run", nth_fault(n, crash), nullptr);
      const fs::path dir = root_ / "run" / "phone";
      const Status opened = Device::open(default_env(), dir).status();  // closed again at once
      if (st.ok()) EXPECT_TRUE(opened.ok()) << "reported success: " << opened.to_string();
      if (!opened.ok()) {
        ++refused;
        EXPECT_EQ(opened.code(), Code::kIOError) << opened.to_string();
        EXPECT_NE(opened.message().find(dir.string() + ": not a device directory"),
                  std::string::npos)
            << opened.to_string();
        // A second init replaces what the first one left.
        auto r = make_seeded_random(7);
        FaultEnv no_fsyncs(default_env(), FaultEnv::kHookSqliteModelSyncs);  // as state_of's
        const auto again = Device::create_at(no_fsyncs, dir, config, *r);
        ASSERT_TRUE(again.ok()) << "a second init: " << again.status().to_string() << "\nafter "
                                << st.to_string();
      }
      EXPECT_EQ(state_of(dir), new_state) << st.to_string();
      if (HasFailure()) return;
    }
  }
  EXPECT_GE(refused, 1u);
  std::printf("[ coverage ] init: %zu changes, %zu failing runs, %zu crash runs\n", changes,
              changes, changes);
}

// A backup of another device with items of its own, restored onto the template device.
TEST_F(Faults, Restore) {
  template_ = make_template();
  auto r = make_seeded_random(3);
  auto source = Device::create_in_memory({true, false, std::nullopt}, *r);
  ASSERT_TRUE(source.ok());
  for (const char* a : {"x", "y", "a"})
    ASSERT_TRUE((*source)->add(item(a), *r).ok());
  auto folder = make_backup(**source, {Journey::kLocalEncrypted, "pw", kFastKdf}, *r);
  ASSERT_TRUE(folder.ok()) << folder.status().to_string();
  ASSERT_TRUE(write_backup_folder(default_env(), root_ / "backup", *folder).ok());
  const fs::path backup = root_ / "backup";
  check_every_fault("restore", [backup](Device& d, Random& random) {
    DiskFolder disk(default_env(), backup);
    return restore_backup(disk, d, {.password = "pw"}, random).status();
  });
}

TEST_F(Faults, Migrate) {
  template_ = make_template();
  check_every_fault("migrate", [](Device& to, Random& random) {
    auto r = make_seeded_random(5);
    auto from = Device::create_in_memory({true, false, std::nullopt}, *r);
    KCB_RETURN_IF_ERROR(from.status());
    for (const char* a : {"m", "n"})
      KCB_RETURN_IF_ERROR((*from)->add(item(a), *r).status());
    return quick_start(**from, to, kFastKdf, random).status();
  });
}

// A backup folder is complete or not recognised as one: Status.plist is written last, so a folder
// whose writing failed at any change, or crashed after it, never opens as a finished backup
// (Corruption: unfinished or missing files), and one that opens holds exactly what was written.
TEST_F(Faults, Backup) {
  auto r = make_seeded_random(1);
  auto source = Device::create_in_memory({true, false, std::nullopt}, *r);
  ASSERT_TRUE(source.ok());
  for (const char* a : {"a", "b", "c"})
    ASSERT_TRUE((*source)->add(item(a), *r).ok());
  ASSERT_TRUE((*source)->put_app_file(app_file()).ok());
  auto folder = make_backup(**source, {Journey::kLocalEncrypted, "pw", kFastKdf}, *r);
  ASSERT_TRUE(folder.ok());
  auto expected = OpenedBackup::open(*folder, {.password = "pw"});
  ASSERT_TRUE(expected.ok()) << expected.status().to_string();
  auto expected_keychain = expected->read_keychain();
  ASSERT_TRUE(expected_keychain.ok());

  // Each run writes DIR/backup inside a folder of its own, the tracked root.
  const auto write = [&](const fs::path& parent, const std::function<void(FaultEnv&)>& arm,
                         size_t* changes) {
    return run_in_fresh_folder(parent, arm, changes, [&](FaultEnv& env) {
      return write_backup_folder(env, parent / "backup", *folder);
    });
  };
  size_t changes = 0;
  ASSERT_TRUE(write(
                  root_ / "dry", [](FaultEnv&) {}, &changes)
                  .ok());
  ASSERT_GE(changes, 14u);  // the folders, the blobs, four top-level files
  size_t finished = 0;
  for (size_t n = 1; n <= changes + 1; ++n) {
    for (const bool crash : {false, true}) {
      if (n > changes && !crash) continue;
      SCOPED_TRACE("change " + std::to_string(n) + " of " + std::to_string(changes) +
                   (crash ? ": crash just after it" : ": it fails"));
      const fs::path parent = root_ / "run";
      const Status st = write(parent, nth_fault(n, crash), nullptr);
      DiskFolder disk(default_env(), parent / "backup");
      auto back = OpenedBackup::open(disk, {.password = "pw"});
      if (st.ok()) EXPECT_TRUE(back.ok()) << "reported success: " << back.status().to_string();
      if (!back.ok()) {
        EXPECT_FALSE(fs::exists(parent / "backup" / kStatusPlistName) &&
                     fs::file_size(parent / "backup" / kStatusPlistName) > 0)
            << "a Status.plist but no readable folder: " << back.status().to_string();
        // Not finished: refused as invalid input (or absent), never taken for a backup.
        EXPECT_TRUE(back.status().code() == Code::kCorruption ||
                    back.status().code() == Code::kIOError)
            << back.status().to_string();
        continue;
      }
      ++finished;
      EXPECT_EQ(back->manifest(), expected->manifest());
      auto keychain = back->read_keychain();
      ASSERT_TRUE(keychain.ok()) << keychain.status().to_string();
      EXPECT_EQ(keychain->items, expected_keychain->items);
      for (const BackupFileEntry& e : back->files()) {
        if (e.flags != 1) continue;  // a folder
        auto bytes = back->read_file(e, 1 << 20);
        EXPECT_TRUE(bytes.ok()) << e.relative_path << ": " << bytes.status().to_string();
      }
      if (HasFailure()) return;
    }
  }
  EXPECT_GE(finished, 1u);
  std::printf("[ coverage ] backup: %zu changes, %zu failing runs, %zu crash runs\n", changes,
              changes, changes);
}

// A Device whose change failed after its journal was written changes nothing more until reopened
// (a row sealed under keys the folder does not hold would be lost), and reopening finishes it.
TEST_F(Faults, ADeviceWhoseChangeDidNotFinishRefusesMoreChanges) {
  template_ = make_template();
  const fs::path dir = root_ / "d";
  copy_folder(template_, dir);
  FaultEnv env(default_env());
  auto d = Device::open(env, dir);
  ASSERT_TRUE(d.ok());
  auto r = make_seeded_random(4);
  env.fail_next(FaultEnv::Op::kRemove);  // the journal's removal, the erase's last step but one
  ASSERT_FALSE((*d)->erase(*r).ok());
  EXPECT_EQ((*d)->add(item("after"), *r).status().code(), Code::kIOError);
  d->reset();
  const DeviceState s = state_of(dir);
  EXPECT_TRUE(s.items.empty()) << describe(s);
  EXPECT_TRUE(s.app_files.empty());
}

}  // namespace
}  // namespace kcb
