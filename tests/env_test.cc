// The file-system seam: write_file_atomically's steps and their order, what each failure leaves
// behind, default_env()'s reads (pipes, caps, errors in plain words), and the engine's files going
// through the Env its caller passed.
#include "kcbackup/env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/device.h"
#include "kcbackup/random.h"
#include "tests/fault_env.h"
#include "tests/test_support.h"

namespace kcb {
namespace {

namespace fs = std::filesystem;
using faults::FaultEnv;
using Op = FaultEnv::Op;

// A fresh, empty folder per test, removed afterwards.
class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kcb-env-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }

  static std::string contents(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void put(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }

  fs::path dir_;
};

TEST_F(EnvTest, SecretFilesAreReadWholeUpToTheirCap) {
  put(dir_ / "pw", "hunter2\n");
  auto secret = read_secret_file(default_env(), dir_ / "pw", 8);
  ASSERT_TRUE(secret.ok()) << secret.status().to_string();
  EXPECT_EQ(*secret, SecretBytes(as_bytes("hunter2\n")));
  EXPECT_EQ(read_secret_file(default_env(), dir_ / "pw", 7).status().code(),
            Code::kResourceExhausted);
  EXPECT_EQ(read_secret_file(default_env(), dir_ / "none", 8).status().code(), Code::kIOError);
}

TEST_F(EnvTest, AtomicWriteIsWriteSyncRenameSyncFolderInThatOrder) {
  FaultEnv env(default_env());
  const fs::path file = dir_ / "f";
  ASSERT_TRUE(write_file_atomically(env, file, as_bytes("new")).ok());
  const std::vector<Op> expected{Op::kWrite, Op::kSyncFile, Op::kRename, Op::kSyncDir};
  EXPECT_EQ(env.ops(), expected);
  ASSERT_EQ(env.calls().size(), 4u);
  const fs::path tmp = file.string() + ".tmp";
  EXPECT_EQ(env.calls()[0].path, tmp);
  EXPECT_EQ(env.calls()[1].path, tmp);  // the data is durable before its name replaces the old
  EXPECT_EQ(env.calls()[2].path, tmp);
  EXPECT_EQ(env.calls()[3].path, dir_);  // and the rename is made durable by the folder's fsync
  EXPECT_EQ(contents(file), "new");
  EXPECT_FALSE(fs::exists(tmp));
}

// A failure before the rename leaves the old file exactly as it was (or no file), and no
// temporary; the error names the path and comes back to the caller.
TEST_F(EnvTest, AFailureBeforeTheRenameLeavesTheOldFile) {
  for (Op op : {Op::kWrite, Op::kSyncFile, Op::kRename}) {
    for (bool had_old : {true, false}) {
      SCOPED_TRACE(static_cast<int>(op));
      SCOPED_TRACE(had_old);
      const fs::path file = dir_ / "f";
      fs::remove(file);
      if (had_old) put(file, "old bytes");
      FaultEnv env(default_env());
      env.fail_next(op);
      const Status st = write_file_atomically(env, file, as_bytes("new bytes, longer"));
      EXPECT_EQ(st.code(), Code::kIOError);
      EXPECT_NE(st.message().find("injected failure"), std::string::npos) << st.to_string();
      if (had_old) {
        EXPECT_EQ(contents(file), "old bytes");
      } else {
        EXPECT_FALSE(fs::exists(file));
      }
      EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
    }
  }
}

// After the rename the new name is in place; a failed folder fsync means it may not survive a
// power loss, so the caller hears of it. Either way the file is whole, never a mix.
TEST_F(EnvTest, AFailedFolderSyncIsReportedAndTheFileIsWhole) {
  const fs::path file = dir_ / "f";
  put(file, "old bytes");
  FaultEnv env(default_env());
  env.fail_next(Op::kSyncDir);
  const Status st = write_file_atomically(env, file, as_bytes("new bytes"));
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_EQ(contents(file), "new bytes");
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
}

TEST_F(EnvTest, DefaultEnvReadsAPipeWithoutTrustingItsSize) {
  std::signal(SIGPIPE, SIG_IGN);  // a reader that stops early must not kill the test
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string payload(100'000, 'p');  // more than one pipe buffer: several reads
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << payload; });
  auto bytes = default_env().read_file(fifo, 1 << 20);
  writer.join();
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), payload);
}

TEST_F(EnvTest, DefaultEnvEnforcesTheCapWhileReading) {
  std::signal(SIGPIPE, SIG_IGN);
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << std::string(101, 'p'); });
  auto over = default_env().read_file(fifo, 100);
  writer.join();
  EXPECT_EQ(over.status().code(), Code::kResourceExhausted);
  EXPECT_NE(over.status().message().find("over the cap of 100 bytes"), std::string::npos);

  const fs::path file = dir_ / "f";
  put(file, std::string(100, 'f'));
  EXPECT_TRUE(default_env().read_file(file, 100).ok());  // exactly the cap is fine
  EXPECT_EQ(default_env().read_file(file, 99).status().code(), Code::kResourceExhausted);
}

