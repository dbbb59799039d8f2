// A device's app files (engine/device_files.cc): put and list in memory and on disk, the put
// rules of device.h, atomic writes through the Env, and DIR/app-files.plist read as hostile input.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/binary_plist_writer.h"
#include "fault_env.h"
#include "kcbackup/device.h"

namespace kcb {
namespace {

namespace fs = std::filesystem;

AppFile app_file(std::string domain, std::string path, std::string text, uint32_t cls = 3) {
  AppFile f;
  f.domain = std::move(domain);
  f.relative_path = std::move(path);
  f.protection_class = cls;
  f.contents = Bytes(text.begin(), text.end());
  return f;
}

class TempFolder {
 public:
  TempFolder() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("kcb-device-files-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::string> names_of(const std::vector<AppFile>& files) {
  std::vector<std::string> out;
  for (const AppFile& f : files)
    out.push_back(f.domain + "/" + f.relative_path);
  return out;
}

TEST(DeviceFiles, InMemoryPutListsSortedAndReplacesTheSameName) {
  auto r = make_seeded_random(1);
  auto d = Device::create_in_memory({}, *r);
  ASSERT_TRUE(d.ok());
  auto none = (*d)->app_files();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-b", "Documents/x", "one")).ok());
  ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "Library/y", "two", 1)).ok());
  ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "Documents/z", "three", 4)).ok());
  ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-b", "Documents/x", "four", 2)).ok());
  auto files = (*d)->app_files();
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(names_of(*files),
            (std::vector<std::string>{"AppDomain-a/Documents/z", "AppDomain-a/Library/y",
                                      "AppDomain-b/Documents/x"}));
  EXPECT_EQ((*files)[2], app_file("AppDomain-b", "Documents/x", "four", 2));
  EXPECT_EQ((*files)[1].protection_class, 1u);
}

TEST(DeviceFiles, PutRefusesWhatTheDeviceHeaderSays) {
  auto r = make_seeded_random(2);
  auto d = Device::create_in_memory({}, *r);
  ASSERT_TRUE(d.ok());
  struct Case {
    AppFile file;
    std::string message;
  };
  const std::vector<Case> cases = {
      {app_file("", "Documents/x", ""), "domain is empty"},
      {app_file("AppDomain-a", "", ""), "path is empty"},
      {app_file("AppDomain-a", "/etc/passwd", ""), "starts with '/'"},
      {app_file("AppDomain-a", "Documents/../../x", ""), "'..' component"},
      {app_file("AppDomain-a", "..", ""), "'..' component"},
      {app_file("AppDomain-a", "Documents//x", ""), "empty component"},
      {app_file("AppDomain-a", "Documents/", ""), "empty component"},
      {app_file("AppDomain-a", "Documents/x", "", 0), "protection class 0 is outside 1-11"},
      {app_file("AppDomain-a", "Documents/x", "", 12), "protection class 12 is outside 1-11"},
      {app_file("AppDomain-\xff", "Documents/x", ""), "domain is not UTF-8"},
      {app_file("AppDomain-a", std::string("a\0b", 3), ""), "path contains a NUL byte"},
  };
  for (const Case& c : cases) {
    const Status st = (*d)->put_app_file(c.file);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << c.message;
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.to_string();
  }
  // Names a file may have: dots inside a component, 11 (the keychain's top class), 1.
  EXPECT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "a..b/.x", "", 11)).ok());
  EXPECT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "c", "", 1)).ok());
  auto files = (*d)->app_files();
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 2u);
}

