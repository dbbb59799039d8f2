// Runs a kcbackup command line in-process and captures what it prints, for tests of the CLI; or
// one command function, run_<cmd>(options, env, out, err), with string streams and an Env whose
// files live in memory.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "kcbackup/env.h"
#include "kcbackup/status.h"

namespace kcb::cli {

struct CliRun {
  int exit_code;
  std::string out;
  std::string err;
};

inline CliRun run_cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int rc = run_kcbackup(args);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {rc, out.str(), err.str()};
}

// The command line with --format json, which must exit 0; its document (null when it did not).
inline nlohmann::json run_json(std::vector<std::string> args) {
  args.insert(args.end(), {"--format", "json"});
  const CliRun r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

// A fixed 32-byte UID for `device init --uid-hex`, so that a device's bytes are reproducible.
inline constexpr const char* kTestUidHex =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

// What one run_<cmd> function returned and printed.
struct CommandRun {
  Status status;
  std::string out;
  std::string err;
};

template <typename Options>
CommandRun run_command(Status (*run)(const Options&, Env&, std::ostream&, std::ostream&),
                       const Options& options, Env& env) {
  std::ostringstream out, err;
  Status status = run(options, env, out, err);
  return {std::move(status), out.str(), err.str()};
}

// An Env that serves the files put in it from memory, over the real file system: a test puts an
// input (a password file, a secret) only here, so the command succeeds only if it read that input
// through its Env; device folders and bundles are still read and written on disk.
class FilesInMemory : public Env {
 public:
  void put(const std::string& path, const std::string& bytes) { files_[path] = bytes; }
  // How many reads the files put here answered (a device folder on disk is read through too).
  int reads() const { return reads_; }

  Result<Bytes> read_file(const std::filesystem::path& path, size_t max_bytes) override {
    const auto it = files_.find(path.string());
    if (it == files_.end()) return default_env().read_file(path, max_bytes);
    ++reads_;
    if (it->second.size() > max_bytes) return Status::ResourceExhausted(path.string());
    return Bytes(it->second.begin(), it->second.end());
  }
  Status write_file(const std::filesystem::path& path, ByteView bytes) override {
    return default_env().write_file(path, bytes);
  }
  Status sync_file(const std::filesystem::path& path) override {
    return default_env().sync_file(path);
  }
  Status sync_dir(const std::filesystem::path& dir) override { return default_env().sync_dir(dir); }
  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    return default_env().rename(from, to);
  }
  Status remove(const std::filesystem::path& path) override { return default_env().remove(path); }
  Status create_dirs(const std::filesystem::path& dir) override {
    return default_env().create_dirs(dir);
  }
  Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir) override {
    return default_env().list_dir(dir);
  }
  FileKind kind_of(const std::filesystem::path& path) override {
    return default_env().kind_of(path);
  }

 private:
  std::map<std::string, std::string> files_;
  int reads_ = 0;
};

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kcb-cli-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

}  // namespace kcb::cli
