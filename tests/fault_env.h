// An Env over another one that records every call and can make one kind of call fail: the unit
// tests' view of the file-system seam, and the start of the fault-injection suite (issue #15).
// Header-only so that any test target can use it without a library of its own.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kcbackup/env.h"

namespace kcb::faults {

class FaultEnv final : public Env {
 public:
  enum class Op { kRead, kWrite, kSyncFile, kSyncDir, kRename, kRemove, kCreateDirs, kList, kKind };
  struct Call {
    Op op;
    std::filesystem::path path;  // for a rename, its source
  };

  explicit FaultEnv(Env& base) : base_(base) {}

  // The next call of `op` fails with IOError ("injected") instead of reaching the base. A failed
  // write first writes half of its bytes, as a full disk or a crash mid-write would.
  void fail_next(Op op) { fail_ = op; }
  // The nth (1-based) call from now that changes the file system (write, sync, rename, remove,
  // create_dirs) fails like fail_next's; 0 turns it off. `changes()` counts them, so a test can
  // make every one of an operation's changes fail in turn.
  void fail_change(size_t n) { fail_change_at_ = n == 0 ? 0 : changes_ + n; }
  size_t changes() const { return changes_; }
  const std::vector<Call>& calls() const { return calls_; }
  std::vector<Op> ops() const {
    std::vector<Op> out;
    for (const Call& c : calls_)
      out.push_back(c.op);
    return out;
  }
  void clear_calls() { calls_.clear(); }

  Result<Bytes> read_file(const std::filesystem::path& path, size_t max_bytes) override {
    if (Status st = record(Op::kRead, path); !st.ok()) return st;
    return base_.read_file(path, max_bytes);
  }
  Status write_file(const std::filesystem::path& path, ByteView bytes) override {
    if (Status st = record(Op::kWrite, path); !st.ok()) {
      (void)base_.write_file(path, bytes.first(bytes.size() / 2));
      return st;
    }
    return base_.write_file(path, bytes);
  }
  Status sync_file(const std::filesystem::path& path) override {
    if (Status st = record(Op::kSyncFile, path); !st.ok()) return st;
    return base_.sync_file(path);
  }
  Status sync_dir(const std::filesystem::path& dir) override {
    if (Status st = record(Op::kSyncDir, dir); !st.ok()) return st;
    return base_.sync_dir(dir);
  }
  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (Status st = record(Op::kRename, from); !st.ok()) return st;
    return base_.rename(from, to);
  }
  Status remove(const std::filesystem::path& path) override {
    if (Status st = record(Op::kRemove, path); !st.ok()) return st;
    return base_.remove(path);
  }
  Status create_dirs(const std::filesystem::path& dir) override {
    if (Status st = record(Op::kCreateDirs, dir); !st.ok()) return st;
    return base_.create_dirs(dir);
  }
  Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir) override {
    if (Status st = record(Op::kList, dir); !st.ok()) return st;
    return base_.list_dir(dir);
  }
  FileKind kind_of(const std::filesystem::path& path) override {
    // kind_of cannot fail: it is recorded, never faulted.
    calls_.push_back({Op::kKind, path});
    return base_.kind_of(path);
  }

 private:
  Status record(Op op, const std::filesystem::path& path) {
    calls_.push_back({op, path});
    const bool change = op == Op::kWrite || op == Op::kSyncFile || op == Op::kSyncDir ||
                        op == Op::kRename || op == Op::kRemove || op == Op::kCreateDirs;
    if (change && ++changes_ == fail_change_at_) {
      fail_change_at_ = 0;
      return Status::IOError(path.string() + ": injected failure");
    }
    if (fail_ != op) return Status::Ok();
    fail_.reset();
    return Status::IOError(path.string() + ": injected failure");
  }

  Env& base_;
  std::optional<Op> fail_;
  size_t changes_ = 0;
  size_t fail_change_at_ = 0;
  std::vector<Call> calls_;
};

}  // namespace kcb::faults
