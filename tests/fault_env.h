// An Env over another one that records every call and can make one kind of call fail, or the
// process "crash": the unit tests' view of the file-system seam and the fault-injection suite of
// issue #15 (label `faults`, docs/reliability.md). Header-only so that any test target can use it.
//
// Changes are the calls that alter the file system: write, fsync of a file or a folder, rename,
// remove, create_dirs, and, when SQLite is hooked (kHookSqlite), SQLite's own xWrite, xTruncate,
// xSync and xDelete on keychain-2.db and its journal (SQLite opens that file itself, env.h: the
// hook is a VFS over SQLite's default one, made the default while this FaultEnv lives). `changes()`
// counts them, so a recording run tells a test how many an operation makes, and the test can then
// make each one fail in turn (fail_change) or crash just after it (crash_after).
//
// The crash model (track(), crash_after(), settle_crash()), the usual POSIX/ext4 one:
//   - a file's data is durable only as of its last fsync (write_file, SQLite's xWrite and
//     xTruncate change the live bytes only); a file never synced survives, if at all, empty;
//   - a name (a new file, a rename's target, a removal, a new folder) is durable only once its
//     folder is fsynced; until then a crash puts back the folder's entry as of its last fsync,
//     with whatever data that file had durably;
//   - SQLite's unix VFS fsyncs the folder of a new journal at that journal's first xSync and of a
//     deleted file when xDelete asks for it (syncDir): both are modelled as such folder fsyncs;
//   - a crash happens just after the Nth change: that change is made, no later call reaches the
//     base (each fails with IOError "crashed"), and settle_crash() then rewrites the tracked tree
//     on disk to exactly what the model says survives.
#pragma once

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "kcbackup/env.h"

namespace kcb::faults {

class FaultEnv final : public Env {
 public:
  enum class Op {
    kRead,
    kWrite,
    kSyncFile,
    kSyncDir,
    kRename,
    kRemove,
    kCreateDirs,
    kList,
    kKind,
    // SQLite's calls (kHookSqlite only)
    kDbWrite,
    kDbTruncate,
    kDbSync,
    kDbDelete,
  };
  struct Call {
    Op op;
    std::filesystem::path path;  // for a rename, its source
  };
  enum Hooks {
    kEnvOnly,
    kHookSqlite,
    // kHookSqlite, and no fsync reaches the disk: the crash model alone says what is durable,
    // so the suite does not pay for real fsyncs it never relies on.
    kHookSqliteModelSyncs,
  };

  explicit FaultEnv(Env& base, Hooks hooks = kEnvOnly)
      : base_(base), model_syncs_(hooks == kHookSqliteModelSyncs) {
    if (hooks != kEnvOnly) install_vfs(this);
  }
  ~FaultEnv() override {
    if (active() == this) install_vfs(nullptr);
  }
  FaultEnv(const FaultEnv&) = delete;
  FaultEnv& operator=(const FaultEnv&) = delete;

  // The next call of `op` fails with IOError ("injected") instead of reaching the base. A failed
  // write first writes half of its bytes, as a full disk or a crash mid-write would.
  void fail_next(Op op) { fail_ = op; }
  // The nth (1-based) change from now fails like fail_next's; 0 turns it off.
  void fail_change(size_t n) { fail_change_at_ = n == 0 ? 0 : changes_ + n; }
  // The process dies just after the nth (1-based) change from now (see the model above).
  void crash_after(size_t n) { crash_at_ = n == 0 ? 0 : changes_ + n; }
  bool crashed() const { return crashed_; }
  size_t changes() const { return changes_; }
  const std::vector<Call>& calls() const { return calls_; }
  std::vector<Op> ops() const {
    std::vector<Op> out;
    for (const Call& c : calls_)
      out.push_back(c.op);
    return out;
  }
  void clear_calls() { calls_.clear(); }

