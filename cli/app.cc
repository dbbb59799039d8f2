#include "cli/app.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/commands.h"
#include "cli/folder_commands.h"
#include "cli/output.h"
#include "input/document.h"

#include <algorithm>
#include <cctype>
#include <regex>

namespace kcb::cli {
namespace {

bool has_commands(const CLI::App& app) {
  return !app.get_subcommands([](const CLI::App*) { return true; }).empty();
}

std::string command_names(const CLI::App& app) {
  std::string names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + command->get_name();
  }
  return names;
}

// The command words at the start of args that name (nested) commands, e.g. {"device", "add"};
// `*reached` is the last of them (or the app). Stops at the first word that is not one;
// `*unknown` gets a message when that word should have named a command and does not.
std::vector<std::string> command_words(const CLI::App& app, const std::vector<std::string>& args,
                                       std::string* unknown, const CLI::App** reached) {
  std::vector<std::string> words;
  *reached = &app;
  for (const std::string& arg : args) {
    if (!has_commands(**reached) || arg.empty() || arg[0] == '-') break;
    const CLI::App* next = nullptr;
    for (const CLI::App* command :
         (*reached)->get_subcommands([](const CLI::App*) { return true; })) {
      if (command->check_name(arg)) next = command;
    }
    if (next == nullptr) {
      // CLI11 would say "A subcommand is required"; a user who typed `kcbackup devise list`
      // deserves to hear which word was wrong and what the choices are.
      *unknown = "unknown command '" + arg + "'; expected one of: " + command_names(**reached);
      break;
    }
    words.push_back(next->get_name());
    *reached = next;
  }
  return words;
}

// A positional argument names a path (DIR, OUT, FILE, ITEMS, ...) or a state; an empty one is a
// mistake (`backup D "" --journey local` would write into the current folder), refused before
// any command runs.
void refuse_empty_positionals(CLI::App& cmd) {
  for (CLI::Option* option :
       cmd.get_options([](const CLI::Option* o) { return o->get_positional(); })) {
    option->check(CLI::Validator(
        [](std::string& value) { return value.empty() ? std::string("empty; give a name") : ""; },
        "", "non-empty"));
  }
  for (CLI::App* sub : cmd.get_subcommands([](const CLI::App*) { return true; }))
    refuse_empty_positionals(*sub);
}

// Free text is echoed back (`device add --service` of 100 KB printed it whole): every value is
// capped by its option's kind (input/document.h) before any command runs, exit 2.
void cap_option_text(CLI::App& cmd) {
  for (CLI::Option* option : cmd.get_options()) {
    if (option->get_type_size_max() == 0) continue;  // a flag
    const size_t cap = input::option_text_cap(option->get_name());
    option->check(CLI::Validator(
        [cap](std::string& value) { return input::option_text_error(value, cap); }, "", "capped"));
  }
  for (CLI::App* sub : cmd.get_subcommands([](const CLI::App*) { return true; }))
    cap_option_text(*sub);
}

// Every option `cmd` and the commands under it take, as written on a command line ("--format",
// "-j"), and the help flag of the commands above it.
void option_names(const CLI::App& cmd, std::vector<std::string>& names) {
  for (const CLI::Option* option : cmd.get_options()) {
    for (const std::string& name : option->get_lnames())
      names.push_back("--" + name);
    for (const std::string& name : option->get_snames())
      names.push_back("-" + name);
  }
  // Before any command word, only the program's own options are valid.
  if (cmd.get_parent() == nullptr) return;
  for (const CLI::App* sub : cmd.get_subcommands([](const CLI::App*) { return true; })) {
    option_names(*sub, names);
  }
}

// The first option in args that `reached` does not take: CLI11 would report a missing required
// option first, or "The following arguments were not expected: json --frmat" (in reverse
// order); a user who misspelt an option deserves its name and the nearest one.
std::string unknown_option(const std::vector<std::string>& args, const CLI::App& reached) {
  std::vector<std::string> names = {"-h", "--help"};
  option_names(reached, names);
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    if (std::isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.') continue;  // -1: a value
    // "--format=json" is --format; "-ack" is -a with the value "ck".
    const std::string name = arg[1] == '-' ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    std::vector<std::string_view> long_names;
    for (const std::string& n : names) {
      const bool seen = std::find(long_names.begin(), long_names.end(), n) != long_names.end();
      if (n.size() > 2 && !seen) long_names.push_back(n);
    }
    return input::unknown_option_message(name, long_names);
  }
  return "";
}

// CLI11's wording for a repeated or malformed value, in ours: which option, what was wrong.
std::string usage_message(const CLI::ParseError& e, const CLI::App& reached) {
  const std::string what = e.what();
  static const std::regex kRepeated(R"(^(\S+): At Most (\d+) required but received (\d+)$)");
  static const std::regex kNotConverted(R"(^Could not convert: (\S+) = (.*)$)");
  std::smatch m;
  if (std::regex_match(what, m, kRepeated)) {
    return m[1].str() + ": given " + m[3].str() + " times; give it " +
           (m[2].str() == "1" ? std::string("once") : "at most " + m[2].str() + " times");
  }
  if (std::regex_match(what, m, kNotConverted)) {
    const CLI::Option* option = reached.get_option_no_throw(m[1].str());
    const std::string type = option ? option->get_type_name() : "";
    const std::string wanted = type == "INT" || type == "UINT" ? "a whole number"
                               : type == "FLOAT"               ? "a number"
                               : type.empty()                  ? "a valid value"
                                                               : "a " + type;
    return m[1].str() + ": '" + m[2].str() + "' is not " + wanted;
  }
  return what;
}

// CLI11's own messages ("--journey is required" + "Run with --help ...") become our one line:
// "kcbackup: invalid argument: predict: --journey is required (see `kcbackup predict --help`)".
int report_usage_error(const std::string& what, const std::vector<std::string>& words) {
  std::string command;
  for (const std::string& w : words)
    command += w + " ";
  const std::string where = command.empty() ? "" : command.substr(0, command.size() - 1) + ": ";
  return report_error(
      Status::InvalidArgument(where + what + " (see `kcbackup " + command + "--help`)"));
}

int report_usage_error(const CLI::ParseError& e, const std::vector<std::string>& words,
                       const CLI::App& reached) {
  // A command that has commands of its own, given none of them.
  const bool no_command = has_commands(reached) && dynamic_cast<const CLI::RequiredError*>(&e);
  return report_usage_error(no_command
                                ? "a command is needed; expected one of: " + command_names(reached)
                                : usage_message(e, reached),
                            words);
}

}  // namespace