TEST(DeviceFiles, OnDiskTheyOutliveTheDeviceObjectAndTheBytesAreAFunctionOfTheFiles) {
  TempFolder a, b;
  auto r = make_seeded_random(3);
  Bytes first_bytes;
  {
    auto d = Device::create_at(default_env(), a.path(), {}, *r);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-z", "Documents/x", "zz")).ok());
    ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "Documents/y", "aa", 7)).ok());
  }
  {
    auto d = Device::create_at(default_env(), b.path(), {}, *r);
    ASSERT_TRUE(d.ok());
    // Other order, and a replaced first version: the same list, the same bytes.
    ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "Documents/y", "old", 2)).ok());
    ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-z", "Documents/x", "zz")).ok());
    ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "Documents/y", "aa", 7)).ok());
  }
  auto opened = Device::open(default_env(), a.path(), {DeviceAccess::kReadOnly});
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  auto files = (*opened)->app_files();
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0], app_file("AppDomain-a", "Documents/y", "aa", 7));
  EXPECT_EQ((*files)[1], app_file("AppDomain-z", "Documents/x", "zz"));
  auto bytes_a = default_env().read_file(a.path() / "app-files.plist", 1 << 20);
  auto bytes_b = default_env().read_file(b.path() / "app-files.plist", 1 << 20);
  ASSERT_TRUE(bytes_a.ok() && bytes_b.ok());
  EXPECT_EQ(*bytes_a, *bytes_b);
  // A reader changes nothing.
  const Status st = (*opened)->put_app_file(app_file("AppDomain-a", "Documents/n", "n"));
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.to_string();
}

// "Erase All Content and Settings" takes the app files with the keychain, on disk and in memory.
TEST(DeviceFiles, EraseRemovesThem) {
  TempFolder a;
  auto r = make_seeded_random(5);
  auto on_disk = Device::create_at(default_env(), a.path(), {}, *r);
  auto in_memory = Device::create_in_memory({}, *r);
  ASSERT_TRUE(on_disk.ok() && in_memory.ok());
  for (Device* d : {on_disk->get(), in_memory->get()}) {
    ASSERT_TRUE(d->put_app_file(app_file("AppDomain-a", "Documents/y", "aa")).ok());
    ASSERT_TRUE(d->erase(*r).ok());
    EXPECT_TRUE(d->app_files()->empty());
    ASSERT_TRUE(d->erase(*r).ok());  // nothing to remove: still fine
  }
  EXPECT_FALSE(fs::exists(a.path() / "app-files.plist"));
}

TEST(DeviceFiles, AFailedWriteLeavesTheOldListWhole) {
  TempFolder a;
  auto r = make_seeded_random(4);
  faults::FaultEnv env(default_env());
  auto d = Device::create_at(env, a.path(), {}, *r);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "Documents/x", "kept")).ok());
  // Every change the next put makes fails in turn: the list is the old one or the new one, whole
  // (a failed sync of the folder after the rename leaves the new one in place).
  for (size_t n = 1;; ++n) {
    env.fail_change(n);
    const size_t before = env.changes();
    const Status st = (*d)->put_app_file(app_file("AppDomain-a", "Documents/y", "new"));
    env.fail_change(0);
    auto files = (*d)->app_files();
    ASSERT_TRUE(files.ok()) << "change " << n << ": " << files.status().to_string();
    if (st.ok()) {
      EXPECT_EQ(files->size(), 2u);
      EXPECT_GT(n, env.changes() - before) << "every change was tried";
      break;
    }
    EXPECT_EQ(st.code(), Code::kIOError) << st.to_string();
    const std::vector<std::string> old_list{"AppDomain-a/Documents/x"};
    const std::vector<std::string> new_list{"AppDomain-a/Documents/x", "AppDomain-a/Documents/y"};
    EXPECT_TRUE(names_of(*files) == old_list || names_of(*files) == new_list) << n;
    // The put is retried from the old list each time.
    if (names_of(*files) == new_list) {
      ASSERT_TRUE(default_env().remove(a.path() / "app-files.plist").ok());
      ASSERT_TRUE((*d)->put_app_file(app_file("AppDomain-a", "Documents/x", "kept")).ok());
    }
  }
}

// DIR/app-files.plist as someone may have left it.
class HostileAppFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = make_seeded_random(5);
    auto d = Device::create_at(default_env(), dir_.path(), {}, *r);
    ASSERT_TRUE(d.ok());
  }
  Status read_with(const Bytes& bytes) {
    EXPECT_TRUE(default_env().write_file(dir_.path() / "app-files.plist", bytes).ok());
    auto d = Device::open(default_env(), dir_.path(), {DeviceAccess::kReadOnly});
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return (*d)->app_files().status();
  }
  TempFolder dir_;
};

using Ref = BinaryPlistWriter::Ref;

// One entry's fields; a field whose value is 0 is left out.
struct Fields {
  const char* domain = "AppDomain-a";
  const char* path = "Documents/x";
  int64_t cls = 3;
  bool class_as_string = false;
  bool data = true;
};

