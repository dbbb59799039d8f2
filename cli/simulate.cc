// `kcbackup simulate SCENARIO.json`: a scripted sequence of device operations over several
// simulated phones and one iCloud account, run twice side by side — through the engine (real
// cryptography) and through the oracle's world model (oracle/world.h) — with every device's
// readable items compared after every step. Exit 1 on any disagreement, 2 on a malformed scenario.
//
// The whole scenario is read and checked before the first step runs: JSON syntax (line and
// column), duplicate keys, unknown or missing fields, types, names that must refer to a device or
// backup of an earlier step, and the caps below; every such error is one line naming the JSON path
// (`steps[3].accessible`). Nothing defaults silently that changes a verdict: an encrypted backup
// names its password, and a restore without one fails as `kcbackup restore` does.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "cli/commands.h"
#include "cli/item_format.h"
#include "cli/output.h"
#include "cli/seed.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "engine/icloud_keychain.h"
#include "kcbackup/names.h"
#include "kcbackup/world.h"

namespace kcb::cli {
namespace {

constexpr const char* kService = "kcbackup.simulate";
constexpr const char* kAccountSecret = "simulated-apple-id";

// Caps. A scenario tells one person's (or one family's) story: an old phone, a new one, a
// replacement, a few backups, tens of steps. Each cap is several times what such a story needs and
// keeps a scenario at the caps within a few seconds and tens of megabytes:
//   - every device is an in-memory SQLite keychain (~0.3 MB and ~3 ms to create: 20,000 devices
//     took 47 s and ~6 GB, all of it in KeychainStore::open_in_memory);
//   - after every step every item on every device is decrypted and compared (~7 us per item), and
//     the JSON output records every device's holdings after every step, so the cost of a run is
//     steps x items held: 1,000 steps x 256 items bounds it;
//   - every backup keeps a sealed copy of its device's items in memory.
constexpr size_t kMaxScenarioBytes = 256 * 1024;
constexpr size_t kMaxNesting = 16;  // a scenario's own depth is 3 (document, list, object)
constexpr size_t kMaxDevices = 16;  // declared devices and Quick Start targets together
constexpr size_t kMaxSteps = 1000;
constexpr size_t kMaxBackups = 64;      // backup steps
constexpr size_t kMaxHeldItems = 256;   // items on all devices together, after any step
constexpr size_t kMaxNameBytes = 128;   // device, backup and account names
constexpr size_t kMaxTextBytes = 1024;  // secrets, passwords, the description

// The scenario as parsed JSON. std::map objects keep key lookups logarithmic for any input.
using Doc = nlohmann::json;

std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i)
    out += (i ? ", " : "") + std::string(words[i]);
  return out;
}

// ---- Reading the JSON text: syntax errors by line and column, duplicate keys by path. ----

// "line 3, column 14" of the byte at `position` (as nlohmann counts: the column is the number of
// bytes read on that line).
std::string line_and_column(ByteView text, size_t position) {
  position = std::min(position, text.size());
  const auto begin = text.begin();
  const auto end = begin + static_cast<std::ptrdiff_t>(position);
  const size_t line = 1 + static_cast<size_t>(std::count(begin, end, uint8_t{'\n'}));
  const auto last_newline =
      std::find(std::make_reverse_iterator(end), std::make_reverse_iterator(begin), uint8_t{'\n'});
  const size_t column = static_cast<size_t>(last_newline - std::make_reverse_iterator(end));
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// nlohmann's message without its "[json.exception...] parse error at line L, column C: " prefix,
// which line_and_column() replaces (overflow errors such as 1e400 carry no position of their own).
// Its "last read" token holds the input's raw bytes: anything but printable ASCII becomes \xNN.
std::string parser_message(const std::string& what) {
  std::string_view m = what;
  if (const size_t tag = m.find("] "); tag != std::string_view::npos) m.remove_prefix(tag + 2);
  if (m.starts_with("parse error")) {
    if (const size_t colon = m.find(": "); colon != std::string_view::npos) {
      m.remove_prefix(colon + 2);
    }
  }
  std::string out;
  for (const char c : m) {
    const auto byte = static_cast<uint8_t>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x" + to_hex(ByteView(&byte, 1));
    }
  }
  return out;
}

