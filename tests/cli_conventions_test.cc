// The command-line conventions of #16, each test named after the defect it measured: --version,
// unknown, repeated and malformed options in our words (with the nearest option), a wrong
// password that says so, and colour that NO_COLOR, TERM=dumb and a non-terminal turn off.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/output.h"
#include "cli/password.h"
#include "kcbackup/names.h"
#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

// Exit 2 and one line on stderr that holds `message`.
void expect_usage_error(const std::vector<std::string>& args, const std::string& message) {
  const CliRun r = run_cli(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << "wanted: " << message << "\ngot: " << r.err;
}

TEST(CliConventions, VersionPrintsTheProjectVersion) {
  const CliRun r = run_cli({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("kcbackup ") + KCB_VERSION + "\n");
}

TEST(CliConventions, ShortVOrBogusOptionIsUnknownOptionNotCommandNeeded) {
  expect_usage_error({"-V"}, "unknown option '-V' (did you mean '--version'?)");
  expect_usage_error({"--bogus"},
                     "unknown option '--bogus'; the options here are --help, --version");
  expect_usage_error({"-x", "predict"}, "unknown option '-x'");
  EXPECT_EQ(run_cli({"-V"}).err.find("a command is needed"), std::string::npos);
}

TEST(CliConventions, MisspeltOptionIsNamedWithTheNearestNotArgumentsNotExpected) {
  expect_usage_error({"predict", "--frmat", "json"},
                     "predict: unknown option '--frmat' (did you mean '--format'?) (see "
                     "`kcbackup predict --help`)");
  expect_usage_error({"audit", "x.json", "--wraper", "valet"},
                     "audit: unknown option '--wraper' (did you mean '--wrapper'?)");
  expect_usage_error({"device", "add", "d", "--acount", "a"},
                     "device add: unknown option '--acount' (did you mean '--account'?)");
}

TEST(CliConventions, RepeatedOptionSaysWhichNotAtMostOneRequired) {
  expect_usage_error(
      {"predict", "-j", "local", "-j", "icloud-backup", "-a", "ck", "--target", "other-device"},
      "predict: --journey: given 2 times; give it once");
}

TEST(CliConventions, MalformedNumberSaysWhichOptionNotCouldNotConvert) {
  expect_usage_error({"device", "delete", "d", "--row", "abc"},
                     "device delete: --row: 'abc' is not a whole number");
}

TEST(CliConventions, OptionValuesThatLookLikeShortOptionsStillParse) {
  // -ack is -a with the value ck, and a negative number is a value.
  const CliRun r = run_cli({"predict", "-ack", "-j", "local", "--target", "other-device"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliConventions, WrongBackupPasswordIsAuthenticationFailedNotPermissionDenied) {
  TempDir dir;
  const std::string from = dir / "a", to = dir / "b", bundle = dir / "bk";
  ASSERT_EQ(run_cli({"device", "init", from, "--seed", "1"}).exit_code, 0);
  ASSERT_EQ(run_cli({"device", "add", from, "--account", "a", "--service", "s", "--secret", "x",
                     "--accessible", "AfterFirstUnlock", "--seed", "1"})
                .exit_code,
            0);
  ASSERT_EQ(run_cli({"backup", from, bundle, "--journey", "local-encrypted", "--password", "pw",
                     "--fast-kdf", "--seed", "1"})
                .exit_code,
            0);
  ASSERT_EQ(run_cli({"device", "init", to, "--seed", "2"}).exit_code, 0);
  const CliRun r = run_cli({"restore", bundle, to, "--password", "wrong"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err.rfind("kcbackup: authentication failed: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("wrong backup password"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("permission denied"), std::string::npos) << r.err;
}

// A pseudo-terminal on `fd` (standard output: use_colour() sees a TTY; standard input: the
// password prompt asks on it) while the object lives. With `keys`, its other end keeps typing them
// until the scope ends: the prompt flushes pending input when it turns echo off (TCSAFLUSH), so
// keys typed once, before it asks, could be lost and the prompt would wait forever.
class OnTerminal {
 public:
  explicit OnTerminal(int fd = STDOUT_FILENO, std::string keys = "") : fd_(fd) {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0) return;
    const int slave = ::open(::ptsname(master_), O_RDWR | O_NOCTTY);
    if (slave < 0) return;
    saved_ = ::dup(fd_);
    ::dup2(slave, fd_);
    ::close(slave);
    if (keys.empty()) return;
    typist_ = std::thread([this, keys = std::move(keys)] {
      while (!done_) {
        if (::write(master_, keys.data(), keys.size()) < 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  ~OnTerminal() {
    done_ = true;
    if (typist_.joinable()) typist_.join();
    if (fd_ == STDIN_FILENO) std::clearerr(stdin);
    if (saved_ >= 0) {
      ::dup2(saved_, fd_);
      ::close(saved_);
    }
    if (master_ >= 0) ::close(master_);
  }
  bool ok() const { return saved_ >= 0; }

 private:
  int fd_;
  int master_ = -1;
  int saved_ = -1;
  std::atomic<bool> done_{false};
  std::thread typist_;
};

// Sets an environment variable for the scope; unset when `value` is null.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old) old_ = old;
    had_ = old != nullptr;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { had_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(CliConventions, TermDumbNoColorAndNonTtyTurnColourOff) {
  ScopedEnv no_colour("NO_COLOR", nullptr);
  ScopedEnv term("TERM", "xterm-256color");
  EXPECT_FALSE(use_colour());  // ctest's stdout is no terminal
  OnTerminal tty;
  ASSERT_TRUE(tty.ok()) << "no pseudo-terminal here";
  EXPECT_TRUE(use_colour());
  {
    ScopedEnv dumb("TERM", "dumb");
    EXPECT_FALSE(use_colour());
  }
  {
    ScopedEnv set("NO_COLOR", "1");
    EXPECT_FALSE(use_colour());
  }
  {
    ScopedEnv empty("NO_COLOR", "");  // no-color.org: set and empty means nothing
    EXPECT_TRUE(use_colour());
  }
}

TEST(CliConventions, JourneysAsPeopleSayThemAreAliases) {
  for (const char* said :
       {"transfer", "Transfer from iPhone", "transfer_directly_from_iphone", "device-to-device"}) {
    const auto j = parse_journey(said);
    ASSERT_TRUE(j.ok()) << said << ": " << j.status().to_string();
    EXPECT_EQ(*j, Journey::kQuickStart) << said;
  }
  const auto restore = parse_journey("Restore from iCloud Backup");
  ASSERT_TRUE(restore.ok());
  EXPECT_EQ(*restore, Journey::kIcloudBackup);
  const CliRun r = run_cli({"predict", "-a", "ck", "-j", "transfer", "--target", "other-device"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("journey:    quick-start -> other-device"), std::string::npos) << r.out;
}

TEST(CliConventions, IcloudJourneyIsRefusedAsAmbiguousNotSilentlyIcloudBackup) {
  const auto j = parse_journey("iCloud");
  EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
  EXPECT_NE(j.status().message().find("'iCloud' is ambiguous: icloud-backup"), std::string::npos)
      << j.status().message();
  EXPECT_NE(j.status().message().find("or icloud-keychain"), std::string::npos);
  expect_usage_error({"predict", "-a", "ck", "-j", "icloud", "--target", "other-device"},
                     "'icloud' is ambiguous");
}

TEST(CliConventions, EmptyOutIsExitTwoNotWrittenIntoCurrentFolder) {
  TempDir dir;
  const std::string device = dir / "phone";
  ASSERT_EQ(run_cli({"device", "init", device, "--seed", "1"}).exit_code, 0);
  expect_usage_error({"backup", device, "", "--journey", "local"}, "backup: OUT: empty");
  expect_usage_error({"audit", ""}, "audit: ITEMS: empty");
  expect_usage_error({"device", "list", ""}, "device list: DIR: empty");
}

TEST(CliConventions, NonAsciiNamesMisalignNoTextColumns) {
  TempDir dir;
  const std::string device = dir / "phone";
  ASSERT_EQ(run_cli({"device", "init", device, "--seed", "1"}).exit_code, 0);
  for (const char* account : {"café-🔑", "cafe-k"}) {
    ASSERT_EQ(run_cli({"device", "add", device, "--account", account, "--service", "s", "--secret",
                       "x", "--seed", "1"})
                  .exit_code,
              0);
  }
  const CliRun r = run_cli({"device", "list", device});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The service column starts at the same character on both rows.
  std::vector<size_t> columns;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find("  s  ");
    if (at == std::string::npos) continue;
    size_t characters = 0;
    for (size_t i = 0; i < at; ++i)
      characters += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
    columns.push_back(characters);
  }
  ASSERT_EQ(columns.size(), 2u) << r.out;
  EXPECT_EQ(columns[0], columns[1]) << r.out;
}

TEST(CliConventions, TableMeasuredWithFiltersItCannotHonourIsExitTwo) {
  expect_usage_error({"table", "--measured", "--synchronizable"},
                     "table --measured: the seed's 12 rows were measured for WhenUnlocked and "
                     "WhenUnlockedThisDeviceOnly genp items only, so they cannot honour "
                     "--synchronizable; drop --measured");
  expect_usage_error({"table", "--measured", "-a", "AfterFirstUnlock", "--icloud-keychain", "on"},
                     "cannot honour --accessible, --icloud-keychain;");
  EXPECT_EQ(run_cli({"table", "--measured"}).exit_code, 0);
}

TEST(CliConventions, CtrlDAtFirstPasswordPromptDoesNotAskAgainToConfirm) {
  ScopedEnv no_env_password(kPasswordEnvVar, nullptr);
  OnTerminal tty(STDIN_FILENO, "\x04");  // VEOF at the start of a line: end of input
  ASSERT_TRUE(tty.ok()) << "no pseudo-terminal here";
  std::ostringstream err;
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  BackupKeySources sources;
  sources.prompt = ask_password;  // the terminal's, as the command line's options carry it
  const auto password = read_password(sources, default_env(), "New backup password", Ask::kTwice);
  std::cerr.rdbuf(old_err);
  ASSERT_TRUE(password.ok()) << password.status().to_string();
  EXPECT_FALSE(password->has_value());
  EXPECT_NE(err.str().find("New backup password: "), std::string::npos) << err.str();
  EXPECT_EQ(err.str().find("Again, to confirm"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace kcb::cli
