// The one file-system seam of kcbackup (LevelDB's Env): every file the engine, the libraries and
// the CLI read or write goes through an Env passed in by the caller, like Random. Production uses
// default_env() (POSIX); tests pass an Env that counts operations and makes the Nth write, rename
// or sync fail, or that forgets unsynced data to simulate a crash.
//
// Errors are IOError Statuses naming the path and the OS's reason in plain words ("does not
// exist", "permission denied", "is a directory", "no space left on device"); PermissionDenied is
// never used here (that code means a wrong password).
// SQLite opens keychain-2.db itself; that file is the one exception (docs/architecture.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb {

enum class FileKind { kMissing, kFile, kDirectory, kOther };

// An advisory lock (flock(2) on POSIX), released when the object is destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};
enum class LockMode { kShared, kExclusive };

class Env {
 public:
  virtual ~Env() = default;

  // The whole file; ResourceExhausted when it holds more than max_bytes (checked while reading,
  // so pipes and FIFOs work and a growing file cannot exceed the cap).
  virtual Result<Bytes> read_file(const std::filesystem::path& path, size_t max_bytes) = 0;
  // Creates or truncates `path` and writes `bytes`; durable only after sync_file().
  virtual Status write_file(const std::filesystem::path& path, ByteView bytes) = 0;
  // fsync of a file, and of a folder (which makes a rename or a new name in it durable).
  virtual Status sync_file(const std::filesystem::path& path) = 0;
  virtual Status sync_dir(const std::filesystem::path& dir) = 0;
  // rename(2): atomic replacement of `to`.
  virtual Status rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // A file or an empty folder; NotFound when absent.
  virtual Status remove(const std::filesystem::path& path) = 0;
  // Creates the folder and its missing parents; Ok when it exists already.
  virtual Status create_dirs(const std::filesystem::path& dir) = 0;
  // The names (not paths) in a folder, sorted.
  virtual Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir) = 0;
  virtual FileKind kind_of(const std::filesystem::path& path) = 0;
  // Takes an advisory lock on `path`, creating the file when missing, and waits up to `timeout`
  // while another process holds a conflicting one; then IOError "PATH: busy: ...". Shared locks
  // share, an exclusive one excludes both. A shared lock on a file that is missing and cannot be
  // created (a read-only folder) holds nothing: nothing can write there through kcbackup either.
  // The default is the POSIX one (engine/file_lock.cc): Envs over the real file system inherit it.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const std::filesystem::path& path,
                                                      LockMode mode,
                                                      std::chrono::milliseconds timeout);
};

// The process's POSIX file system.
Env& default_env();

// Makes `dir` ready for new content (a device folder, a backup): creates it when missing, accepts
// an empty folder, and refuses anything else with AlreadyExists ("DIR: exists and is not empty;
// choose a new directory"), so nothing a user had there is ever overwritten.
Status create_empty_dir(Env& env, const std::filesystem::path& dir);

// Writes `bytes` to `path` so that a crash at any point leaves the old file or the new one, never
// a mix: a temporary name in the same folder, fsync of it, rename over `path`, fsync of the folder.
Status write_file_atomically(Env& env, const std::filesystem::path& path, ByteView bytes);

// A password, key or secret file as SecretBytes (wiped when it dies), the plain copy read_file
// made wiped at once; read_file's errors (ResourceExhausted past max_bytes).
Result<SecretBytes> read_secret_file(Env& env, const std::filesystem::path& path, size_t max_bytes);

}  // namespace kcb