// Builds the document like nlohmann's own DOM parser, and stops at the first duplicate key, at
// nesting deeper than kMaxNesting, or at a syntax error; never throws.
class ScenarioSax final : public nlohmann::json_sax<Doc> {
 public:
  explicit ScenarioSax(ByteView text) : text_(text) {}

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  bool number_integer(number_integer_t v) override { return put(v); }
  bool number_unsigned(number_unsigned_t v) override { return put(v); }
  bool number_float(number_float_t v, const string_t&) override { return put(v); }
  bool string(string_t& v) override { return put(std::move(v)); }
  bool binary(binary_t&) override { return fail("", "binary value in JSON text"); }
  bool start_object(std::size_t) override { return open(Doc::object()); }
  bool start_array(std::size_t) override { return open(Doc::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    Frame& top = stack_.back();
    top.key = std::move(k);
    if (top.value->contains(top.key)) return fail(child_path(), "key appears twice");
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    error_ =
        Status::InvalidArgument(line_and_column(text_, position) + ": " + parser_message(e.what()));
    return false;
  }

  const Status& error() const { return error_; }
  Doc& document() { return root_; }

 private:
  struct Frame {
    Doc* value;
    std::string path;
    size_t next_index = 0;  // arrays
    std::string key;        // objects: the key whose value comes next
  };

  std::string child_path() const {
    if (stack_.empty()) return "";
    const Frame& top = stack_.back();
    if (top.value->is_array()) return top.path + "[" + std::to_string(top.next_index) + "]";
    return top.path + (top.path.empty() ? "" : ".") + top.key;
  }

  // Stores `v` where the parser is, and returns where it went.
  Doc* place(Doc v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& top = stack_.back();
    if (top.value->is_array()) {
      ++top.next_index;
      top.value->push_back(std::move(v));
      return &top.value->back();
    }
    Doc& slot = (*top.value)[top.key];
    slot = std::move(v);
    return &slot;
  }

  bool put(Doc v) {
    place(std::move(v));
    return true;
  }

  bool open(Doc container) {
    std::string path = child_path();
    if (stack_.size() >= kMaxNesting) {
      return fail(path, "nested deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    Doc* at = place(std::move(container));
    stack_.push_back({at, std::move(path), 0, {}});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  bool fail(const std::string& path, const std::string& what) {
    error_ = Status::InvalidArgument((path.empty() ? "document" : path) + ": " + what);
    return false;
  }

  ByteView text_;
  Doc root_;
  std::vector<Frame> stack_;
  Status error_;
};

Result<Doc> parse_json(ByteView text) {
  ScenarioSax sax(text);
  const bool ok = Doc::sax_parse(text.begin(), text.end(), &sax);
  if (!sax.error().ok()) return sax.error();
  if (!ok) return Status::InvalidArgument("not valid JSON");  // every failure sets error()
  return std::move(sax.document());
}

// ---- The scenario's shape. ----

enum class Op {
  kAdd,
  kDelete,
  kPasscode,
  kIcloudKeychain,
  kBackup,
  kErase,
  kRestore,
  kMigrate,
  kSync
};

struct StepKind {
  Op op;
  std::string_view name;
  std::vector<std::string_view> required;  // besides "do"
  std::vector<std::string_view> optional;
};

const std::vector<StepKind>& step_kinds() {
  static const std::vector<StepKind> kinds = {
      {Op::kAdd,
       "add",
       {"device", "account"},
       {"class", "accessible", "synchronizable", "token", "auth_constraint", "secret"}},
      {Op::kDelete, "delete", {"device", "account"}, {}},
      {Op::kPasscode, "passcode", {"device"}, {"on"}},
      {Op::kIcloudKeychain, "icloud-keychain", {"device"}, {"on"}},
      {Op::kBackup, "backup", {"device", "name"}, {"journey", "password"}},
      {Op::kErase, "erase", {"device"}, {}},
      {Op::kRestore, "restore", {"backup", "device"}, {"password"}},
      {Op::kMigrate, "migrate", {"from", "to"}, {"passcode"}},
      {Op::kSync, "sync", {}, {}},
  };
  return kinds;
}

std::string step_kind_names() {
  std::vector<std::string_view> names;
  for (const StepKind& k : step_kinds())
    names.push_back(k.name);
  return join(names);
}

struct DeviceSpec {
  std::string name;
  bool passcode = true;
  bool icloud_keychain = false;
};

// One step with every name resolved to an index; only the fields of its kind are meaningful.
struct Step {
  std::string path;  // "steps[3]"
  Op op = Op::kSync;
  std::string kind;     // its "do"
  size_t device = 0;    // the device it acts on; migrate: the source
  size_t backup = 0;    // restore: which backup (in backup-step order)
  std::string account;  // add, delete
  std::string name;     // backup: the backup's name; migrate: the new device's
  ItemClass item_class = ItemClass::kGenp;
  Accessibility accessible = Accessibility::kWhenUnlocked;
  Token token = Token::kNone;
  bool synchronizable = false;
  bool auth_constraint = false;
  std::string secret;
  bool on = true;        // passcode, icloud-keychain
  bool passcode = true;  // migrate: whether the new device has a passcode
  Journey journey = Journey::kLocal;
  std::string password;  // backup: set iff local-encrypted; restore: "" when none is given
};

struct Scenario {
  std::vector<DeviceSpec> devices;
  std::vector<Step> steps;
};

// Edit distance, for "did you mean" on a misspelt field.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view key, const std::vector<std::string_view>& accepted) {
  if (key.size() > 64) return "";  // edit distance is quadratic; no field name is this long
  for (std::string_view a : accepted) {
    if (edit_distance(key, a) <= 2) return " (did you mean '" + std::string(a) + "'?)";
  }
  return "";
}

// One object of the scenario and its JSON path: typed reads whose errors name the field.
class Fields {
 public:
  Fields(const Doc& obj, std::string path) : obj_(obj), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string at(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  Status error(std::string_view key, const std::string& what) const {
    return Status::InvalidArgument(at(key) + ": " + what);
  }
  bool has(std::string_view key) const { return obj_.contains(key); }

  // Every key must be required or optional for `what` ("an add step"), and every required one
  // present.
  Status check_keys(std::string_view what, const std::vector<std::string_view>& required,
                    const std::vector<std::string_view>& optional) const {
    std::vector<std::string_view> accepted = required;
    accepted.insert(accepted.end(), optional.begin(), optional.end());
    for (const auto& [key, value] : obj_.items()) {
      if (std::find(accepted.begin(), accepted.end(), key) != accepted.end()) continue;
      return error(display_text(key), "unknown field" + did_you_mean(key, accepted) + "; " +
                                          std::string(what) + " takes " + join(accepted));
    }
    for (std::string_view key : required) {
      if (!has(key))
        return error(key, "missing; " + std::string(what) + " needs " + join(required));
    }
    return Status::Ok();
  }

  Result<std::string> text(std::string_view key, size_t max_bytes) const {
    if (!has(key)) return error(key, "missing");
    const Doc& v = obj_.at(key);
    if (!v.is_string()) return error(key, "expected a string");
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() > max_bytes) {
      return error(key, std::to_string(s.size()) + " bytes; at most " + std::to_string(max_bytes));
    }
    return s;
  }
  Result<std::string> text_or(std::string_view key, std::string fallback, size_t max) const {
    if (!has(key)) return fallback;
    return text(key, max);
  }
  Result<std::string> name(std::string_view key) const {
    KCB_ASSIGN_OR_RETURN(std::string s, text(key, kMaxNameBytes));
    if (s.empty()) return error(key, "empty");
    return s;
  }
  Result<bool> flag(std::string_view key, bool fallback) const {
    if (!has(key)) return fallback;
    const Doc& v = obj_.at(key);
    if (!v.is_boolean()) return error(key, "expected true or false");
    return v.get<bool>();
  }
  template <typename T>
  Result<T> named(std::string_view key, Result<T> (*parse)(std::string_view), T fallback) const {
    if (!has(key)) return fallback;
    KCB_ASSIGN_OR_RETURN(std::string s, text(key, kMaxNameBytes));
    auto v = parse(s);
    if (!v.ok()) return error(key, v.status().message());
    return v;
  }

 private:
  const Doc& obj_;
  std::string path_;
};

// Names as the steps define them, in order: devices (declared, then Quick Start targets) and
// backups. A step may only name what an earlier step or the device list made.
class Names {
 public:
  Status add_device(const Fields& f, std::string_view key, const std::string& name) {
    const auto [it, fresh] = devices_.emplace(name, devices_.size());
    if (!fresh) return f.error(key, "a device named '" + display_text(name) + "' exists already");
    if (devices_.size() > kMaxDevices) {
      return f.error(key, "device " + std::to_string(devices_.size()) +
                              "; a scenario has at most " + std::to_string(kMaxDevices) +
                              " (devices and Quick Start targets together)");
    }
    return Status::Ok();
  }
  Result<size_t> device(const Fields& f, std::string_view key) const {
    KCB_ASSIGN_OR_RETURN(std::string name, f.name(key));
    const auto it = devices_.find(name);
    if (it == devices_.end()) return f.error(key, "no device named '" + display_text(name) + "'");
    return it->second;
  }
  Status add_backup(const Fields& f, const std::string& name, bool encrypted) {
    if (backups_.count(name)) return f.error("name", "'" + display_text(name) + "' exists already");
    if (backups_.size() == kMaxBackups) {
      return f.error("name", "a scenario has at most " + std::to_string(kMaxBackups) + " backups");
    }
    backups_.emplace(name, std::make_pair(backups_.size(), encrypted));
    return Status::Ok();
  }
  Result<size_t> backup(const Fields& f) const {
    KCB_ASSIGN_OR_RETURN(std::string name, f.name("backup"));
    const auto it = backups_.find(name);
    if (it == backups_.end())
      return f.error("backup", "no backup named '" + display_text(name) + "' before this step");
    return it->second.first;
  }

 private:
  std::map<std::string, size_t> devices_;
  std::map<std::string, std::pair<size_t, bool>> backups_;  // name -> (index, encrypted)
};

Status parse_item_fields(const Fields& f, Step& s) {
  KCB_ASSIGN_OR_RETURN(s.item_class, f.named("class", parse_item_class, ItemClass::kGenp));
  KCB_ASSIGN_OR_RETURN(s.accessible,
                       f.named("accessible", parse_accessibility, Accessibility::kWhenUnlocked));
  KCB_ASSIGN_OR_RETURN(s.token, f.named("token", parse_token, Token::kNone));
  KCB_ASSIGN_OR_RETURN(s.synchronizable, f.flag("synchronizable", false));
  KCB_ASSIGN_OR_RETURN(s.auth_constraint, f.flag("auth_constraint", false));
  KCB_ASSIGN_OR_RETURN(s.secret, f.text_or("secret", "secret of " + s.account, kMaxTextBytes));
  return Status::Ok();
}

// An encrypted backup names its password; the others take none (a password there would be
// ignored by the engine and mislead the reader).
Status parse_backup_fields(const Fields& f, Names& names, Step& s) {
  KCB_ASSIGN_OR_RETURN(s.journey, f.named("journey", parse_journey, Journey::kLocal));
  if (s.journey == Journey::kQuickStart || s.journey == Journey::kIcloudKeychain) {
    return f.error("journey", "use a migrate or sync step for " + std::string(name_of(s.journey)));
  }
  KCB_ASSIGN_OR_RETURN(s.name, f.name("name"));
  const bool encrypted = s.journey == Journey::kLocalEncrypted;
  if (encrypted && !f.has("password")) {
    return f.error("password", "missing; a local-encrypted backup needs its password");
  }
  if (!encrypted && f.has("password")) {
    return f.error("password", "a " + std::string(name_of(s.journey)) +
                                   " backup takes no password (only local-encrypted is encrypted)");
  }
  if (encrypted) {
    KCB_ASSIGN_OR_RETURN(s.password, f.text("password", kMaxTextBytes));
    if (s.password.empty()) return f.error("password", "empty");
  }
  return names.add_backup(f, s.name, encrypted);
}

Status parse_step_fields(const Fields& f, Names& names, Step& s) {
  if (s.op == Op::kSync) return Status::Ok();
  if (s.op == Op::kMigrate) {
    KCB_ASSIGN_OR_RETURN(s.device, names.device(f, "from"));
    KCB_ASSIGN_OR_RETURN(s.name, f.name("to"));
    KCB_ASSIGN_OR_RETURN(s.passcode, f.flag("passcode", true));
    return names.add_device(f, "to", s.name);
  }
  if (s.op == Op::kRestore) {
    KCB_ASSIGN_OR_RETURN(s.backup, names.backup(f));
    KCB_ASSIGN_OR_RETURN(s.password, f.text_or("password", "", kMaxTextBytes));
  }
  KCB_ASSIGN_OR_RETURN(s.device, names.device(f, "device"));
  if (s.op == Op::kAdd || s.op == Op::kDelete) {
    KCB_ASSIGN_OR_RETURN(s.account, f.name("account"));
  }
  if (s.op == Op::kAdd) return parse_item_fields(f, s);
  if (s.op == Op::kPasscode || s.op == Op::kIcloudKeychain) {
    KCB_ASSIGN_OR_RETURN(s.on, f.flag("on", true));
  }
  if (s.op == Op::kBackup) return parse_backup_fields(f, names, s);
  return Status::Ok();
}

Result<Step> parse_step(const Doc& v, std::string path, Names& names) {
  if (!v.is_object()) return Status::InvalidArgument(path + ": expected an object");
  const Fields f(v, std::move(path));
  if (!f.has("do")) return f.error("do", "missing; one of " + step_kind_names());
  KCB_ASSIGN_OR_RETURN(std::string op, f.text("do", kMaxNameBytes));
  const auto& kinds = step_kinds();
  const auto kind =
      std::find_if(kinds.begin(), kinds.end(), [&](const StepKind& k) { return k.name == op; });
  if (kind == kinds.end()) {
    return f.error("do", "unknown step '" + display_text(op) + "'; expected " + step_kind_names());
  }
  std::vector<std::string_view> required = {"do"};
  required.insert(required.end(), kind->required.begin(), kind->required.end());
  const std::string what =
      (op == "add" || op == "erase" || op == "icloud-keychain" ? "an " : "a ") + op + " step";
  KCB_RETURN_IF_ERROR(f.check_keys(what, required, kind->optional));
  Step s;
  s.path = f.path();
  s.op = kind->op;
  s.kind = op;
  KCB_RETURN_IF_ERROR(parse_step_fields(f, names, s));
  return s;
}

Result<DeviceSpec> parse_device(const Doc& v, std::string path, Names& names) {
  if (!v.is_object()) return Status::InvalidArgument(path + ": expected an object");
  const Fields f(v, std::move(path));
  KCB_RETURN_IF_ERROR(f.check_keys("a device", {"name"}, {"passcode", "icloud_keychain"}));
  DeviceSpec d;
  KCB_ASSIGN_OR_RETURN(d.name, f.name("name"));
  KCB_ASSIGN_OR_RETURN(d.passcode, f.flag("passcode", true));
  KCB_ASSIGN_OR_RETURN(d.icloud_keychain, f.flag("icloud_keychain", false));
  KCB_RETURN_IF_ERROR(names.add_device(f, "name", d.name));
  return d;
}

// The list under `key`, no longer than `cap`.
Result<const Doc*> list_of(const Fields& top, const Doc& doc, std::string_view key, size_t cap) {
  if (!top.has(key)) return top.error(key, "missing");
  const Doc& list = doc.at(key);
  if (!list.is_array()) return top.error(key, "expected an array");
  if (list.size() > cap) {
    return top.error(key, std::to_string(list.size()) + " entries; at most " + std::to_string(cap));
  }
  return &list;
}

// The oracle's world names an item by its account alone, while the keychain keeps genp and inet
// rows apart: one account added in two classes would be two items to the engine and a duplicate to
// the oracle, a disagreement about the scenario rather than about the rules.
Status check_one_class_per_account(const std::vector<Step>& steps) {
  std::map<std::string, const Step*> first_add;
  for (const Step& s : steps) {
    if (s.op != Op::kAdd) continue;
    const auto [at, added] = first_add.emplace(s.account, &s);
    if (!added && at->second->item_class != s.item_class) {
      return Status::InvalidArgument(
          s.path + ".class: account '" + display_text(s.account) + "' was added as " +
          std::string(name_of(at->second->item_class)) + " at " + at->second->path +
          "; a scenario names each item by its account, so give this one another account");
    }
  }
  return Status::Ok();
}

Result<Scenario> parse_scenario(const Doc& doc) {
  if (!doc.is_object()) return Status::InvalidArgument("document: expected an object");
  const Fields top(doc, "");
  KCB_RETURN_IF_ERROR(top.check_keys("a scenario", {"devices", "steps"}, {"description"}));
  if (top.has("description")) {
    KCB_RETURN_IF_ERROR(top.text("description", kMaxTextBytes).status());
  }
  KCB_ASSIGN_OR_RETURN(const Doc* devices, list_of(top, doc, "devices", kMaxDevices));
  KCB_ASSIGN_OR_RETURN(const Doc* steps, list_of(top, doc, "steps", kMaxSteps));
  Scenario out;
  Names names;
  for (size_t i = 0; i < devices->size(); ++i) {
    KCB_ASSIGN_OR_RETURN(DeviceSpec d,
                         parse_device((*devices)[i], "devices[" + std::to_string(i) + "]", names));
    out.devices.push_back(std::move(d));
  }
  for (size_t i = 0; i < steps->size(); ++i) {
    KCB_ASSIGN_OR_RETURN(Step s,
                         parse_step((*steps)[i], "steps[" + std::to_string(i) + "]", names));
    out.steps.push_back(std::move(s));
  }
  KCB_RETURN_IF_ERROR(check_one_class_per_account(out.steps));
  return out;
}

Result<Scenario> load_scenario(const std::string& path) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, default_env().read_file(path, kMaxScenarioBytes));
  auto doc = parse_json(bytes);
  if (!doc.ok()) return doc.status().with_context(path);
  auto scenario = parse_scenario(*doc);
  if (!scenario.ok()) return scenario.status().with_context(path);
  return scenario;
}

// ---- Running it. ----

std::string text_of(ByteView b) {
  return std::string(b.begin(), b.end());
}

struct Backup {
  std::string name;
  Bundle bundle;
  size_t world_index = 0;
  bool encrypted = false;
  std::string password;
};

// The two worlds side by side.
class Simulation {
 public:
  explicit Simulation(Random& random) : random_(random) {}

