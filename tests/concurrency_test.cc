// Device folders under concurrency (issue #15; docs/engine.md): parallel readers and writers on one
// folder, in threads of this process (each Device its own descriptors and SQLite connection, as
// separate processes would have). Writers hold the folder's lock exclusively from open to close,
// readers shared and read-only: no operation fails, and no row is ever left that the folder's
// keybag cannot read (the add/erase race of the issue left one in 6 runs of 8).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/device_internals.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "tests/cli_run.h"
#include "tests/test_support.h"

namespace kcb {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

NewItem item(const std::string& account) {
  NewItem n;
  n.accessible = Accessibility::kAfterFirstUnlock;
  n.account = account;
  n.service = "concurrency";
  n.secret = SecretBytes(as_bytes("secret-" + account));
  return n;
}

class Concurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(root_);
    fs::create_directories(root_);
    auto r = make_seeded_random(1);
    auto d = Device::create_at(default_env(), dir_, {true, false, std::nullopt}, *r);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(root_, ec);
  }

  void record(const std::string& who, const Status& st) {
    if (st.ok()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.push_back(who + ": " + st.to_string());
  }

  // The folder as a fresh reader sees it: readable items, unreadable rows, all rows.
  struct Census {
    size_t readable = 0, unreadable = 0;
    int64_t rows = 0;
  };
  Census census() {
    Census c;
    auto d = Device::open(default_env(), dir_, {DeviceAccess::kReadOnly});
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    if (!d.ok()) return c;
    auto items = (*d)->list(&c.unreadable);
    EXPECT_TRUE(items.ok());
    if (items.ok()) c.readable = items->size();
    c.rows = *DeviceInternals::store(**d).count();
    return c;
  }

  fs::path root_ = fs::temp_directory_path() / ("kcb-concurrency-" + std::to_string(getpid()));
  fs::path dir_ = root_ / "phone";
  std::mutex mutex_;
  std::vector<std::string> errors_;
};

// KCB_CONCURRENCY_ROUNDS (default 25, a few seconds: every write is fsynced) sets the rounds per
// thread; the soak label runs 200.
int rounds() {
  const char* text = std::getenv("KCB_CONCURRENCY_ROUNDS");
  return text != nullptr ? std::atoi(text) : 25;
}

