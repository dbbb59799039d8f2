// engine/backup_keys.cc: where a backup's password or key comes from (a file, the value, the
// environment, the prompt, in that order; or a key file), the key file written 0600 and read back,
// the checks on each source, and backup folders opened with them. The prompt is a counting fake:
// the library must ask only when nothing else gave a password and the backup needs one.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/backup_keys.h"
#include "kcbackup/device.h"
#include "kcbackup/kdf.h"
#include "tests/cli_run.h"

namespace kcb {
namespace {

using cli::FilesInMemory;
using cli::slurp;
using cli::TempDir;

// `status` is `code` and its message holds `text`.
void expect_refused(const Status& status, Code code, std::string_view text) {
  EXPECT_EQ(status.code(), code) << status.to_string();
  EXPECT_NE(status.message().find(text), std::string::npos) << status.message();
}

std::string text_of(const std::optional<SecretBytes>& password) {
  return password ? password_string(*password) : "(none)";
}

// No test sees a password from the process's environment unless it sets one.
class BackupKeys : public ::testing::Test {
 protected:
  void SetUp() override { unsetenv(kPasswordEnvVar); }
  void TearDown() override { unsetenv(kPasswordEnvVar); }

  // Sources whose prompt answers `typed` (nullopt: the user typed nothing) and counts the asking.
  BackupKeySources prompting(std::optional<std::string> typed) {
    BackupKeySources s;
    s.prompt = [this, typed](std::string_view question) -> std::optional<SecretBytes> {
      questions_.emplace_back(question);
      if (!typed) return std::nullopt;
      return SecretBytes(as_bytes(*typed));
    };
    return s;
  }
  std::string read(const BackupKeySources& s, Ask ask = Ask::kOnce) {
    auto p = read_password(s, env_, "Backup password", ask);
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    return p.ok() ? text_of(*p) : "(error)";
  }