TEST_F(EnvTest, DefaultEnvNamesThePathAndTheReasonInPlainWords) {
  auto missing = default_env().read_file(dir_ / "nope", 10);
  EXPECT_EQ(missing.status().code(), Code::kIOError);
  EXPECT_NE(missing.status().message().find((dir_ / "nope").string()), std::string::npos);
  EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos);

  auto folder = default_env().read_file(dir_, 10);
  EXPECT_EQ(folder.status().code(), Code::kIOError);
  EXPECT_NE(folder.status().message().find("is a directory"), std::string::npos)
      << folder.status().to_string();

  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  const fs::path locked = dir_ / "locked";
  put(locked, "secret");
  fs::permissions(locked, fs::perms::none);
  auto denied = default_env().read_file(locked, 10);
  EXPECT_EQ(denied.status().code(), Code::kIOError);  // PermissionDenied means a wrong password
  EXPECT_NE(denied.status().message().find("permission denied"), std::string::npos);
}

TEST_F(EnvTest, DefaultEnvListsRemovesAndKnowsKinds) {
  Env& env = default_env();
  ASSERT_TRUE(env.create_dirs(dir_ / "a" / "b").ok());
  ASSERT_TRUE(env.create_dirs(dir_ / "a" / "b").ok());  // already there: fine
  put(dir_ / "z", "");
  put(dir_ / "m", "");
  auto names = env.list_dir(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "m", "z"}));
  EXPECT_EQ(env.kind_of(dir_ / "a"), FileKind::kDirectory);
  EXPECT_EQ(env.kind_of(dir_ / "z"), FileKind::kFile);
  EXPECT_EQ(env.kind_of(dir_ / "none"), FileKind::kMissing);
  EXPECT_TRUE(env.remove(dir_ / "z").ok());
  EXPECT_EQ(env.remove(dir_ / "z").code(), Code::kNotFound);
}

// A device keeps the Env it was made with: later rewrites of its keybag and settings go through
// it, so an injected failure reaches the caller and leaves the old settings file.
TEST_F(EnvTest, ADeviceWritesItsFilesThroughItsEnv) {
  FaultEnv env(default_env());
  auto random = make_seeded_random(1);
  auto created = Device::create_at(env, dir_ / "d", {true, false, std::nullopt}, *random);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  std::vector<fs::path> renamed;
  for (const auto& c : env.calls())
    if (c.op == Op::kRename) renamed.push_back(c.path.filename());
  EXPECT_EQ(renamed, (std::vector<fs::path>{"uid.tmp", "keybag.tmp", "device.plist.tmp"}));

  created->reset();
  auto device = Device::open(env, dir_ / "d");
  ASSERT_TRUE(device.ok()) << device.status().to_string();
  const std::string settings = contents(dir_ / "d" / "device.plist");
  env.clear_calls();
  env.fail_next(Op::kRename);
  EXPECT_EQ((*device)->set_icloud_keychain(true).code(), Code::kIOError);
  EXPECT_EQ(contents(dir_ / "d" / "device.plist"), settings);
  ASSERT_FALSE(env.calls().empty());
  EXPECT_EQ(env.calls().front().path, dir_ / "d" / "device.plist.tmp");

  env.clear_calls();
  ASSERT_TRUE((*device)->set_passcode(false, *random).ok());
  bool wrote_keybag = false;
  for (const auto& c : env.calls())
    wrote_keybag |= c.op == Op::kWrite && c.path.filename() == "keybag.tmp";
  EXPECT_TRUE(wrote_keybag);
}

// Every file of a backup folder goes through the Env; the top-level files are each renamed into
// place after the blobs, Status.plist (the commit mark) last; reading it back goes through the Env
// too and changes nothing.
TEST_F(EnvTest, ABackupFolderIsWrittenThroughTheEnvStatusLast) {
  auto random = make_seeded_random(21);
  auto device = Device::create_in_memory({true, false, std::nullopt}, *random);
  ASSERT_TRUE(device.ok());
  NewItem n;
  n.accessible = Accessibility::kAfterFirstUnlock;
  n.account = "a";
  n.service = "env";
  n.secret = SecretBytes(as_bytes("s"));
  ASSERT_TRUE((*device)->add(n, *random).ok());
  auto folder = make_backup(**device, {Journey::kLocal, "", kFastKdf}, *random);
  ASSERT_TRUE(folder.ok()) << folder.status().to_string();

  FaultEnv env(default_env());
  ASSERT_TRUE(write_backup_folder(env, dir_ / "b", *folder).ok());
  std::vector<fs::path> renamed;
  bool wrote_keychain_blob_before_renames = false;
  for (const auto& c : env.calls()) {
    if (c.op == Op::kRename) renamed.push_back(c.path.filename());
    if (c.op == Op::kWrite &&
        c.path.filename() == fs::path(test_support::kKeychainBlobName).filename())
      wrote_keychain_blob_before_renames = renamed.empty();
  }
  EXPECT_TRUE(wrote_keychain_blob_before_renames);
  EXPECT_EQ(renamed, (std::vector<fs::path>{"Info.plist.tmp", "Manifest.db.tmp",
                                            "Manifest.plist.tmp", "Status.plist.tmp"}));
  env.clear_calls();
  DiskFolder disk(env, dir_ / "b");
  auto opened = OpenedBackup::open(disk, {.device = device->get()});
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  auto keychain = opened->read_keychain();
  ASSERT_TRUE(keychain.ok()) << keychain.status().to_string();
  EXPECT_FALSE(env.calls().empty());
  size_t reads = 0;
  for (const auto& c : env.calls()) {
    EXPECT_TRUE(c.op == Op::kRead || c.op == Op::kKind) << c.path;
    reads += c.op == Op::kRead;
  }
  EXPECT_GE(reads, 4u);  // Manifest.plist, Status.plist, Manifest.db, the keychain blob
}

}  // namespace
}  // namespace kcb
