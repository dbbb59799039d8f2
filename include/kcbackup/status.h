// The one error type of kcbackup. Every boundary that sees outside bytes or user input returns a
// Status or a Result<T>; nothing throws across the library. The codes follow LevelDB/abseil usage
// (one line each at the enum below); the message names what and where
// ("keybag: record 'ITER' at offset 84: length 2, expected 4").
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kcb {

[[noreturn]] void assert_fail(const char* expr, const char* file, int line);

}  // namespace kcb

// Programmer errors only; never for bad input (the fuzzers prove it). On in every build.
#define KCB_ASSERT(expr) ((expr) ? void(0) : ::kcb::assert_fail(#expr, __FILE__, __LINE__))

namespace kcb {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // the caller's request is malformed (bad name, option, impossible question)
  kCorruption,          // bytes that claim a format but break its rules (length, tag, order)
  kDataLoss,            // bytes that parse but whose cryptography fails (integrity check, GCM tag)
  kUnsupported,         // a well-formed thing we deliberately do not handle (blob version 7)
  kPermissionDenied,    // authentication failed (wrong backup password); never a file mode
  kResourceExhausted,   // a cap was hit (iteration count, nesting depth, size)
  kNotFound,            // a named thing does not exist (item, file, device folder)
  kAlreadyExists,       // a duplicate (errSecDuplicateItem)
  kFailedPrecondition,  // the system's state forbids the operation (no passcode, not a member)
  kIOError,             // the file system said no
  kCheckFailed,         // a check the user asked for said no: an audit expectation was violated,
                        // the engine and the oracle disagree. Not an error of the input.
};

// Stable lower-case name of a code ("corruption"), used in messages and JSON.
std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status DataLoss(std::string msg) { return {Code::kDataLoss, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {Code::kUnsupported, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status CheckFailed(std::string msg) { return {Code::kCheckFailed, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corruption: keybag: record 'ITER' at offset 84: length 2, expected 4"
  std::string to_string() const;

  // Prefixes the message with context, keeping the code: "restore: " + inner message.
  Status with_context(std::string_view context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  // A Result made from a Status carries an error: an ok Status here is a programmer error.
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    KCB_ASSERT(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  // By value from a temporary, so `for (auto& x : *f())` does not dangle.
  T value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kcb

// Early return of a failed Status from a function returning Status or Result<T>.
#define KCB_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::kcb::Status kcb_status_ = (expr);        \
    if (!kcb_status_.ok()) return kcb_status_; \
  } while (0)

#define KCB_CONCAT_INNER(a, b) a##b
#define KCB_CONCAT(a, b) KCB_CONCAT_INNER(a, b)
#define KCB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
// KCB_ASSIGN_OR_RETURN(auto x, parse(...)); declares x or returns the error.
#define KCB_ASSIGN_OR_RETURN(lhs, expr) \
  KCB_ASSIGN_OR_RETURN_IMPL(KCB_CONCAT(kcb_result_, __LINE__), lhs, expr)
