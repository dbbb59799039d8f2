// default_env(): the POSIX file system, with errors that say what the OS said about which path.
#include "kcbackup/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace kcb {
namespace {

// "does not exist" and friends: the words a user searches for, not errno names.
std::string reason(int err) {
  switch (err) {
    case ENOENT:
      return "does not exist";
    case EACCES:
    case EPERM:
      return "permission denied";
    case EISDIR:
      return "is a directory";
    case ENOTDIR:
      return "a parent is not a directory";
    case ENOSPC:
      return "no space left on device";
    case EROFS:
      return "read-only file system";
    default:
      return std::strerror(err);
  }
}

Status os_error(std::string_view what, const std::filesystem::path& path, int err) {
  return Status::IOError(path.string() + ": " + std::string(what) + ": " + reason(err));
}

// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // close(2) can report a deferred write error: callers that wrote check it.
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status sync_path(const std::filesystem::path& path, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (fd.get() < 0) return os_error("open for fsync", path, errno);
  if (::fsync(fd.get()) != 0) return os_error("fsync", path, errno);
  return Status::Ok();
}

// Reads until EOF rather than trusting st_size: pipes, FIFOs and /dev/stdin have none.
// size_hint: what fstat said (0 for a pipe); the buffer is reserved once instead of growing by
// copies. Never more than the cap, so a hostile size costs nothing before the cap refuses it.
Result<Bytes> read_to_end(int fd, const std::filesystem::path& path, size_t max_bytes,
                          size_t size_hint = 0) {
  Bytes out;
  out.reserve(std::min(size_hint, max_bytes));
  uint8_t chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("read", path, errno);
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return Status::ResourceExhausted(path.string() + ": over the cap of " +
                                       std::to_string(max_bytes) + " bytes");
    }
    out.insert(out.end(), chunk, chunk + n);
  }
  return out;
}

class PosixEnv final : public Env {
 public:
  Result<Bytes> read_file(const std::filesystem::path& path, size_t max_bytes) override {
    // "-" is standard input, for every file a command reads (docs/cli.md); it stays open.
    if (path == "-") return read_to_end(STDIN_FILENO, "standard input", max_bytes);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return os_error("open", path, errno);
    struct stat st {};
    const bool stat_ok = ::fstat(fd.get(), &st) == 0;
    if (stat_ok && S_ISDIR(st.st_mode)) return os_error("read", path, EISDIR);
    const bool regular = stat_ok && S_ISREG(st.st_mode) && st.st_size > 0;
    return read_to_end(fd.get(), path, max_bytes, regular ? static_cast<size_t>(st.st_size) : 0);
  }

  Status write_file(const std::filesystem::path& path, ByteView bytes) override {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) return os_error("create", path, errno);
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return os_error("write", path, errno);
      done += static_cast<size_t>(n);
    }
    if (fd.close() != 0) return os_error("close", path, errno);
    return Status::Ok();
  }

  Status sync_file(const std::filesystem::path& path) override { return sync_path(path, O_RDONLY); }
  Status sync_dir(const std::filesystem::path& dir) override {
    return sync_path(dir.empty() ? std::filesystem::path(".") : dir, O_RDONLY | O_DIRECTORY);
  }

  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return os_error("rename to " + to.string(), from, errno);
    }
    return Status::Ok();
  }

  Status remove(const std::filesystem::path& path) override {
    if (::remove(path.c_str()) != 0) {
      const int err = errno;
      if (err == ENOENT) return Status::NotFound(path.string() + ": remove: " + reason(err));
      return os_error("remove", path, err);
    }
    return Status::Ok();
  }

  Status create_dirs(const std::filesystem::path& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return os_error("create folder", dir, ec.value());
    return Status::Ok();
  }

  Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return os_error("list", dir, errno);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return os_error("list", dir, err);
    std::sort(names.begin(), names.end());
    return names;
  }

  FileKind kind_of(const std::filesystem::path& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return FileKind::kMissing;
    if (S_ISREG(st.st_mode)) return FileKind::kFile;
    if (S_ISDIR(st.st_mode)) return FileKind::kDirectory;
    return FileKind::kOther;
  }
};

}  // namespace

Env& default_env() {
  static PosixEnv env;
  return env;
}

Status create_empty_dir(Env& env, const std::filesystem::path& dir) {
  switch (env.kind_of(dir)) {
    case FileKind::kMissing:
      return env.create_dirs(dir);
    case FileKind::kDirectory: {
      KCB_ASSIGN_OR_RETURN(std::vector<std::string> names, env.list_dir(dir));
      if (names.empty()) return Status::Ok();
      [[fallthrough]];
    }
    default:
      return Status::AlreadyExists(dir.string() +
                                   ": exists and is not empty; choose a new directory");
  }
}

Status write_file_atomically(Env& env, const std::filesystem::path& path, ByteView bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  Status st = env.write_file(tmp, bytes);
  if (st.ok()) st = env.sync_file(tmp);
  if (st.ok()) st = env.rename(tmp, path);
  if (!st.ok()) {
    (void)env.remove(tmp);  // best effort: the old file is intact either way
    return st;
  }
  return env.sync_dir(path.parent_path());
}

Result<SecretBytes> read_secret_file(Env& env, const std::filesystem::path& path,
                                     size_t max_bytes) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env.read_file(path, max_bytes));
  SecretBytes secret(bytes);
  wipe(bytes);
  return secret;
}

}  // namespace kcb
