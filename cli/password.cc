#include "cli/password.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace kcb::cli {
namespace {

// Restores the terminal's echo on every way out of the prompt.
class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::optional<SecretBytes> ask_terminal(std::string_view question) {
  if (isatty(STDIN_FILENO) != 1) return std::nullopt;
  std::cerr << question << ": " << std::flush;
  SecretBytes line;
  bool ended = false;  // Ctrl-D (end of input) before Return: the user answered nothing
  {
    EchoOff echo_off;
    for (int c = std::getchar();; c = std::getchar()) {
      if (c == EOF) {
        ended = true;
        break;
      }
      if (c == '\n') break;
      if (line.size() >= kMaxPasswordFileBytes) break;
      line.resize(line.size() + 1);
      line.data()[line.size() - 1] = static_cast<uint8_t>(c);
    }
  }
  std::cerr << "\n";
  if (ended && line.empty()) {
    std::clearerr(stdin);  // a later prompt may ask again
    return std::nullopt;
  }
  return line;
}

PasswordPrompt& current_prompt() {
  static PasswordPrompt prompt = ask_terminal;
  return prompt;
}

// One line: a final "\n" or "\r\n" is the file's, not the password's. A second line means the
// wrong file (or a password with a newline no prompt could type): refused, not silently kept.
Result<SecretBytes> one_line(SecretBytes text) {
  size_t n = text.size();
  if (n > 0 && text.data()[n - 1] == '\n') --n;
  if (n > 0 && text.data()[n - 1] == '\r') --n;
  const ByteView line = text.view().first(n);
  const auto newline = std::find(line.begin(), line.end(), uint8_t{'\n'});
  if (newline != line.end()) {
    return Status::InvalidArgument("more than one line (a line break at byte " +
                                   std::to_string(newline - line.begin()) +
                                   "); a password file holds the password on one line");
  }
  return SecretBytes(line);
}

Result<SecretBytes> read_password_file(Env& env, const std::string& path) {
  auto secret = read_secret_file(env, path, kMaxPasswordFileBytes);
  if (!secret.ok()) return secret.status().with_context("--password-file");
  auto line = one_line(std::move(secret).value());
  if (!line.ok()) return line.status().with_context("--password-file " + path);
  return line;
}

}  // namespace

void add_password_options(CLI::App* cmd, PasswordOptions* o) {
  cmd->add_option("--password-file", o->file,
                  "Read the backup password from this file (one line; first of the sources)");
  cmd->add_option("--password", o->value,
                  "The backup password (visible to other users in the process list: prefer "
                  "--password-file, KCBACKUP_PASSWORD or the prompt)")
      ->each([o](const std::string&) { o->value_given = true; });
}

PasswordPrompt set_password_prompt(PasswordPrompt prompt) {
  PasswordPrompt previous = std::move(current_prompt());
  current_prompt() = std::move(prompt);
  return previous;
}

std::string password_string(const SecretBytes& password) {
  return std::string(password.view().begin(), password.view().end());
}

void wipe_password(std::string& password) {
  wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(password.data()), password.size()));
  password.clear();
}

PasswordOptions::~PasswordOptions() {
  wipe_password(value);
}

Result<std::optional<SecretBytes>> read_password(const PasswordOptions& o, Env& env,
                                                 std::string_view question, Ask ask) {
  std::optional<SecretBytes> out;
  if (!o.file.empty()) {
    KCB_ASSIGN_OR_RETURN(out, read_password_file(env, o.file));
  } else if (o.value_given) {
    out = SecretBytes(as_bytes(o.value));
  } else if (const char* variable = std::getenv(kPasswordEnvVar); variable && variable[0] != 0) {
    out = SecretBytes(as_bytes(variable));
  } else if (ask != Ask::kNever && current_prompt()) {
    out = current_prompt()(question);
    if (out && ask == Ask::kTwice) {
      std::optional<SecretBytes> again = current_prompt()("Again, to confirm");
      if (!again || !(*again == *out)) {
        return Status::InvalidArgument("the two passwords typed differ");
      }
    }
  }
  return out;
}

}  // namespace kcb::cli