Ref entry(BinaryPlistWriter& w, const Fields& f, const Bytes& contents) {
  std::vector<std::pair<Ref, Ref>> fields;
  if (f.domain) fields.emplace_back(w.string("Domain"), w.string(f.domain));
  if (f.path) fields.emplace_back(w.string("RelativePath"), w.string(f.path));
  if (f.class_as_string) {
    fields.emplace_back(w.string("ProtectionClass"), w.string("3"));
  } else {
    fields.emplace_back(w.string("ProtectionClass"), w.integer(f.cls));
  }
  if (f.data) fields.emplace_back(w.string("Data"), w.data(contents));
  fields.emplace_back(w.string("SomethingNew"), w.boolean(true));  // unknown keys are ignored
  return w.dict(fields);
}

Bytes list_of(const std::vector<Fields>& entries) {
  static const Bytes contents = {1, 2, 3};
  BinaryPlistWriter w;
  std::vector<Ref> refs;
  for (const Fields& f : entries)
    refs.push_back(entry(w, f, contents));
  return w.finish(w.array(refs));
}

TEST_F(HostileAppFiles, EachBrokenFieldIsNamedWithItsEntry) {
  Fields ok;
  Fields no_domain;
  no_domain.domain = nullptr;
  Fields string_class;
  string_class.class_as_string = true;
  Fields class_zero;
  class_zero.cls = 0;
  Fields negative_class;
  negative_class.cls = -3;
  Fields no_data;
  no_data.data = false;
  Fields escaping;
  escaping.path = "../../etc/x";
  Fields other;
  other.path = "Documents/other";
  struct Case {
    Bytes bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Bytes{'n', 'o', 'p', 'e'}, "app-files.plist"},
      {list_of({ok, no_domain}), "app-files.plist: [1].Domain: missing"},
      {list_of({other, string_class}), "app-files.plist: [1].ProtectionClass"},
      {list_of({class_zero}), "app-files.plist: [0]: protection class 0 is outside 1-11"},
      {list_of({negative_class}), "app-files.plist: [0].ProtectionClass"},
      {list_of({ok, other, no_data}), "app-files.plist: [2].Data: missing"},
      {list_of({escaping}), "app-files.plist: [0]: path '../../etc/x' has a '..' component"},
      {list_of({ok, other, ok}), "'AppDomain-a' / 'Documents/x' is listed twice"},
  };
  for (const Case& c : cases) {
    const Status st = read_with(c.bytes);
    EXPECT_EQ(st.code(), Code::kCorruption) << c.message << ": " << st.to_string();
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.to_string();
    EXPECT_NE(st.message().find(dir_.path().string()), std::string::npos) << "names the device";
  }
  // A dictionary where the list should be.
  BinaryPlistWriter w;
  const std::pair<Ref, Ref> root[] = {{w.string("Domain"), w.string("x")}};
  const Status not_a_list = read_with(w.finish(w.dict(root)));
  EXPECT_EQ(not_a_list.code(), Code::kCorruption) << not_a_list.to_string();
  // Hand-edited out of order: read sorted, unknown keys ignored.
  EXPECT_TRUE(read_with(list_of({other, ok})).ok());
}

TEST_F(HostileAppFiles, TheEntryCountIsCappedInLinearTime) {
  Fields f;
  std::vector<std::string> paths(100'001);
  std::vector<Fields> entries(paths.size(), f);
  for (size_t i = 0; i < paths.size(); ++i) {
    paths[i] = "Documents/" + std::to_string(i);
    entries[i].path = paths[i].c_str();
  }
  const auto start = std::chrono::steady_clock::now();
  const Status over = read_with(list_of(entries));
  EXPECT_EQ(over.code(), Code::kResourceExhausted) << over.to_string();
  EXPECT_NE(over.message().find("more than 100000 files"), std::string::npos) << over.to_string();
  entries.pop_back();
  const Status at_cap = read_with(list_of(entries));
  EXPECT_TRUE(at_cap.ok()) << at_cap.to_string();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Linear: two 100k-entry lists in well under the time a quadratic walk would take (minutes).
  EXPECT_LT(elapsed, std::chrono::seconds(20));
}

}  // namespace
}  // namespace kcb