TEST_F(Concurrency, ParallelReadersAndWritersNeverFailAndLeaveNoHiddenRow) {
  const int kRounds = rounds();
  std::atomic<size_t> unreadable_seen{0};
  std::vector<std::thread> threads;
  for (int adder = 0; adder < 2; ++adder) {
    threads.emplace_back([&, adder] {
      auto r = make_seeded_random(10 + adder);
      for (int i = 0; i < kRounds; ++i) {
        auto d = Device::open(default_env(), dir_);
        if (!d.ok()) {
          record("open to add", d.status());
          continue;
        }
        const std::string account = "a" + std::to_string(adder) + "-" + std::to_string(i);
        record("add " + account, (*d)->add(item(account), *r).status());
      }
    });
  }
  threads.emplace_back([&] {
    auto r = make_seeded_random(20);
    for (int i = 0; i < kRounds / 2; ++i) {
      auto d = Device::open(default_env(), dir_);
      record("open to erase", d.status());
      if (d.ok()) record("erase", (*d)->erase(*r));
    }
  });
  // The other keybag rewrite: passcode off (the akpu class key and rows go) and on again.
  threads.emplace_back([&] {
    auto r = make_seeded_random(21);
    for (int i = 0; i < kRounds / 2; ++i) {
      for (const bool on : {false, true}) {
        auto d = Device::open(default_env(), dir_);
        record("open to set the passcode", d.status());
        if (d.ok()) record(on ? "passcode on" : "passcode off", (*d)->set_passcode(on, *r));
      }
    }
  });
  for (int reader = 0; reader < 3; ++reader) {
    threads.emplace_back([&, reader] {
      auto r = make_seeded_random(30 + reader);
      for (int i = 0; i < kRounds; ++i) {
        auto d = Device::open(default_env(), dir_, {DeviceAccess::kReadOnly});
        if (!d.ok()) {
          record("open to read", d.status());
          continue;
        }
        size_t unreadable = 0;
        record("list", (*d)->list(&unreadable).status());
        unreadable_seen += unreadable;
        if (reader == 0 && i % 5 == 0) {
          record("backup", make_backup(**d, {Journey::kLocal, "", kFastKdf}, *r).status());
        }
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  EXPECT_TRUE(errors_.empty()) << errors_.size() << " failures, first: " << errors_.front();
  EXPECT_EQ(unreadable_seen.load(), 0u) << "a reader saw rows its keybag could not read";
  const Census after = census();
  EXPECT_EQ(after.unreadable, 0u);
  EXPECT_EQ(static_cast<int64_t>(after.readable), after.rows) << "hidden rows";
}

// The measurement, as kcbackup processes (each its own SQLite locks, as a shell's parallel
// commands have): `device list` and `backup` beside `device add`, `device passcode off|on` and
// `device erase`, all at once on one folder. Every command exits 0 (none waits the 10 s after which
// it would say busy), and the folder then lists every row it holds.
TEST_F(Concurrency, ParallelCommandsAllSucceedAndLeaveNoHiddenRow) {
  using cli::run_cli;
  const int kRounds = std::max(2, rounds() / 3);
  const std::string dir = dir_.string();
  // Each child runs its commands in turn and exits with the first failing one's code, its error
  // kept in ERR_FILE for the parent.
  const auto spawn = [&](const std::string& name,
                         const std::function<std::vector<std::string>(int)>& command) {
    const pid_t child = fork();
    if (child != 0) return child;
    for (int i = 0; i < kRounds; ++i) {
      const cli::CliRun run = run_cli(command(i));
      if (run.exit_code != 0) {
        cli::spit((root_ / (name + ".err")).string(), run.err);
        _exit(run.exit_code);
      }
    }
    _exit(0);
  };
  std::vector<std::pair<std::string, pid_t>> children;
  for (int n = 0; n < 3; ++n) {
    children.emplace_back("list" + std::to_string(n), spawn("list" + std::to_string(n), [&](int) {
                            return std::vector<std::string>{"device", "list", dir};
                          }));
  }
  children.emplace_back(
      "backup", spawn("backup", [&](int i) {
        return std::vector<std::string>{
            "backup",         dir,     (root_ / ("b" + std::to_string(i))).string(),
            "--journey",      "local", "--seed",
            std::to_string(i)};
      }));
  for (int n = 0; n < 2; ++n) {
    const std::string name = "add" + std::to_string(n);
    children.emplace_back(
        name, spawn(name, [&, name](int i) {
          return std::vector<std::string>{
              "device",    "add", dir,        "--account", name + "-" + std::to_string(i),
              "--service", "s",   "--secret", "x"};
        }));
  }
  children.emplace_back(
      "passcode", spawn("passcode", [&](int i) {
        return std::vector<std::string>{"device", "passcode", dir, i % 2 == 0 ? "off" : "on"};
      }));
  children.emplace_back("erase", spawn("erase", [&](int) {
                          return std::vector<std::string>{"device", "erase", dir};
                        }));
  for (const auto& [name, pid] : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << name;
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << name << ": " << cli::slurp((root_ / (name + ".err")).string());
  }
  const cli::CliRun list = run_cli({"device", "list", dir, "--format", "json"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"unreadable_rows\": 0"), std::string::npos) << list.out;
  const Census after = census();
  EXPECT_EQ(after.unreadable, 0u);
  EXPECT_EQ(static_cast<int64_t>(after.readable), after.rows) << "hidden rows";
}

// The race, made deterministic: an add opened (and read the keybag) before an erase. The
// erase must wait for the add to finish; before the lock it rewrote the keybag first and the add's
// row, sealed under the old class keys, stayed in keychain-2.db unreadable ("0 items").
TEST_F(Concurrency, AnAddOpenedBeforeAnEraseIsNeverHidden) {
  auto adder = Device::open(default_env(), dir_);
  ASSERT_TRUE(adder.ok());
  std::thread eraser([&] {
    auto r = make_seeded_random(7);
    auto d = Device::open(default_env(), dir_);
    record("open to erase", d.status());
    if (d.ok()) record("erase", (*d)->erase(*r));
  });
  std::this_thread::sleep_for(milliseconds(300));
  auto r = make_seeded_random(8);
  ASSERT_TRUE((*adder)->add(item("late"), *r).ok());
  adder->reset();
  eraser.join();
  EXPECT_TRUE(errors_.empty()) << errors_.front();
  const Census after = census();
  EXPECT_EQ(after.unreadable, 0u) << "the add's row is hidden";
  EXPECT_EQ(after.rows, 0);  // the erase came second and removed it
}

TEST_F(Concurrency, TwoWritersSerialize) {
  std::atomic<bool> first_done{false};
  std::atomic<bool> second_saw_first_done{false};
  auto first = Device::open(default_env(), dir_);
  ASSERT_TRUE(first.ok());
  std::thread second([&] {
    auto d = Device::open(default_env(), dir_);  // waits for `first` to close
    second_saw_first_done = first_done.load();
    record("second open", d.status());
  });
  std::this_thread::sleep_for(milliseconds(200));
  auto r = make_seeded_random(2);
  ASSERT_TRUE((*first)->add(item("first"), *r).ok());
  first_done = true;
  first->reset();
  second.join();
  EXPECT_TRUE(errors_.empty()) << errors_.front();
  EXPECT_TRUE(second_saw_first_done.load());
}

TEST_F(Concurrency, AfterTheTimeoutTheErrorSaysBusy) {
  auto holder = Device::open(default_env(), dir_);
  ASSERT_TRUE(holder.ok());
  for (DeviceAccess access : {DeviceAccess::kReadWrite, DeviceAccess::kReadOnly}) {
    const auto start = std::chrono::steady_clock::now();
    auto waiting = Device::open(default_env(), dir_, {access, milliseconds(100)});
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(waiting.ok());
    EXPECT_EQ(waiting.status().code(), Code::kIOError);
    EXPECT_EQ(waiting.status().message(),
              (dir_ / kDeviceLockFile).string() +
                  ": busy: another kcbackup command has held this lock for 100 ms; try again "
                  "when it is done");
    EXPECT_GE(waited, milliseconds(100));
  }
  holder->reset();
  EXPECT_TRUE(
      Device::open(default_env(), dir_, {DeviceAccess::kReadWrite, milliseconds(100)}).ok());
}

TEST_F(Concurrency, ReadersShareTheFolder) {
  auto a = Device::open(default_env(), dir_, {DeviceAccess::kReadOnly, milliseconds(100)});
  auto b = Device::open(default_env(), dir_, {DeviceAccess::kReadOnly, milliseconds(100)});
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok()) << b.status().to_string();
}

TEST_F(Concurrency, AReaderWritesNothing) {
  {
    auto d = Device::open(default_env(), dir_);
    auto r = make_seeded_random(3);
    ASSERT_TRUE((*d)->add(item("x"), *r).ok());
  }
  auto reader = Device::open(default_env(), dir_, {DeviceAccess::kReadOnly});
  ASSERT_TRUE(reader.ok());
  auto r = make_seeded_random(4);
  EXPECT_EQ((*reader)->add(item("y"), *r).status().code(), Code::kIOError);  // SQLite: read-only
  EXPECT_EQ((*reader)->set_icloud_keychain(true).code(), Code::kFailedPrecondition);
  EXPECT_EQ((*reader)->set_sos(true).code(), Code::kFailedPrecondition);
  EXPECT_EQ((*reader)->set_persistent_refs(PersistentRefKind::kUuid, *r).code(),
            Code::kFailedPrecondition);
  // Refused, so the Device still says what the folder holds.
  EXPECT_FALSE((*reader)->icloud_keychain());
  EXPECT_FALSE((*reader)->sos());
  EXPECT_EQ((*reader)->persistent_refs(), PersistentRefKind::kRowid);
  EXPECT_EQ((*reader)->erase(*r).code(), Code::kFailedPrecondition);
  EXPECT_EQ((*reader)->list()->size(), 1u);
}

// A writer killed mid-transaction leaves a hot rollback journal: pages of keychain-2.db already
// overwritten, their old contents in keychain-2.db-journal. A read-only connection cannot roll it
// back ("attempt to write a readonly database"), so a reader's open lets a writer's open finish it
// first: the reader then sees the rows as they were before the dead transaction. The child here
// is the killed writer: SQLite itself, its page cache too small to hold the transaction, so the
// journal is synced and the database written before it dies without committing.
TEST_F(Concurrency, AReaderOpensAFolderAKilledWriterLeftMidTransaction) {
  {
    auto d = Device::open(default_env(), dir_);
    auto r = make_seeded_random(7);
    ASSERT_TRUE((*d)->add(item("kept"), *r).ok());
  }
  const fs::path db = dir_ / "keychain-2.db";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sqlite3* c = nullptr;
    if (sqlite3_open(db.c_str(), &c) != SQLITE_OK) _exit(10);
    const char* sql =
        "PRAGMA cache_size=1; BEGIN; DELETE FROM genp; CREATE TABLE junk(x);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)"
        " INSERT INTO junk SELECT randomblob(4000) FROM n;";
    if (sqlite3_exec(c, sql, nullptr, nullptr, nullptr) != SQLITE_OK) _exit(11);
    _exit(0);  // no COMMIT, no close: as if killed
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "10 open, 11 the transaction";
  ASSERT_TRUE(fs::exists(dir_ / "keychain-2.db-journal"));
  ASSERT_GT(fs::file_size(dir_ / "keychain-2.db-journal"), 0u);

  auto reader = Device::open(default_env(), dir_, {DeviceAccess::kReadOnly});
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  auto items = (*reader)->list();
  ASSERT_TRUE(items.ok()) << items.status().to_string();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ(to_hex((*items)[0].item.account()), to_hex(as_bytes("kept")));
  EXPECT_EQ(*DeviceInternals::store(**reader).count(), 1);
}

// A folder this process may not write (chmod; as root the check runs in a child that drops to
// nobody, since root writes anyway): listed and backed up all the same, and nothing in it changes.
TEST_F(Concurrency, AReadOnlyFolderCanBeListedAndBackedUp) {
  {
    auto d = Device::open(default_env(), dir_);
    auto r = make_seeded_random(5);
    ASSERT_TRUE((*d)->add(item("x"), *r).ok());
  }
  fs::remove(dir_ / kDeviceLockFile);  // a folder from before the lock file: a reader cannot add it
  const fs::path out = root_ / "out";
  fs::create_directories(out);
  fs::permissions(out, fs::perms::all);
  fs::permissions(root_, fs::perms::all);
  for (const auto& e : fs::directory_iterator(dir_))
    fs::permissions(e.path(),
                    fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                            fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
    auto d = Device::open(default_env(), dir_, {DeviceAccess::kReadOnly});
    if (!d.ok()) {
      fprintf(stderr, "open: %s\n", d.status().to_string().c_str());
      _exit(11);
    }
    if ((*d)->list()->size() != 1) _exit(12);
    auto r = make_seeded_random(6);
    auto folder = make_backup(**d, {Journey::kLocal, "", kFastKdf}, *r);
    if (!folder.ok() || !write_backup_folder(default_env(), out / "b", *folder).ok()) _exit(13);
    // And a writer is refused with a clear error, not a half-made lock file.
    auto writer = Device::open(default_env(), dir_);
    if (writer.ok() || writer.status().code() != Code::kIOError) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 open, 12 list, 13 backup, 14 writer";
  EXPECT_FALSE(fs::exists(dir_ / kDeviceLockFile));
  EXPECT_TRUE(fs::exists(out / "b" / kStatusPlistName));
  EXPECT_TRUE(fs::exists(out / "b" / std::string(test_support::kKeychainBlobName)));
}

// `device list` over rows its keybag cannot open (here: another keybag for the same UID copied
// in): the items it can read, the count of the others, exit 2 — never "0 items", exit 0.
TEST(DeviceListUnreadable, CountsAndReportsRowsItCannotRead) {
  using cli::run_cli;
  cli::TempDir tmp;
  const std::string uid(64, 'a');
  const std::string phone = tmp / "phone", twin = tmp / "twin";
  for (const std::string& d : {phone, twin})
    ASSERT_EQ(run_cli({"device", "init", d, "--uid-hex", uid}).exit_code, 0);
  for (const char* account : {"alice", "bob"}) {
    ASSERT_EQ(
        run_cli({"device", "add", phone, "--account", account, "--service", "s", "--secret", "x"})
            .exit_code,
        0);
  }
  const cli::CliRun before = run_cli({"device", "list", phone});
  EXPECT_EQ(before.exit_code, 0) << before.err;
  fs::copy_file(fs::path(twin) / "keybag", fs::path(phone) / "keybag",
                fs::copy_options::overwrite_existing);
  const cli::CliRun text = run_cli({"device", "list", phone});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_NE(text.out.find("0 items and 2 unreadable row(s)"), std::string::npos) << text.out;
  EXPECT_EQ(text.err, "kcbackup: corruption: " + phone +
                          ": 2 row(s) of keychain-2.db cannot be read with this device's keybag "
                          "(its uid or keybag file was replaced, or the folder was damaged)\n");
  const cli::CliRun json = run_cli({"device", "list", phone, "--format", "json"});
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_NE(json.out.find("\"unreadable_rows\": 2"), std::string::npos) << json.out;
}

}  // namespace
}  // namespace kcb