  // Starts the durability model over `root` (a folder): everything under it now is durable.
  void track(const std::filesystem::path& root) {
    root_ = root;
    live_.clear();
    durable_.clear();
    nodes_.clear();
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      const int id = new_node(e.is_directory());
      if (!e.is_directory()) nodes_[id].durable = slurp(e.path());
      live_[e.path()] = id;
    }
    durable_ = live_;
  }
  // After a crash (or at any time): the tracked tree on disk becomes what survives a power loss
  // now. The caller has closed everything that had files open (the Device).
  void settle_crash() {
    std::vector<std::filesystem::path> top;
    for (const auto& e : std::filesystem::directory_iterator(root_))
      top.push_back(e.path());
    for (const auto& p : top)
      std::filesystem::remove_all(p);
    for (const auto& [name, id] : durable_) {  // sorted: a folder before what is in it
      if (!survives(name)) continue;
      if (nodes_[id].dir) {
        std::filesystem::create_directory(name);
      } else {
        std::ofstream out(name, std::ios::binary);
        const Bytes& data = nodes_[id].durable;
        out.write(reinterpret_cast<const char*>(data.data()),
                  static_cast<std::streamsize>(data.size()));
      }
    }
  }

  Result<Bytes> read_file(const std::filesystem::path& path, size_t max_bytes) override {
    if (Status st = record(Op::kRead, path); !st.ok()) return st;
    return base_.read_file(path, max_bytes);
  }
  Status write_file(const std::filesystem::path& path, ByteView bytes) override {
    if (Status st = record(Op::kWrite, path); !st.ok()) {
      if (!crashed_) {
        model_create(path, false);
        (void)base_.write_file(path, bytes.first(bytes.size() / 2));
      }
      return st;
    }
    model_create(path, false);
    return base_.write_file(path, bytes);
  }
  Status sync_file(const std::filesystem::path& path) override {
    if (Status st = record(Op::kSyncFile, path); !st.ok()) return st;
    Status st = model_syncs_ ? Status::Ok() : base_.sync_file(path);
    if (st.ok()) model_sync_file(path);
    return st;
  }
  Status sync_dir(const std::filesystem::path& dir) override {
    if (Status st = record(Op::kSyncDir, dir); !st.ok()) return st;
    Status st = model_syncs_ ? Status::Ok() : base_.sync_dir(dir);
    if (st.ok()) model_sync_dir(dir);
    return st;
  }
  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (Status st = record(Op::kRename, from); !st.ok()) return st;
    Status st = base_.rename(from, to);
    if (st.ok() && tracked(from)) {
      const auto it = live_.find(from);
      if (it != live_.end()) {
        live_[to] = it->second;
        live_.erase(from);
      }
    }
    return st;
  }
  Status remove(const std::filesystem::path& path) override {
    if (Status st = record(Op::kRemove, path); !st.ok()) return st;
    Status st = base_.remove(path);
    if (st.ok()) live_.erase(path);
    return st;
  }
  Status create_dirs(const std::filesystem::path& dir) override {
    if (Status st = record(Op::kCreateDirs, dir); !st.ok()) return st;
    Status st = base_.create_dirs(dir);
    if (st.ok()) {
      std::vector<std::filesystem::path> chain;
      for (auto p = dir; tracked(p) && !live_.count(p); p = p.parent_path())
        chain.push_back(p);
      for (const auto& p : chain)
        live_[p] = new_node(true);
    }
    return st;
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
  struct Node {
    bool dir = false;
    Bytes durable;  // a file's bytes as of its last fsync
  };

  static bool is_change(Op op) {
    return op == Op::kWrite || op == Op::kSyncFile || op == Op::kSyncDir || op == Op::kRename ||
           op == Op::kRemove || op == Op::kCreateDirs || op == Op::kDbWrite ||
           op == Op::kDbTruncate || op == Op::kDbSync || op == Op::kDbDelete;
  }

  Status record(Op op, const std::filesystem::path& path) {
    calls_.push_back({op, path});
    if (crashed_) return Status::IOError(path.string() + ": crashed");
    const bool change = is_change(op);
    if (change) ++changes_;
    if (change && changes_ == fail_change_at_) {
      fail_change_at_ = 0;
      return Status::IOError(path.string() + ": injected failure");
    }
    // The crash comes after this change: it is made, and the next call finds the process dead.
    if (change && changes_ == crash_at_) {
      crash_at_ = 0;
      crash_pending_ = true;
    } else if (crash_pending_) {
      crash_pending_ = false;
      crashed_ = true;
      return Status::IOError(path.string() + ": crashed");
    }
    if (fail_ != op) return Status::Ok();
    fail_.reset();
    return Status::IOError(path.string() + ": injected failure");
  }

  // --- the model -------------------------------------------------------------------------------
  bool tracked(const std::filesystem::path& p) const {
    if (root_.empty()) return false;
    const auto rel = p.lexically_relative(root_);
    return !rel.empty() && *rel.begin() != ".." && rel != ".";
  }
  int new_node(bool dir) {
    nodes_.push_back({dir, {}});
    return static_cast<int>(nodes_.size() - 1);
  }
  void model_create(const std::filesystem::path& p, bool dir) {
    if (tracked(p) && !live_.count(p)) live_[p] = new_node(dir);
  }
  void model_sync_file(const std::filesystem::path& p) {
    const auto it = live_.find(p);
    if (it != live_.end() && !nodes_[it->second].dir) nodes_[it->second].durable = slurp(p);
  }
  // fsync of a folder: its entries (names, renames, removals) are durable as they are now.
  void model_sync_dir(const std::filesystem::path& dir) {
    for (auto it = durable_.begin(); it != durable_.end();)
      it = it->first.parent_path() == dir ? durable_.erase(it) : std::next(it);
    for (const auto& [name, id] : live_)
      if (name.parent_path() == dir) durable_[name] = id;
  }
  // A durable name survives when each folder above it, up to the root, does as a folder.
  bool survives(const std::filesystem::path& name) const {
    for (auto p = name.parent_path(); p != root_; p = p.parent_path()) {
      const auto it = durable_.find(p);
      if (it == durable_.end() || !nodes_[it->second].dir) return false;
    }
    return true;
  }
  static Bytes slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // --- SQLite: a VFS over the default one, reporting to the active FaultEnv --------------------
  struct DbFile {
    sqlite3_file base;  // must come first: SQLite sees this
    sqlite3_file* real;
    std::filesystem::path path;
    bool new_journal;  // the unix VFS fsyncs its folder at its first xSync
  };
  static FaultEnv*& active() {
    static FaultEnv* env = nullptr;
    return env;
  }
  static sqlite3_vfs*& real_vfs() {
    static sqlite3_vfs* vfs = nullptr;
    return vfs;
  }
  static void install_vfs(FaultEnv* env) {
    static sqlite3_vfs vfs;
    if (real_vfs() == nullptr) {
      real_vfs() = sqlite3_vfs_find(nullptr);
      vfs = *real_vfs();
      vfs.zName = "kcb-faults";
      vfs.szOsFile = static_cast<int>(sizeof(DbFile)) + real_vfs()->szOsFile;
      vfs.xOpen = &db_open;
      vfs.xDelete = &db_delete;
      sqlite3_vfs_register(&vfs, 0);
    }
    active() = env;
    sqlite3_vfs_register(env != nullptr ? &vfs : real_vfs(), 1);
  }
  static int db_status(Op op, const std::filesystem::path& path, int code) {
    FaultEnv* env = active();
    if (env == nullptr) return SQLITE_OK;
    return env->record(op, path).ok() ? SQLITE_OK : code;
  }
  static DbFile* db(sqlite3_file* f) { return reinterpret_cast<DbFile*>(f); }

  static int db_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
    DbFile* file = db(f);
    file->real = reinterpret_cast<sqlite3_file*>(file + 1);
    // SQLite hands over raw memory: the path is constructed here and destroyed in db_close (or
    // below, when the real open fails and SQLite will not call xClose).
    new (&file->path) std::filesystem::path(name != nullptr ? name : "");
    const bool existed = name != nullptr && std::filesystem::exists(file->path);
    file->new_journal = !existed && (flags & SQLITE_OPEN_MAIN_JOURNAL) != 0;
    static const sqlite3_io_methods methods = {
        1,        &db_close,  &db_read,     &db_write,   &db_truncate, &db_sync,   &db_size,
        &db_lock, &db_unlock, &db_reserved, &db_control, &db_sector,   &db_device,
    };
    const int rc = real_vfs()->xOpen(real_vfs(), name, file->real, flags, out);
    f->pMethods = rc == SQLITE_OK ? &methods : nullptr;
    if (rc != SQLITE_OK) {
      file->path.~path();
      return rc;
    }
    if (!existed && name != nullptr && active() != nullptr)
      active()->model_create(file->path, false);
    return rc;
  }
  static int db_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    const std::filesystem::path path(name);
    if (int rc = db_status(Op::kDbDelete, path, SQLITE_IOERR_DELETE); rc != SQLITE_OK) return rc;
    const bool model_only = active() != nullptr && active()->model_syncs_;
    const int rc = real_vfs()->xDelete(real_vfs(), name, model_only ? 0 : sync_dir);
    if (rc == SQLITE_OK && active() != nullptr) {
      active()->live_.erase(path);
      if (sync_dir != 0) active()->model_sync_dir(path.parent_path());
    }
    return rc;
  }
  static int db_close(sqlite3_file* f) {
    const int rc = db(f)->real->pMethods->xClose(db(f)->real);
    db(f)->path.~path();
    return rc;
  }
  static int db_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 at) {
    if (active() != nullptr && active()->crashed_) return SQLITE_IOERR_READ;
    return db(f)->real->pMethods->xRead(db(f)->real, buf, n, at);
  }
  static int db_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 at) {
    if (int rc = db_status(Op::kDbWrite, db(f)->path, SQLITE_IOERR_WRITE); rc != SQLITE_OK) {
      if (!active()->crashed_) (void)db(f)->real->pMethods->xWrite(db(f)->real, buf, n / 2, at);
      return rc;
    }
    return db(f)->real->pMethods->xWrite(db(f)->real, buf, n, at);
  }
  static int db_truncate(sqlite3_file* f, sqlite3_int64 size) {
    if (int rc = db_status(Op::kDbTruncate, db(f)->path, SQLITE_IOERR_TRUNCATE); rc != SQLITE_OK)
      return rc;
    return db(f)->real->pMethods->xTruncate(db(f)->real, size);
  }
  static int db_sync(sqlite3_file* f, int flags) {
    DbFile* file = db(f);
    if (int rc = db_status(Op::kDbSync, file->path, SQLITE_IOERR_FSYNC); rc != SQLITE_OK) return rc;
    const bool model_only = active() != nullptr && active()->model_syncs_;
    const int rc = model_only ? SQLITE_OK : file->real->pMethods->xSync(file->real, flags);
    if (rc == SQLITE_OK && active() != nullptr) {
      active()->model_sync_file(file->path);
      if (file->new_journal) active()->model_sync_dir(file->path.parent_path());
      file->new_journal = false;
    }
    return rc;
  }
  static int db_size(sqlite3_file* f, sqlite3_int64* size) {
    if (active() != nullptr && active()->crashed_) return SQLITE_IOERR_FSTAT;
    return db(f)->real->pMethods->xFileSize(db(f)->real, size);
  }
  static int db_lock(sqlite3_file* f, int level) {
    return db(f)->real->pMethods->xLock(db(f)->real, level);
  }
  static int db_unlock(sqlite3_file* f, int level) {
    return db(f)->real->pMethods->xUnlock(db(f)->real, level);
  }
  static int db_reserved(sqlite3_file* f, int* out) {
    return db(f)->real->pMethods->xCheckReservedLock(db(f)->real, out);
  }
  static int db_control(sqlite3_file* f, int op, void* arg) {
    return db(f)->real->pMethods->xFileControl(db(f)->real, op, arg);
  }
  static int db_sector(sqlite3_file* f) { return db(f)->real->pMethods->xSectorSize(db(f)->real); }
  static int db_device(sqlite3_file* f) {
    return db(f)->real->pMethods->xDeviceCharacteristics(db(f)->real);
  }

  Env& base_;
  bool model_syncs_ = false;
  std::optional<Op> fail_;
  size_t changes_ = 0;
  size_t fail_change_at_ = 0;
  size_t crash_at_ = 0;
  bool crash_pending_ = false;
  bool crashed_ = false;
  std::vector<Call> calls_;
  std::filesystem::path root_;
  std::vector<Node> nodes_;
  std::map<std::filesystem::path, int> live_;     // names now
  std::map<std::filesystem::path, int> durable_;  // names as of their folders' last fsync
};

}  // namespace kcb::faults
