// Issue 17's cheap devices: an in-memory keychain store taken from the per-thread pool (a
// connection that served other devices, emptied when it came back) must answer exactly as one
// built from SQL, so that a fuzz input or property case sees the same state whichever it gets:
//   - the store: schema, emptiness, the rowids SQLite hands out, UUID uniqueness;
//   - a device: every row byte for byte (rowids, UUIDs, sealed blobs) after the same operations
//     with the same seed, on a fresh store and on a reused one;
//   - a journey: run_journey_case gives the same result with the baseline set-up (fresh schema
//     per store, 1,000 escrow rounds) and with the new one, over many generated cases.
#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/device_internals.h"
#include "engine/keybag.h"
#include "engine/keychain_store.h"
#include "engine/manifest_db.h"
#include "engine/setup_profile.h"
#include "kcbackup/device.h"
#include "kcbackup/journey.h"
#include "kcbackup/random.h"

namespace kcb {
namespace {

// Runs with the baseline set-up on or off and puts the setting back.
class SetupGuard {
 public:
  explicit SetupGuard(bool baseline) : before_(baseline_setup()) { set_baseline_setup(baseline); }
  ~SetupGuard() { set_baseline_setup(before_); }
  SetupGuard(const SetupGuard&) = delete;
  SetupGuard& operator=(const SetupGuard&) = delete;