  Status add_device(const std::string& name, bool passcode, bool icloud) {
    KCB_ASSIGN_OR_RETURN(auto device,
                         Device::create_in_memory({passcode, false, std::nullopt}, random_));
    names_.push_back(name);
    devices_.push_back(std::move(device));
    const size_t w = world_.add_device(passcode);
    KCB_ASSERT(w == devices_.size() - 1);
    return icloud ? set_icloud(devices_.size() - 1, true) : Status::Ok();
  }

  // Runs one step; returns a one-line description of what happened. FailedPrecondition when the
  // engine and the oracle disagree on the step itself.
  Result<std::string> run(const Step& s) {
    switch (s.op) {
      case Op::kAdd:
        return add(s);
      case Op::kDelete:
        return remove(s);
      case Op::kPasscode:
        return passcode(s);
      case Op::kIcloudKeychain:
        return icloud(s);
      case Op::kBackup:
        return backup(s);
      case Op::kErase:
        return erase(s);
      case Op::kRestore:
        return restore(s);
      case Op::kMigrate:
        return migrate(s);
      case Op::kSync:
        return sync();
    }
    return Status::InvalidArgument(s.path + ".do: unknown step");
  }

  // What the oracle says the devices hold, all together.
  size_t held_items() const {
    size_t n = 0;
    for (const oracle::WorldDevice& d : world_.devices())
      n += d.items.size();
    return n;
  }

