// Env::lock_file's POSIX implementation: flock(2) on a file, polled with LOCK_NB until a deadline
// (flock itself has no timeout). Kept apart from env.cc's file operations.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "kcbackup/env.h"

namespace kcb {
namespace {

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
  }
  PosixFileLock(const PosixFileLock&) = delete;
  PosixFileLock& operator=(const PosixFileLock&) = delete;

 private:
  int fd_;
};

// A shared lock where there is nothing to lock (see env.h).
class NoLock final : public FileLock {};

Status lock_error(const std::filesystem::path& path, std::string_view what, int err) {
  return Status::IOError(path.string() + ": " + std::string(what) + ": " + std::strerror(err));
}

}  // namespace

Result<std::unique_ptr<FileLock>> Env::lock_file(const std::filesystem::path& path, LockMode mode,
                                                 std::chrono::milliseconds timeout) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && mode == LockMode::kShared) {
    const int create_error = errno;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // flock works on a read-only descriptor
    if (fd < 0 && errno == ENOENT &&
        (create_error == EROFS || create_error == EACCES || create_error == EPERM)) {
      return std::unique_ptr<FileLock>(new NoLock());
    }
  }
  if (fd < 0) return lock_error(path, "open the lock file", errno);
  auto lock = std::make_unique<PosixFileLock>(fd);
  const int operation = (mode == LockMode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (::flock(fd, operation) == 0) return std::unique_ptr<FileLock>(std::move(lock));
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return lock_error(path, "flock", errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::IOError(path.string() +
                             ": busy: another kcbackup command has held this lock for " +
                             std::to_string(timeout.count()) + " ms; try again when it is done");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace kcb