std::string command_path(const CLI::App& parent, const std::string& name) {
  return parent.get_parent() == nullptr ? name : parent.get_name() + " " + name;
}

CLI::App& add_group(CLI::App& app, const std::string& name) {
  const CommandHelp& help = help_for(name);
  CLI::App& group = *app.add_subcommand(name, std::string(help.about));
  group.require_subcommand(1);
  group.footer(std::string(help.footer));
  return group;
}

namespace {

// Output that could not be written is an I/O error (exit 4), not a success: `kcbackup table >
// /dev/full` used to exit 0. The C stream is flushed here, not at exit, to see its error.
Status stdout_written() {
  std::cout.flush();
  errno = 0;
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0 || !std::cout;
  if (!failed) return Status::Ok();
  const int err = errno;
  std::clearerr(stdout);
  std::cout.clear();
  return Status::IOError(std::string("standard output: write failed") +
                         (err != 0 ? std::string(": ") + std::strerror(err) : ""));
}

// A command's one error line and exit code, once its output is flushed. A report that could not
// be written outranks the check it carried (exit 4, not 1: `audit > /dev/full` would otherwise say
// "1 violated expectation" of a SARIF file that was never written); any other failure has its own
// line, and the lost output is a consequence of it.
int report_outcome(const Status& status) {
  Status written = stdout_written();
  if (!written.ok() && (status.ok() || status.code() == Code::kCheckFailed)) {
    return report_error(written);
  }
  return status.ok() ? kExitOk : report_error(status);
}

int run_command_line(const std::vector<std::string>& args) {
  CLI::App app{
      "kcbackup: which iOS keychain items survive which backup, restore or migration, and why.\n"
      "Ask the oracle (predict, table, rules), audit an app's items, or run simulated devices.",
      "kcbackup"};
  app.set_version_flag("--version", std::string("kcbackup ") + KCB_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 a check said no, 2 invalid input, 3 authentication failed, "
      "4 I/O error.\n\nExamples:\n  kcbackup demo\n  kcbackup predict --accessible "
      "AfterFirstUnlock --journey local-encrypted --target other-device\n  kcbackup audit "
      "examples/audit-banking-app.json\n\nRun `kcbackup COMMAND --help` for a command's options "
      "and an example.");
  Status status;
  add_oracle_commands(app, status);
  add_demo_command(app, status);
  add_audit_command(app, status);
  add_device_command(app, status);
  add_backup_commands(app, status);
  add_inspect_command(app, status);
  add_folder_commands(app, status);  // extract, unlock (cli/folder_commands.cc, cli13)
  add_simulate_command(app, status);
  refuse_empty_positionals(app);
  cap_option_text(app);
  std::string unknown;
  const CLI::App* reached = nullptr;
  const std::vector<std::string> words = command_words(app, args, &unknown, &reached);
  if (!unknown.empty()) return report_error(Status::InvalidArgument(unknown));
  const std::string unknown_opt = unknown_option(args, *reached);
  if (!unknown_opt.empty()) return report_usage_error(unknown_opt, words);
  try {
    // CLI11 wants the arguments in reverse order when given as a vector.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0: CLI11 prints them.
    if (e.get_exit_code() == 0) return app.exit(e);
    return report_usage_error(e, words, *reached);
  }
  return report_outcome(status);
}

}  // namespace

int run_kcbackup(const std::vector<std::string>& args) {
  const int exit_code = run_command_line(args);
  // --help, --version and usage errors end here; a command's outcome was reported after its flush.
  if (exit_code != kExitOk) return exit_code;
  const Status written = stdout_written();
  return written.ok() ? kExitOk : report_error(written);
}

}  // namespace kcb::cli