  // Every device's readable items, engine against model; one line per difference.
  Result<std::vector<std::string>> compare() {
    std::vector<std::string> diffs;
    for (size_t d = 0; d < devices_.size(); ++d) {
      std::map<std::string, std::string> engine, model;
      KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> items, devices_[d]->list());
      for (const StoredItem& s : items)
        engine[json_text(s.item.account())] = json_text(s.item.secret().view());
      for (const oracle::WorldItem& i : world_.devices()[d].items)
        model[i.account] = i.secret;
      for (const auto& [account, secret] : model) {
        const auto it = engine.find(account);
        if (it == engine.end()) {
          diffs.push_back(names_[d] + ": oracle expects '" + account + "', engine lost it");
        } else if (it->second != secret) {
          diffs.push_back(names_[d] + ": '" + account + "' has a different secret");
        }
      }
      for (const auto& [account, secret] : engine) {
        if (!model.count(account)) {
          diffs.push_back(names_[d] + ": engine has '" + account + "', oracle expects it lost");
        }
      }
    }
    return diffs;
  }

  Json holdings() const {
    Json out = Json::object();
    for (size_t d = 0; d < devices_.size(); ++d) {
      Json accounts = Json::array();
      for (const oracle::WorldItem& i : world_.devices()[d].items)
        accounts.push_back(i.account);
      out[names_[d]] = accounts;
    }
    return out;
  }

