// The scenario language: reading it strictly (see include/kcbackup/scenario.h) and writing it.
#include "kcbackup/scenario.h"

#include <algorithm>
#include <map>
#include <utility>

#include "harness/scenario_text.h"
#include "input/document.h"
#include "kcbackup/der.h"
#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb::harness {

std::string shown(std::string_view text) {
  return printable_text(text);
}

namespace {

// The scenario as the one strict reader (input/document.h) gives it.
using Doc = input::Tree;

std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i)
    out += (i ? ", " : "") + std::string(words[i]);
  return out;
}

// ---- The scenario's shape. ----

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
       {"class", "accessible", "synchronizable", "token", "auth_constraint", "secret",
        "system_bound", "app_clip", "tombstone", "secret_hex"}},
      {Op::kDelete, "delete", {"device", "account"}, {}},
      {Op::kPasscode, "passcode", {"device"}, {"on"}},
      {Op::kIcloudKeychain, "icloud-keychain", {"device"}, {"on"}},
      {Op::kIcloudKeychainSwitch, "icloud-keychain-switch", {"device"}, {"on"}},
      {Op::kBackup, "backup", {"device", "name"}, {"journey", "password"}},
      {Op::kErase, "erase", {"device"}, {}},
      {Op::kRestore, "restore", {"backup", "device"}, {"password"}},
      {Op::kMigrate, "migrate", {"from", "to"}, {"passcode", "persistent_refs"}},
      {Op::kSync, "sync", {}, {}},
      {Op::kPersistentRefs, "persistent-refs", {"device", "kind"}, {}},
      {Op::kSos, "sos", {"device"}, {"on"}},
  };
  return kinds;
}

const StepKind& kind_of(Op op) {
  const auto& kinds = step_kinds();
  const auto it =
      std::find_if(kinds.begin(), kinds.end(), [op](const StepKind& k) { return k.op == op; });
  KCB_ASSERT(it != kinds.end());
  return *it;
}

std::string step_kind_names() {
  std::vector<std::string_view> names;
  for (const StepKind& k : step_kinds())
    names.push_back(k.name);
  return join(names);
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
    KCB_RETURN_IF_ERROR(input::check_fields(obj_, path_, accepted, what));
    for (std::string_view key : required) {
      if (!has(key))
        return error(key, "missing; " + std::string(what) + " needs " + join(required));
    }
    return Status::Ok();
  }

  Result<std::string> text(std::string_view key, size_t max_bytes) const {
    if (!has(key)) return error(key, "missing");
    return input::get_string(obj_.at(key), at(key), max_bytes);
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
    return input::get_bool(obj_.at(key), at(key));
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
    if (!fresh) return f.error(key, "a device named '" + shown(name) + "' exists already");
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
    if (it == devices_.end()) return f.error(key, "no device named '" + shown(name) + "'");
    return it->second;
  }
  Status add_backup(const Fields& f, const std::string& name) {
    if (backups_.count(name)) return f.error("name", "'" + shown(name) + "' exists already");
    if (backups_.size() == kMaxBackups) {
      return f.error("name", "a scenario has at most " + std::to_string(kMaxBackups) + " backups");
    }
    backups_.emplace(name, backups_.size());
    return Status::Ok();
  }
  Result<size_t> backup(const Fields& f) const {
    KCB_ASSIGN_OR_RETURN(std::string name, f.name("backup"));
    const auto it = backups_.find(name);
    if (it == backups_.end())
      return f.error("backup", "no backup named '" + shown(name) + "' before this step");
    return it->second;
  }

 private:
  std::map<std::string, size_t> devices_;
  std::map<std::string, size_t> backups_;  // name -> index in backup-step order
};

// The secret as text, or as hexadecimal bytes (what write_scenario() gives for a secret that is
// not UTF-8); by default "secret of ACCOUNT".
Result<std::string> parse_secret(const Fields& f, const std::string& account) {
  if (!f.has("secret_hex")) return f.text_or("secret", "secret of " + account, kMaxTextBytes);
  if (f.has("secret")) return f.error("secret_hex", "give secret or secret_hex, not both");
  KCB_ASSIGN_OR_RETURN(std::string hex, f.text("secret_hex", 2 * kMaxTextBytes));
  Bytes bytes;
  if (!from_hex(hex, &bytes)) {
    return f.error("secret_hex", "not hexadecimal (an even number of digits 0-9, a-f)");
  }
  return std::string(bytes.begin(), bytes.end());
}