  FilesInMemory env_;
  TempDir tmp_;
  std::vector<std::string> questions_;
};

TEST_F(BackupKeys, PasswordSourcesComeInTheirOrderAndThePromptIsLast) {
  env_.put("pw.txt", "from-file\n");
  setenv(kPasswordEnvVar, "from-env", 1);
  BackupKeySources s = prompting("typed");
  s.password_file = "pw.txt";
  s.password = "from-flag";
  s.password_given = true;
  EXPECT_EQ(read(s), "from-file");
  s.password_file.clear();
  EXPECT_EQ(read(s), "from-flag");
  s.password.clear();
  EXPECT_EQ(read(s), "");  // --password "" is given, and empty
  s.password_given = false;
  EXPECT_EQ(read(s), "from-env");
  setenv(kPasswordEnvVar, "", 1);  // empty: not a password
  EXPECT_EQ(read(s, Ask::kNever), "(none)");
  EXPECT_TRUE(questions_.empty());
  EXPECT_EQ(read(s), "typed");
  EXPECT_EQ(questions_, std::vector<std::string>{"Backup password"});
  EXPECT_EQ(read(prompting(std::nullopt)), "(none)");
  EXPECT_EQ(read(BackupKeySources{}), "(none)");  // no prompt: no one is asked
  EXPECT_EQ(env_.reads(), 1);                     // the file, through the Env
}

TEST_F(BackupKeys, ThePasswordIsWipedWhenTheSourcesDie) {
  // The bytes of a short string live inside the object, so its storage shows whether they were
  // wiped.
  alignas(BackupKeySources) unsigned char storage[sizeof(BackupKeySources)];
  auto* s = new (storage) BackupKeySources{};
  s->password = "secret-text";
  s->password_given = true;
  ASSERT_EQ(read(*s), "secret-text");
  s->~BackupKeySources();
  const std::string_view bytes(reinterpret_cast<const char*>(storage), sizeof storage);
  EXPECT_EQ(bytes.find("secret-text"), std::string_view::npos);
}

TEST_F(BackupKeys, APasswordFileIsOneLineAndSmall) {
  BackupKeySources s;
  s.password_file = "pw.txt";
  env_.put("pw.txt", "crlf\r\n");
  EXPECT_EQ(read(s), "crlf");
  env_.put("pw.txt", "correct horse\nextra\n");  // the wrong file, or a second line by mistake
  expect_refused(read_password(s, env_, "?").status(), Code::kInvalidArgument,
                 "--password-file pw.txt: more than one line (a line break at byte 13)");
  env_.put("pw.txt", std::string(kMaxPasswordFileBytes + 1, 'x'));
  EXPECT_EQ(read_password(s, env_, "?").status().code(), Code::kResourceExhausted);
  s.password_file = "missing.txt";
  EXPECT_EQ(read_password(s, env_, "?").status().code(), Code::kIOError);
}

TEST_F(BackupKeys, ANewPasswordIsTypedTwiceTheSame) {
  int asked = 0;
  BackupKeySources s;
  s.prompt = [&asked](std::string_view) {
    return std::optional(SecretBytes(as_bytes(asked++ == 0 ? "one" : "two")));
  };
  EXPECT_EQ(read_password(s, env_, "?", Ask::kTwice).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(asked, 2);
  s.prompt = [&asked](std::string_view) {
    ++asked;
    return std::optional(SecretBytes(as_bytes("same")));
  };
  EXPECT_EQ(read(s, Ask::kTwice), "same");
  EXPECT_EQ(asked, 4);
  // Nothing typed at the first question (Ctrl-D): no second one.
  BackupKeySources none = prompting(std::nullopt);
  EXPECT_EQ(read(none, Ask::kTwice), "(none)");
  EXPECT_EQ(questions_.size(), 1u);
}

TEST_F(BackupKeys, AKeyFileRoundTripsAndIsTheOwnersAlone) {
  const SecretBytes key(Bytes(32, 0x5a));
  const std::string path = tmp_ / "backup.key";
  const mode_t before = ::umask(022);
  ASSERT_TRUE(write_key_file(default_env(), path, key).ok());
  EXPECT_EQ(::umask(022), mode_t{022});  // put back
  ::umask(before);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(slurp(path), to_hex(key.view()) + "\n");
  auto back = read_key_file(default_env(), path);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, key);
}

TEST_F(BackupKeys, AKeyFileOfTheWrongSizeIsRefusedNamingTheOption) {
  const std::string digits(64, 'a');
  env_.put("k", digits + "\n");
  EXPECT_TRUE(read_key_file(env_, "k").ok());
  env_.put("k", digits.substr(1) + "\n");
  expect_refused(read_key_file(env_, "k").status(), Code::kInvalidArgument,
                 "--key-file k: backup key file: 63 characters");
  env_.put("k", std::string(kMaxKeyFileBytes, '\n'));  // at the cap: read, then refused as text
  EXPECT_EQ(read_key_file(env_, "k").status().code(), Code::kInvalidArgument);
  env_.put("k", std::string(kMaxKeyFileBytes + 1, 'a'));
  expect_refused(read_key_file(env_, "k").status(), Code::kResourceExhausted,
                 "--key-file k: larger than 256 bytes; a key file holds 64 hex digits");
}

TEST_F(BackupKeys, AKeyFileReplacesThePasswordAndIsNotAskedFor) {
  env_.put("k", std::string(64, 'b') + "\n");
  BackupKeySources s = prompting("typed");
  s.key_file = "k";
  setenv(kPasswordEnvVar, "from-env", 1);  // the environment is no request: not a conflict
  auto keys = read_backup_keys(s, env_, true);
  ASSERT_TRUE(keys.ok()) << keys.status().to_string();
  EXPECT_EQ(keys->key, SecretBytes(Bytes(32, 0xbb)));
  EXPECT_EQ(keys->password, "");
  s.password_given = true;  // --password "" with --key-file: two sources
  expect_refused(read_backup_keys(s, env_, true).status(), Code::kInvalidArgument,
                 "--key-file replaces the password: give one of them");
  EXPECT_TRUE(questions_.empty());
}

TEST_F(BackupKeys, AnUnencryptedBackupTakesNoPasswordAndAsksForNone) {
  BackupKeySources s = prompting("typed");
  setenv(kPasswordEnvVar, "from-env", 1);
  auto keys = read_backup_keys(s, env_, false);
  ASSERT_TRUE(keys.ok()) << keys.status().to_string();
  EXPECT_EQ(keys->password, "");
  EXPECT_FALSE(keys->key);
  s.password = "wrong";
  s.password_given = true;
  expect_refused(read_backup_keys(s, env_, false).status(), Code::kInvalidArgument,
                 "the backup is not encrypted, so it takes no password");
  EXPECT_TRUE(questions_.empty());
}

TEST_F(BackupKeys, AnEncryptedBackupAsksOnlyWhenNothingElseGaveAPassword) {
  BackupKeySources s = prompting("typed");
  EXPECT_EQ(read_backup_keys(s, env_, true)->password, "typed");
  EXPECT_EQ(questions_.size(), 1u);
  // An unreadable Manifest (encrypted unknown): nothing asked, what was given passed on.
  EXPECT_EQ(read_backup_keys(s, env_, std::nullopt)->password, "");
  setenv(kPasswordEnvVar, "from-env", 1);
  EXPECT_EQ(read_backup_keys(s, env_, std::nullopt)->password, "from-env");
  EXPECT_EQ(read_backup_keys(s, env_, true)->password, "from-env");
  EXPECT_EQ(questions_.size(), 1u);
}

// Backups on disk of one device with one WhenUnlocked item, encrypted under "pw" and not.
class BackupKeysFolder : public BackupKeys {
 protected:
  void SetUp() override {
    BackupKeys::SetUp();
    auto random = make_seeded_random(3);
    auto source = std::move(Device::create_at(default_env(), tmp_ / "phone", {}, *random)).value();
    NewItem item;
    item.account = "a";
    item.service = "s";
    item.secret = SecretBytes(as_bytes("x"));
    ASSERT_TRUE(source->add(item, *random).ok());
    for (const auto& [journey, dir] :
         {std::pair{Journey::kLocalEncrypted, encrypted_}, std::pair{Journey::kLocal, plain_}}) {
      BackupOptions options{journey, journey == Journey::kLocal ? "" : "pw", kFastKdf};
      auto folder = make_backup(*source, options, *random);
      ASSERT_TRUE(folder.ok()) << folder.status().to_string();
      ASSERT_TRUE(write_backup_folder(default_env(), dir, *folder).ok());
    }
    uid_ = source->unique_device_id();  // closed at the end of SetUp: the tests open it again
  }
  std::string uid_;
  const std::string encrypted_ = tmp_ / "encrypted";
  const std::string plain_ = tmp_ / "plain";
};

TEST_F(BackupKeysFolder, AnEncryptedFolderOpensWithThePromptOrItsKeyFile) {
  BackupKeySources s = prompting("pw");
  auto opened = open_backup_folder(default_env(), encrypted_, s);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(questions_.size(), 1u);
  EXPECT_EQ(opened->keys.password, "pw");
  EXPECT_EQ(opened->folder->dir(), encrypted_);
  const std::string key = tmp_ / "k";
  ASSERT_TRUE(write_key_file(default_env(), key, opened->backup->password_key()).ok());

  BackupKeySources by_key = prompting("wrong");
  by_key.key_file = key;
  by_key.device = tmp_ / "phone";
  auto again = open_backup_folder(default_env(), encrypted_, by_key);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(questions_.size(), 1u);  // not asked
  EXPECT_EQ(again->device->unique_device_id(), uid_);

  const auto wrong = open_backup_folder(default_env(), encrypted_, prompting("wrong"));
  EXPECT_EQ(wrong.status().code(), Code::kPermissionDenied) << wrong.status().to_string();
  by_key.device = tmp_ / "no-such-device";
  const auto no_device = open_backup_folder(default_env(), encrypted_, by_key);
  EXPECT_EQ(no_device.status().message().rfind("--device: ", 0), 0u)
      << no_device.status().message();
}

TEST_F(BackupKeysFolder, AnUnencryptedFolderGivenAPasswordIsRefusedNamingIt) {
  BackupKeySources s = prompting("typed");
  ASSERT_TRUE(open_backup_folder(default_env(), plain_, s).ok());
  s.password_file = "pw.txt";
  env_.put("pw.txt", "pw\n");
  expect_refused(open_backup_folder(env_, plain_, s).status(), Code::kInvalidArgument,
                 plain_ + ": the backup is not encrypted, so it takes no password");
  EXPECT_TRUE(questions_.empty());
  EXPECT_EQ(env_.reads(), 0);  // refused before the file is read
}

TEST_F(BackupKeysFolder, AKeybagIsOpenedWithTheKeyFileAndTheDevice) {
  auto opened = open_backup_folder(default_env(), encrypted_, prompting("pw"));
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  const std::string key = tmp_ / "k";
  ASSERT_TRUE(write_key_file(default_env(), key, opened->backup->password_key()).ok());
  questions_.clear();
  BackupKeySources s = prompting("typed");
  s.key_file = key;
  s.device = tmp_ / "phone";
  auto sources = keybag_key_sources(s, default_env(), true);
  ASSERT_TRUE(sources.ok()) << sources.status().to_string();
  EXPECT_EQ(sources->password_key, opened->backup->password_key());
  ASSERT_NE(sources->device, nullptr);
  EXPECT_EQ(sources->device->unique_device_id(), uid_);
  EXPECT_EQ(sources->encrypted, true);
  EXPECT_TRUE(questions_.empty());
  EXPECT_EQ(text_of(*sources->password(true)), "typed");  // the password, asked when it may ask
  EXPECT_EQ(text_of(*sources->password(false)), "(none)");
  EXPECT_EQ(questions_.size(), 1u);
}

}  // namespace
}  // namespace kcb