 private:
  Result<std::string> add(const Step& s) {
    const Traits traits{s.accessible, s.item_class, s.synchronizable, s.token, s.auth_constraint};
    NewItem item = new_item_with(traits);
    item.account = s.account;
    item.service = kService;
    item.label = s.account;  // cert and keys items are told apart by label
    item.secret = SecretBytes(as_bytes(s.secret));
    const AddError expected = world_.add_item(s.device, {traits, s.account, s.secret});
    const AddError got = sec_error_of(devices_[s.device]->add(item, random_).status());
    if (got != expected) {
      return Status::FailedPrecondition("add '" + s.account + "': oracle expects " +
                                        std::string(name_of(expected)) + ", engine returned " +
                                        std::string(name_of(got)));
    }
    return "add '" + s.account + "' on " + names_[s.device] + ": " + std::string(name_of(got));
  }

  Result<std::string> remove(const Step& s) {
    Device& device = *devices_[s.device];
    world_.remove_item(s.device, s.account);
    KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> items, device.list());
    for (const StoredItem& stored : items) {
      if (text_of(stored.item.account()) != s.account) continue;
      KCB_RETURN_IF_ERROR(device.remove(stored.item.item_class(), stored.rowid));
      if (stored.item.synchronizable() && cloud_ && cloud_->is_member(device))
        cloud_->forget(stored.item);
    }
    return "delete '" + s.account + "' on " + names_[s.device];
  }

  Result<std::string> passcode(const Step& s) {
    world_.set_passcode(s.device, s.on);
    KCB_RETURN_IF_ERROR(devices_[s.device]->set_passcode(s.on, random_));
    return "passcode " + std::string(s.on ? "on" : "off") + " on " + names_[s.device];
  }

  Status set_icloud(size_t d, bool on) {
    if (!cloud_) {
      KCB_ASSIGN_OR_RETURN(CloudAccount account, CloudAccount::create(kAccountSecret, random_));
      cloud_ = std::make_unique<CloudAccount>(std::move(account));
    }
    world_.set_icloud_keychain(d, on);
    return on ? cloud_->join(*devices_[d], kAccountSecret, random_) : cloud_->leave(*devices_[d]);
  }

  Result<std::string> icloud(const Step& s) {
    KCB_RETURN_IF_ERROR(set_icloud(s.device, s.on));
    return "iCloud Keychain " + std::string(s.on ? "on" : "off") + " on " + names_[s.device];
  }

  Result<std::string> backup(const Step& s) {
    const bool encrypted = s.journey == Journey::kLocalEncrypted;
    KCB_ASSIGN_OR_RETURN(Bundle bundle, make_backup(*devices_[s.device],
                                                    {s.journey, s.password, kFastKdf}, random_));
    backups_.push_back(
        {s.name, std::move(bundle), world_.back_up(s.device, s.journey), encrypted, s.password});
    return "backup '" + s.name + "' of " + names_[s.device] + " (" +
           std::string(name_of(s.journey)) + ")";
  }

  Result<std::string> erase(const Step& s) {
    world_.erase(s.device);
    KCB_RETURN_IF_ERROR(devices_[s.device]->erase(random_));
    return "erase " + names_[s.device];
  }

  // A restore of an encrypted backup with no password or a wrong one changes nothing: the engine
  // refuses it (PermissionDenied, exit 3 from `kcbackup restore`) and the model agrees.
  Result<std::string> restore(const Step& s) {
    const Backup& b = backups_.at(s.backup);
    const bool right_password = !b.encrypted || s.password == b.password;
    const bool model_ok = world_.restore(b.world_index, s.device, right_password);
    auto report = restore_backup(b.bundle, *devices_[s.device], {s.password, {}}, random_);
    if (!report.ok() && report.status().code() != Code::kPermissionDenied) return report.status();
    const std::string what = "restore '" + b.name + "' onto " + names_[s.device];
    if (report.ok() != model_ok) {
      return Status::FailedPrecondition(what + ": oracle expects it to " +
                                        (model_ok ? "succeed" : "fail") + ", engine " +
                                        (report.ok() ? "succeeded" : "failed"));
    }
    if (!report.ok()) {
      return what + (s.password.empty() ? ": no password" : ": wrong password") +
             ", nothing changed";
    }
    return what + ": " + std::to_string(report->restored_count()) + " of " +
           std::to_string(report->items.size()) + " items restored";
  }

  Result<std::string> migrate(const Step& s) {
    KCB_ASSIGN_OR_RETURN(auto device,
                         Device::create_in_memory({s.passcode, false, std::nullopt}, random_));
    KCB_RETURN_IF_ERROR(quick_start(*devices_[s.device], *device, kFastKdf, random_).status());
    names_.push_back(s.name);
    devices_.push_back(std::move(device));
    const size_t w = world_.quick_start(s.device, s.passcode);
    KCB_ASSERT(w == devices_.size() - 1);
    return "Quick Start from " + names_[s.device] + " to new device " + s.name;
  }

  Result<std::string> sync() {
    world_.sync_members();
    size_t members = 0;
    for (auto& d : devices_) {
      if (!cloud_ || !cloud_->is_member(*d)) continue;
      KCB_RETURN_IF_ERROR(cloud_->sync(*d, random_).status());
      ++members;
    }
    return "iCloud Keychain sync of " + std::to_string(members) + " devices";
  }

  Random& random_;
  oracle::World world_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<std::string> names_;
  std::vector<Backup> backups_;  // in backup-step order
  std::unique_ptr<CloudAccount> cloud_;
};