Status parse_item_fields(const Fields& f, Step& s) {
  Traits& t = s.traits;
  KCB_ASSIGN_OR_RETURN(t.item_class, f.named("class", parse_item_class, ItemClass::kGenp));
  KCB_ASSIGN_OR_RETURN(t.accessible,
                       f.named("accessible", parse_accessibility, Accessibility::kWhenUnlocked));
  KCB_ASSIGN_OR_RETURN(t.token, f.named("token", parse_token, Token::kNone));
  KCB_ASSIGN_OR_RETURN(t.synchronizable, f.flag("synchronizable", false));
  KCB_ASSIGN_OR_RETURN(t.auth_constraint, f.flag("auth_constraint", false));
  KCB_ASSIGN_OR_RETURN(const bool system_bound, f.flag("system_bound", false));
  t.system_bound = system_bound ? SystemBound::kPreserveDuringRestore : SystemBound::kNone;
  KCB_ASSIGN_OR_RETURN(t.app_clip, f.flag("app_clip", false));
  KCB_ASSIGN_OR_RETURN(t.tombstone, f.flag("tombstone", false));
  KCB_ASSIGN_OR_RETURN(s.secret, parse_secret(f, s.account));
  return Status::Ok();
}

// An encrypted backup names its password; the others take none (a password there would be
// ignored by the engine and mislead the reader).
Status parse_backup_fields(const Fields& f, Names& names, Step& s) {
  KCB_ASSIGN_OR_RETURN(s.journey, f.named("journey", parse_journey, Journey::kLocal));
  if (!has_same_device_form(s.journey)) {
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
  return names.add_backup(f, s.name);
}

Status parse_step_fields(const Fields& f, Names& names, Step& s) {
  if (s.op == Op::kSync) return Status::Ok();
  if (s.op == Op::kMigrate) {
    KCB_ASSIGN_OR_RETURN(s.device, names.device(f, "from"));
    KCB_ASSIGN_OR_RETURN(s.name, f.name("to"));
    KCB_ASSIGN_OR_RETURN(s.passcode, f.flag("passcode", true));
    KCB_ASSIGN_OR_RETURN(s.persistent_refs, f.named("persistent_refs", parse_persistent_ref_kind,
                                                    PersistentRefKind::kRowid));
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
  if (s.op == Op::kPersistentRefs) {
    KCB_ASSIGN_OR_RETURN(s.persistent_refs,
                         f.named("kind", parse_persistent_ref_kind, PersistentRefKind::kRowid));
  }
  if (s.op == Op::kPasscode || s.op == Op::kIcloudKeychain || s.op == Op::kIcloudKeychainSwitch ||
      s.op == Op::kSos) {
    KCB_ASSIGN_OR_RETURN(s.on, f.flag("on", true));
  }
  if (s.op == Op::kBackup) return parse_backup_fields(f, names, s);
  return Status::Ok();
}

Result<Step> parse_step(const Doc& v, std::string path, Names& names) {
  KCB_RETURN_IF_ERROR(input::expect_object(v, path));
  const Fields f(v, std::move(path));
  if (!f.has("do")) return f.error("do", "missing; one of " + step_kind_names());
  KCB_ASSIGN_OR_RETURN(std::string op, f.text("do", kMaxNameBytes));
  const auto& kinds = step_kinds();
  const auto kind =
      std::find_if(kinds.begin(), kinds.end(), [&](const StepKind& k) { return k.name == op; });
  if (kind == kinds.end()) {
    return f.error("do", "unknown step '" + shown(op) + "'; expected " + step_kind_names());
  }
  std::vector<std::string_view> required = {"do"};
  required.insert(required.end(), kind->required.begin(), kind->required.end());
  const bool vowel = op == "add" || op == "erase" || op.starts_with("icloud");
  const std::string what = (vowel ? "an " : "a ") + op + " step";
  KCB_RETURN_IF_ERROR(f.check_keys(what, required, kind->optional));
  Step s;
  s.op = kind->op;
  KCB_RETURN_IF_ERROR(parse_step_fields(f, names, s));
  return s;
}

Result<DeviceSpec> parse_device(const Doc& v, std::string path, Names& names) {
  KCB_RETURN_IF_ERROR(input::expect_object(v, path));
  const Fields f(v, std::move(path));
  KCB_RETURN_IF_ERROR(f.check_keys("a device", {"name"},
                                   {"passcode", "icloud_keychain", "persistent_refs", "sos"}));
  DeviceSpec d;
  KCB_ASSIGN_OR_RETURN(d.name, f.name("name"));
  KCB_ASSIGN_OR_RETURN(d.passcode, f.flag("passcode", true));
  KCB_ASSIGN_OR_RETURN(d.icloud_keychain, f.flag("icloud_keychain", false));
  KCB_ASSIGN_OR_RETURN(d.persistent_refs, f.named("persistent_refs", parse_persistent_ref_kind,
                                                  PersistentRefKind::kRowid));
  KCB_ASSIGN_OR_RETURN(d.sos, f.flag("sos", false));
  KCB_RETURN_IF_ERROR(names.add_device(f, "name", d.name));
  return d;
}

// The list under `key`, no longer than `cap`.
Result<const Doc*> list_of(const Fields& top, const Doc& doc, std::string_view key, size_t cap) {
  if (!top.has(key)) return top.error(key, "missing");
  const Doc& list = doc.at(key);
  KCB_RETURN_IF_ERROR(input::expect_array(list, top.at(key)));
  if (list.size() > cap) {
    return top.error(key, std::to_string(list.size()) + " entries; at most " + std::to_string(cap));
  }
  return &list;
}

// The oracle's world names an item by its account alone, while the keychain keeps genp and inet
// rows apart: one account added in two classes would be two items to the engine and a duplicate to
// the oracle, a disagreement about the scenario rather than about the rules.
Status check_one_class_per_account(const std::vector<Step>& steps) {
  std::map<std::string, size_t> first_add;  // account -> step index
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    if (s.op != Op::kAdd) continue;
    const auto [at, added] = first_add.emplace(s.account, i);
    const ItemClass first = steps[at->second].traits.item_class;
    if (!added && first != s.traits.item_class) {
      return Status::InvalidArgument(
          step_path(i) + ".class: account '" + shown(s.account) + "' was added as " +
          std::string(name_of(first)) + " at " + step_path(at->second) +
          "; a scenario names each item by its account, so give this one another account");
    }
  }
  return Status::Ok();
}

Result<Scenario> parse_document(const Doc& doc) {
  KCB_RETURN_IF_ERROR(input::expect_object(doc, ""));
  const Fields top(doc, "");
  KCB_RETURN_IF_ERROR(top.check_keys("a scenario", {"devices", "steps"}, {"description"}));
  Scenario out;
  KCB_ASSIGN_OR_RETURN(out.description, top.text_or("description", "", kMaxTextBytes));
  KCB_ASSIGN_OR_RETURN(const Doc* devices, list_of(top, doc, "devices", kMaxDevices));
  KCB_ASSIGN_OR_RETURN(const Doc* steps, list_of(top, doc, "steps", kMaxSteps));
  Names names;
  for (size_t i = 0; i < devices->size(); ++i) {
    KCB_ASSIGN_OR_RETURN(DeviceSpec d,
                         parse_device((*devices)[i], "devices[" + std::to_string(i) + "]", names));
    out.devices.push_back(std::move(d));
  }
  for (size_t i = 0; i < steps->size(); ++i) {
    KCB_ASSIGN_OR_RETURN(Step s, parse_step((*steps)[i], step_path(i), names));
    out.steps.push_back(std::move(s));
  }
  KCB_RETURN_IF_ERROR(check_one_class_per_account(out.steps));
  return out;
}

// ---- Writing. ----

// A JSON string of UTF-8 text (names and passwords come from a parsed scenario or from the
// stateful property's ASCII; anything else is the caller's bug).
std::string json_string(std::string_view text) {
  KCB_ASSERT(is_valid_utf8(text));
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00" + to_hex(ByteView(&byte, 1));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// One object on one line, keys in the order given.
class Line {
 public:
  Line& text(std::string_view key, std::string_view value) { return raw(key, json_string(value)); }
  Line& flag(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  std::string str() const { return "{" + out_ + "}"; }

 private:
  Line& raw(std::string_view key, const std::string& value) {
    out_ += (out_.empty() ? "" : ", ") + json_string(key) + ": " + value;
    return *this;
  }
  std::string out_;
};

void write_item_fields(const Step& s, Line& line) {
  const Traits& t = s.traits;
  line.text("class", name_of(t.item_class))
      .text("accessible", names_of(t.accessible).name)
      .flag("synchronizable", t.synchronizable)
      .text("token", name_of(t.token))
      .flag("auth_constraint", t.auth_constraint)
      .flag("system_bound", t.system_bound != SystemBound::kNone)
      .flag("app_clip", t.app_clip)
      .flag("tombstone", t.tombstone);
  // The reader refuses NUL characters in strings.
  if (is_valid_utf8(s.secret) && s.secret.find('\0') == std::string::npos) {
    line.text("secret", s.secret);
  } else {
    line.text("secret_hex", to_hex(as_bytes(s.secret)));
  }
}

std::string write_step(const Step& s, const std::vector<std::string>& devices,
                       const std::vector<std::string>& backups) {
  const auto device = [&](size_t i) -> const std::string& {
    KCB_ASSERT(i < devices.size());
    return devices[i];
  };
  Line line;
  line.text("do", name_of(s.op));
  switch (s.op) {
    case Op::kAdd:
      line.text("device", device(s.device)).text("account", s.account);
      write_item_fields(s, line);
      break;
    case Op::kDelete:
      line.text("device", device(s.device)).text("account", s.account);
      break;
    case Op::kPasscode:
    case Op::kIcloudKeychain:
    case Op::kIcloudKeychainSwitch:
    case Op::kSos:
      line.text("device", device(s.device)).flag("on", s.on);
      break;
    case Op::kPersistentRefs:
      line.text("device", device(s.device)).text("kind", name_of(s.persistent_refs));
      break;
    case Op::kBackup:
      line.text("device", device(s.device))
          .text("name", s.name)
          .text("journey", name_of(s.journey));
      if (s.journey == Journey::kLocalEncrypted) line.text("password", s.password);
      break;
    case Op::kErase:
      line.text("device", device(s.device));
      break;
    case Op::kRestore:
      KCB_ASSERT(s.backup < backups.size());
      line.text("backup", backups[s.backup]).text("device", device(s.device));
      if (!s.password.empty()) line.text("password", s.password);
      break;
    case Op::kMigrate:
      line.text("from", device(s.device)).text("to", s.name).flag("passcode", s.passcode);
      if (s.persistent_refs != PersistentRefKind::kRowid) {
        line.text("persistent_refs", name_of(s.persistent_refs));
      }
      break;
    case Op::kSync:
      break;
  }
  return line.str();
}

}  // namespace

std::string_view name_of(Op op) {
  return kind_of(op).name;
}

std::string step_path(size_t index) {
  return "steps[" + std::to_string(index) + "]";
}

std::vector<std::string> device_names(const Scenario& scenario) {
  std::vector<std::string> names;
  for (const DeviceSpec& d : scenario.devices)
    names.push_back(d.name);
  for (const Step& s : scenario.steps) {
    if (s.op == Op::kMigrate) names.push_back(s.name);
  }
  return names;
}

Result<Scenario> parse_scenario(ByteView json) {
  KCB_ASSIGN_OR_RETURN(const Doc doc, input::read_json(json, {kMaxScenarioBytes, kMaxNesting}));
  return parse_document(doc);
}

std::string write_scenario(const Scenario& scenario) {
  const std::vector<std::string> devices = device_names(scenario);
  std::vector<std::string> backups;
  for (const Step& s : scenario.steps) {
    if (s.op == Op::kBackup) backups.push_back(s.name);
  }
  std::string out = "{\n";
  if (!scenario.description.empty()) {
    out += "  \"description\": " + json_string(scenario.description) + ",\n";
  }
  out += "  \"devices\": [";
  for (size_t i = 0; i < scenario.devices.size(); ++i) {
    const DeviceSpec& d = scenario.devices[i];
    out += std::string(i ? "," : "") + "\n    " +
           Line()
               .text("name", d.name)
               .flag("passcode", d.passcode)
               .flag("icloud_keychain", d.icloud_keychain)
               .text("persistent_refs", name_of(d.persistent_refs))
               .flag("sos", d.sos)
               .str();
  }
  out += std::string(scenario.devices.empty() ? "" : "\n  ") + "],\n  \"steps\": [";
  for (size_t i = 0; i < scenario.steps.size(); ++i) {
    out += std::string(i ? "," : "") + "\n    " + write_step(scenario.steps[i], devices, backups);
  }
  out += std::string(scenario.steps.empty() ? "" : "\n  ") + "]\n}\n";
  return out;
}

}  // namespace kcb::harness