 private:
  bool before_;
};

KeychainRow row(ItemClass c, std::string acct, int64_t rowid = 0, Bytes uuid = {}) {
  KeychainRow r;
  r.item_class = c;
  r.rowid = rowid;
  r.acct.assign(acct.begin(), acct.end());
  r.labl = acct;
  r.agrp = "TEAM.app";
  r.pdmn = Accessibility::kAfterFirstUnlock;
  r.data = Bytes{1, 2, 3};
  r.persistref = std::move(uuid);
  return r;
}

std::unique_ptr<KeychainStore> memory_store() {
  auto s = KeychainStore::open_in_memory();
  KCB_ASSERT(s.ok());
  return std::move(s).value();
}

// Fills every table (high rowids, UUIDs) and leaves a transaction open: the worst a store can be
// in when its device goes away.
void dirty(KeychainStore& store) {
  for (ItemClass c : kAllItemClasses) {
    ASSERT_TRUE(store.insert(row(c, "a", 41, Bytes(16, 7))).ok());
    ASSERT_TRUE(store.insert(row(c, "b")).ok());
  }
  ASSERT_TRUE(store.begin().ok());
  ASSERT_TRUE(store.insert(row(ItemClass::kGenp, "in-flight", 99)).ok());
}

TEST(StorePool, AReusedConnectionAnswersLikeANewOne) {
  std::string built_schema;
  {
    SetupGuard baseline(true);
    auto fresh = memory_store();
    auto described = fresh->describe_schema();
    ASSERT_TRUE(described.ok()) << described.status().to_string();
    built_schema = *described;
  }
  SetupGuard pooled(false);
  { dirty(*memory_store()); }
  ASSERT_GE(KeychainStore::idle_in_memory_stores(), 1u);
  const size_t idle = KeychainStore::idle_in_memory_stores();
  auto reused = memory_store();
  EXPECT_EQ(KeychainStore::idle_in_memory_stores(), idle - 1);  // it came from the pool
  auto described = reused->describe_schema();
  ASSERT_TRUE(described.ok()) << described.status().to_string();
  EXPECT_EQ(*described, built_schema);
  EXPECT_NE(built_schema.find("CREATE TABLE genp"), std::string::npos);
  EXPECT_FALSE(reused->in_transaction());
  EXPECT_EQ(*reused->count(), 0);
  for (ItemClass c : kAllItemClasses) {
    // rowids start at 1 again (no AUTOINCREMENT), and the old UUID is free.
    EXPECT_EQ(*reused->insert(row(c, "a")), 1);
    EXPECT_FALSE(*reused->has_persistref(c, Bytes(16, 7)));
    EXPECT_TRUE(reused->insert(row(c, "x", 0, Bytes(16, 7))).ok());
  }
}

TEST(StorePool, OffUnderTheBaselineSetUp) {
  SetupGuard baseline(true);
  { memory_store(); }
  const size_t idle = KeychainStore::idle_in_memory_stores();
  { memory_store(); }
  EXPECT_EQ(KeychainStore::idle_in_memory_stores(), idle);
}

TEST(StorePool, ReplaceAllLeavesExactlyTheRowsGiven) {
  auto store = memory_store();
  dirty(*store);
  EXPECT_EQ(store->replace_all({}).code(), Code::kFailedPrecondition);  // inside a transaction
  ASSERT_TRUE(store->rollback().ok());
  const std::vector<KeychainRow> want = {row(ItemClass::kInet, "kept", 5, Bytes(16, 9)),
                                         row(ItemClass::kKeys, "bound", 2)};
  ASSERT_TRUE(store->replace_all(want).ok());
  EXPECT_EQ(*store->list_all(), want);
  EXPECT_EQ(*store->insert(row(ItemClass::kInet, "next")), 6);
  EXPECT_EQ(*store->insert(row(ItemClass::kGenp, "first")), 1);
}

// The operations a journey does to a device, by one seed.
std::vector<KeychainRow> device_rows_after_use(uint64_t seed, PersistentRefKind refs) {
  auto random = make_seeded_random(seed);
  DeviceConfig config;
  config.persistent_refs = refs;
  auto device = Device::create_in_memory(config, *random);
  KCB_ASSERT(device.ok());
  Device& d = **device;
  for (int i = 0; i < 5; ++i) {
    NewItem n;
    n.item_class = kAllItemClasses[static_cast<size_t>(i) % std::size(kAllItemClasses)];
    n.accessible = i % 2 == 0 ? Accessibility::kWhenUnlocked : Accessibility::kAfterFirstUnlock;
    n.account = "acct-" + std::to_string(i);
    n.label = n.account;
    n.secret = SecretBytes(Bytes(static_cast<size_t>(i) + 1, static_cast<uint8_t>(i)));
    KCB_ASSERT(d.add(n, *random).ok());
  }
  KCB_ASSERT(d.remove(ItemClass::kGenp, 1).ok());
  KCB_ASSERT(d.set_passcode(false, *random).ok());
  auto rows = DeviceInternals::store(d).list_all();
  KCB_ASSERT(rows.ok());
  return std::move(rows).value();
}

TEST(StorePool, ADeviceOnAReusedStoreHoldsTheSameBytes) {
  for (PersistentRefKind refs : {PersistentRefKind::kRowid, PersistentRefKind::kUuid}) {
    for (uint64_t seed : {1u, 2u, 77u}) {
      std::vector<KeychainRow> fresh;
      {
        SetupGuard baseline(true);
        fresh = device_rows_after_use(seed, refs);
      }
      SetupGuard pooled(false);
      { (void)device_rows_after_use(seed + 1000, refs); }  // dirties the pool
      ASSERT_GE(KeychainStore::idle_in_memory_stores(), 1u);
      EXPECT_EQ(device_rows_after_use(seed, refs), fresh) << "seed " << seed;
    }
  }
}

// Cases over every journey, target, switch and trait the runner takes, drawn from one seed.
std::vector<harness::JourneyCase> generated_cases(size_t n) {
  auto random = make_seeded_random(17);
  auto pick = [&random](size_t below) {
    uint8_t b[4];
    random->fill(b);
    return (static_cast<size_t>(b[0]) | static_cast<size_t>(b[1]) << 8 |
            static_cast<size_t>(b[2]) << 16) %
           below;
  };
  std::vector<harness::JourneyCase> cases;
  for (size_t i = 0; i < n; ++i) {
    harness::JourneyCase c;
    c.seed = i * 7919 + 3;
    c.settings.passcode = pick(4) != 0;
    c.settings.icloud_keychain =
        std::vector<Switch>{Switch::kOff, Switch::kOn, Switch::kUnspecified}[pick(3)];
    c.settings.persistent_refs = pick(2) ? PersistentRefKind::kUuid : PersistentRefKind::kRowid;
    c.settings.target_persistent_refs =
        pick(2) ? PersistentRefKind::kUuid : PersistentRefKind::kRowid;
    c.settings.sos = pick(4) == 0;
    c.journey = kAllJourneys[pick(std::size(kAllJourneys))];
    c.target = has_same_device_form(c.journey) ? kAllTargets[pick(std::size(kAllTargets))]
                                               : Target::kOtherDevice;
    c.password = "pw" + std::to_string(i);
    if (c.journey == Journey::kLocalEncrypted && pick(8) == 0) c.wrong_restore_password = "nope";
    const size_t items = 1 + pick(6);
    for (size_t k = 0; k < items; ++k) {
      harness::ItemSpec spec;
      spec.traits.accessible = kAllAccessibilities[pick(std::size(kAllAccessibilities))];
      spec.traits.item_class = kAllItemClasses[pick(std::size(kAllItemClasses))];
      spec.traits.synchronizable = pick(3) == 0;
      spec.traits.token = pick(8) == 0 ? Token::kSecureEnclave : Token::kNone;
      spec.traits.auth_constraint = pick(8) == 0;
      spec.traits.system_bound =
          pick(8) == 0 ? SystemBound::kPreserveDuringRestore : SystemBound::kNone;
      spec.account = "item-" + std::to_string(k);
      spec.secret = Bytes(pick(40), static_cast<uint8_t>(k));
      c.items.push_back(std::move(spec));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

bool same(const harness::JourneyResult& a, const harness::JourneyResult& b) {
  if (a.add_errors != b.add_errors || a.references != b.references ||
      a.target_accounts != b.target_accounts || a.restore_refused != b.restore_refused ||
      a.verdicts.size() != b.verdicts.size()) {
    return false;
  }
  for (size_t i = 0; i < a.verdicts.size(); ++i) {
    if (a.verdicts[i].outcome != b.verdicts[i].outcome || a.verdicts[i].road != b.verdicts[i].road)
      return false;
  }
  return true;
}

TEST(StorePool, JourneysGiveTheSameResultsWithTheBaselineSetUpAndTheNewOne) {
  const std::vector<harness::JourneyCase> cases = generated_cases(150);
  size_t icloud = 0;
  for (const harness::JourneyCase& c : cases) {
    std::optional<Result<harness::JourneyResult>> before;
    {
      SetupGuard baseline(true);
      before.emplace(harness::run_journey_case(c));
    }
    SetupGuard pooled(false);
    auto after = harness::run_journey_case(c);
    ASSERT_EQ(before->ok(), after.ok()) << "seed " << c.seed;
    if (!after.ok()) continue;
    EXPECT_TRUE(same(**before, *after)) << "seed " << c.seed;
    icloud += c.settings.icloud_keychain == Switch::kOn ? 1 : 0;
  }
  EXPECT_GT(icloud, 20u);  // the escrow KDF's cost was exercised both ways
}

// create_keybag fills the new bag's fields as it writes (issue 17) instead of parsing its own
// bytes: the bag must be exactly what parse_keybag makes of them, for every shape the engine
// writes.
void expect_same_records(const std::vector<KeybagRecord>& a, const std::vector<KeybagRecord>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tag, b[i].tag) << i;
    EXPECT_EQ(a[i].value, b[i].value) << a[i].tag;
    EXPECT_EQ(a[i].offset, b[i].offset) << a[i].tag;
  }
}

void expect_same_bag(const Keybag& built, const Keybag& parsed) {
  EXPECT_EQ(built.version, parsed.version);
  EXPECT_EQ(built.type_field, parsed.type_field);
  EXPECT_EQ(built.uuid, parsed.uuid);
  EXPECT_EQ(built.hmac_key, parsed.hmac_key);
  EXPECT_EQ(built.wrap, parsed.wrap);
  EXPECT_EQ(built.salt, parsed.salt);
  EXPECT_EQ(built.iterations, parsed.iterations);
  EXPECT_EQ(built.double_protection, parsed.double_protection);
  EXPECT_EQ(built.dp_wrap_type, parsed.dp_wrap_type);
  EXPECT_EQ(built.dp_iterations, parsed.dp_iterations);
  EXPECT_EQ(built.dp_salt, parsed.dp_salt);
  expect_same_records(built.header_records, parsed.header_records);
  ASSERT_EQ(built.classes.size(), parsed.classes.size());
  for (size_t i = 0; i < built.classes.size(); ++i) {
    const KeybagClass& a = built.classes[i];
    const KeybagClass& b = parsed.classes[i];
    EXPECT_EQ(a.uuid, b.uuid);
    EXPECT_EQ(a.class_number, b.class_number);
    EXPECT_EQ(a.wrap, b.wrap);
    EXPECT_EQ(a.key_type, b.key_type);
    EXPECT_EQ(a.wrapped_key, b.wrapped_key);
    EXPECT_EQ(a.offset, b.offset) << a.class_number;
    expect_same_records(a.records, b.records);
  }
}

TEST(KeybagWriter, ANewBagIsWhatParsingItsBytesGives) {
  const Bytes device_key(16, 0x35);
  const KeybagKdf kdfs[] = {{1, false, 0}, {10, true, 10}, {3, true, 7}};
  int bags = 0;
  for (const KeybagType type : {KeybagType::kSystem, KeybagType::kBackup, KeybagType::kEscrow}) {
    for (const KeybagKdf& kdf : kdfs) {
      for (uint32_t wraps = 0; wraps < 4; ++wraps) {
        std::vector<NewClassKey> classes;
        for (uint32_t c = 1; c <= 12; ++c) {
          // Every WRAP value, and a kept key now and then, across the classes.
          NewClassKey k{c, 1 + (c + wraps) % 3, std::nullopt};
          if (c % 5 == 0) k.key = SecretBytes(Bytes(kClassKeySize, static_cast<uint8_t>(c)));
          classes.push_back(std::move(k));
        }
        auto random = make_seeded_random(1000 + bags);
        auto made =
            create_keybag(type, classes, as_bytes("pw"), ByteView(device_key), kdf, *random);
        ASSERT_TRUE(made.ok()) << made.status().to_string();
        auto parsed = parse_keybag(serialize_keybag(made->bag));
        ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
        expect_same_bag(made->bag, *parsed);
        auto unlocked = unlock_keybag(*parsed, as_bytes("pw"), ByteView(device_key));
        ASSERT_TRUE(unlocked.ok()) << unlocked.status().to_string();
        for (const UnlockedClass& c : made->keys.classes) {
          ASSERT_NE(unlocked->key_for(c.class_number), nullptr);
          EXPECT_EQ(*unlocked->key_for(c.class_number), c.key);
        }
        ++bags;
      }
    }
  }
  EXPECT_EQ(bags, 36);
}

// write_manifest_db reuses a per-thread writer that holds the empty schema, and takes the image
// inside the rows' transaction before rolling it back (issue 17), instead of running the schema
// SQL and committing: the bytes must be exactly those of the old way, for small and large folders
// (overflow pages, interior pages), with and without properties, after a bigger write, and after
// a refused one.
ManifestDb manifest_of(size_t files, size_t blob_size, bool properties) {
  ManifestDb db;
  for (size_t i = 0; i < files; ++i) {
    db.files.push_back({"AppDomain-com.example." + std::to_string(i % 7),
                        "Library/f" + std::to_string(i), i % 3 == 0 ? 2u : 1u,
                        Bytes(blob_size + i % 13, static_cast<uint8_t>(i))});
  }
  if (properties) db.properties.push_back({"salt", Bytes(20, 9)});
  return db;
}

TEST(ManifestDbWriter, APooledWriterWritesTheSameBytes) {
  const ManifestDb cases[] = {manifest_of(0, 0, false), manifest_of(1, 200, false),
                              manifest_of(3, 5000, true), manifest_of(400, 300, true),
                              manifest_of(1, 200, false)};
  for (const ManifestDb& m : cases) {
    Bytes old_way;
    {
      SetupGuard baseline(true);
      auto bytes = write_manifest_db(m);
      ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
      old_way = *bytes;
    }
    SetupGuard fast(false);
    auto bytes = write_manifest_db(m);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    EXPECT_EQ(bytes->size(), old_way.size()) << m.files.size() << " files";
    for (size_t i = 0; i < std::min(bytes->size(), old_way.size()); ++i) {
      ASSERT_EQ((*bytes)[i], old_way[i])
          << m.files.size() << " files: first difference at byte " << i;
    }
    EXPECT_GE(idle_manifest_db_connections(), 1u) << "the writer was not kept";
    auto read = read_manifest_db(*bytes);
    ASSERT_TRUE(read.ok()) << read.status().to_string();
    EXPECT_EQ(*read, m);
  }
  // A refusal in the middle of the rows leaves the writer usable and empty.
  Bytes old_way;
  {
    SetupGuard baseline(true);
    old_way = *write_manifest_db(manifest_of(2, 10, false));
  }
  SetupGuard fast(false);
  ManifestDb twice = manifest_of(2, 10, false);
  twice.files[1] = twice.files[0];
  EXPECT_EQ(write_manifest_db(twice).status().code(), Code::kInvalidArgument);
  auto after = write_manifest_db(manifest_of(2, 10, false));
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_TRUE(*after == old_way);
}

}  // namespace
}  // namespace kcb