struct SimulateOptions {
  std::string scenario;
  Format format = Format::kText;
  std::string seed = "1";
};

void print_step_text(size_t index, const std::string& line, const std::vector<std::string>& diffs) {
  std::cout << (diffs.empty() ? paint("ok  ", "32") : paint("NO  ", "31")) << index << ". "
            << display_text(line) << "\n";
  for (const std::string& d : diffs)
    std::cout << "      " << display_text(d) << "\n";
}

void print_final_text(const Json& holdings, bool agree) {
  std::cout << "\nFinal keychains (oracle = engine" << (agree ? "" : " except where marked NO")
            << "):\n";
  for (const auto& [device, accounts] : holdings.items()) {
    std::cout << "  " << display_text(device) << ": " << (accounts.empty() ? "(empty)" : "");
    for (size_t k = 0; k < accounts.size(); ++k)
      std::cout << (k ? ", " : "") << display_text(accounts[k].get_ref<const std::string&>());
    std::cout << "\n";
  }
}

// Runs one step and compares the two worlds: the step's line and the disagreements.
Result<std::pair<std::string, std::vector<std::string>>> run_and_compare(Simulation& sim,
                                                                         const Step& step) {
  auto what = sim.run(step);
  if (!what.ok() && what.status().code() != Code::kFailedPrecondition) {
    return what.status().with_context(step.path);
  }
  if (sim.held_items() > kMaxHeldItems) {
    return Status::ResourceExhausted(
        step.path + ": after this step the devices hold " + std::to_string(sim.held_items()) +
        " items; a scenario holds at most " + std::to_string(kMaxHeldItems) + " at a time");
  }
  std::vector<std::string> diffs;
  if (!what.ok()) diffs.push_back(what.status().message());
  KCB_ASSIGN_OR_RETURN(std::vector<std::string> compared, sim.compare());
  diffs.insert(diffs.end(), compared.begin(), compared.end());
  return std::make_pair(what.ok() ? *what : step.kind, std::move(diffs));
}

Status run_simulate(const SimulateOptions& o, bool& agree) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.seed));
  KCB_ASSIGN_OR_RETURN(Scenario scenario, load_scenario(o.scenario));
  Simulation sim(*random);
  for (size_t i = 0; i < scenario.devices.size(); ++i) {
    const DeviceSpec& d = scenario.devices[i];
    Status st = sim.add_device(d.name, d.passcode, d.icloud_keychain);
    if (!st.ok()) return st.with_context("devices[" + std::to_string(i) + "]");
  }
  Json steps = Json::array();
  for (size_t i = 0; i < scenario.steps.size(); ++i) {
    KCB_ASSIGN_OR_RETURN(auto result, run_and_compare(sim, scenario.steps[i]));
    const auto& [line, diffs] = result;
    agree = agree && diffs.empty();
    if (o.format == Format::kText) {
      print_step_text(i, line, diffs);
      continue;
    }
    steps.push_back({{"index", i},
                     {"step", line},
                     {"agree", diffs.empty()},
                     {"disagreements", diffs},
                     {"devices", sim.holdings()}});
  }
  if (o.format == Format::kJson) {
    Json out = json_envelope("simulate");
    out["scenario"] = json_text(as_bytes(o.scenario));
    out["steps"] = std::move(steps);
    out["agree"] = agree;
    print_json(std::cout, out);
  } else {
    print_final_text(sim.holdings(), agree);
  }
  return Status::Ok();
}

}  // namespace

void add_simulate_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "Run a scripted scenario over several simulated phones; engine vs oracle after "
      "every step");
  cmd->add_option("SCENARIO", o->scenario, "Scenario JSON (see examples/scenario-*.json)")
      ->required();
  add_format_option(cmd, &o->format, false);
  add_seed_option(cmd, &o->seed);
  cmd->footer(
      "Steps: add, delete, passcode, icloud-keychain, backup, erase, restore, migrate, sync; the "
      "fields of each are in docs/cli.md. Exit 1 when engine and oracle disagree, 2 for a "
      "malformed scenario (the message names the JSON path).\n"
      "Example:\n  kcbackup simulate examples/scenario-new-phone.json");
  cmd->callback([o, &exit_code] {
    bool agree = true;
    const Status st = run_simulate(*o, agree);
    if (!st.ok()) {
      exit_code = report_error(st);
    } else {
      exit_code = agree ? kExitOk : kExitCheckFailed;
    }
  });
}

}  // namespace kcb::cli
