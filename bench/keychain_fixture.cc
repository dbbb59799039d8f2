// See keychain_fixture.h. The floor's schema copies the engine's (engine/keychain_store.cc) so
// that both insert into the same table shape: same columns, same UNIQUE index per class.
#include "bench/keychain_fixture.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include <benchmark/benchmark.h>
#include <openssl/modes.h>

#include "engine/device_internals.h"
#include "kcbackup/names.h"

namespace kcb::bench {
namespace {

constexpr Accessibility kMix[] = {Accessibility::kWhenUnlocked, Accessibility::kAfterFirstUnlock,
                                  Accessibility::kWhenUnlockedThisDeviceOnly,
                                  Accessibility::kAfterFirstUnlockThisDeviceOnly};

void die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) die(what);
}

}  // namespace

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void check(const Status& st, const char* what) {
  if (!st.ok()) die(std::string(what) + ": " + st.message());
}

NewItem bench_item(size_t i) {
  NewItem n;
  n.item_class = (i / 4) % 2 == 0 ? ItemClass::kGenp : ItemClass::kInet;
  n.accessible = kMix[i % 4];
  n.account = "user" + std::to_string(i) + "@example.com";
  n.service = "com.example.app." + std::to_string(i % 97);
  n.access_group = "ABCDE12345.com.example.shared";
  n.label = "Example account " + std::to_string(i);
  SecretBytes secret(48);
  for (size_t k = 0; k < secret.size(); ++k)
    secret.data()[k] = static_cast<uint8_t>(i * 31 + k);
  n.secret = std::move(secret);
  return n;
}

Bytes bench_uid() {
  Bytes uid(kUidSize);
  for (size_t k = 0; k < uid.size(); ++k)
    uid[k] = static_cast<uint8_t>(0xA0 + k);
  return uid;
}

std::unique_ptr<Device> make_device(Random& random) {
  DeviceConfig config;
  config.uid = bench_uid();
  return take(Device::create_in_memory(config, random), "create device");
}

std::unique_ptr<Device> make_populated_device(size_t n, Random& random) {
  std::unique_ptr<Device> d = make_device(random);
  check(DeviceInternals::store(*d).begin(), "begin");
  for (size_t i = 0; i < n; ++i)
    check(d->add(bench_item(i), random).status(), "add");
  check(DeviceInternals::store(*d).commit(), "commit");
  return d;
}

BackupOptions bench_backup_options() {
  return BackupOptions{Journey::kLocalEncrypted, kPassword, kFastKdf};
}

// ---- the floor's crypto ----

namespace {

const EVP_CIPHER* aes256_ecb() {
  static EVP_CIPHER* const kEcb = EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr);
  return kEcb;
}

EVP_CIPHER_CTX* new_ecb(const uint8_t* key, int encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  require(ctx != nullptr && aes256_ecb() != nullptr &&
              EVP_CipherInit_ex2(ctx, aes256_ecb(), key, nullptr, encrypt, nullptr) == 1,
          "floor: ECB set-up");
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  return ctx;
}

void ecb_block(const unsigned char in[16], unsigned char out[16], const void* ctx) {
  int n = 0;
  EVP_CipherUpdate(static_cast<EVP_CIPHER_CTX*>(const_cast<void*>(ctx)), out, &n, in, 16);
}

}  // namespace

KeyWrapper::KeyWrapper(const uint8_t* kek) : enc_(new_ecb(kek, 1)), dec_(new_ecb(kek, 0)) {}

KeyWrapper::~KeyWrapper() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

bool KeyWrapper::unwrap(const uint8_t* wrapped, uint8_t* key_out) const {
  return CRYPTO_128_unwrap(dec_, nullptr, key_out, wrapped, kWrapped, ecb_block) == kKey;
}

void KeyWrapper::wrap(const uint8_t* key, uint8_t* wrapped_out) const {
  require(CRYPTO_128_wrap(enc_, nullptr, wrapped_out, key, kKey, ecb_block) == kWrapped,
          "floor: wrap");
}

GcmFloor::GcmFloor()
    : cipher_(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)),
      enc_(EVP_CIPHER_CTX_new()),
      dec_(EVP_CIPHER_CTX_new()) {
  static const uint8_t kZeroKey[kKey] = {};
  static const uint8_t kZeroIv[12] = {};
  // Bind each context to its cipher once; per item only the key and IV change.
  require(cipher_ && enc_ && dec_ &&
              EVP_CipherInit_ex2(enc_, cipher_, kZeroKey, kZeroIv, 1, nullptr) == 1 &&
              EVP_CipherInit_ex2(dec_, cipher_, kZeroKey, kZeroIv, 0, nullptr) == 1,
          "floor: GCM set-up");
}

GcmFloor::~GcmFloor() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
  EVP_CIPHER_free(cipher_);
}

bool GcmFloor::open(const uint8_t* key, const uint8_t* ct, size_t len, const uint8_t* tag,
                    uint8_t* pt) {
  static const uint8_t kZeroIv[12] = {};
  int n = 0;
  int tail = 0;
  return EVP_CipherInit_ex2(dec_, nullptr, key, kZeroIv, 0, nullptr) == 1 &&
         EVP_CipherUpdate(dec_, pt, &n, ct, static_cast<int>(len)) == 1 &&
         EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_AEAD_SET_TAG, kTag, const_cast<uint8_t*>(tag)) == 1 &&
         EVP_CipherFinal_ex(dec_, pt + n, &tail) == 1;
}

void GcmFloor::seal(const uint8_t* key, const uint8_t* pt, size_t len, uint8_t* ct, uint8_t* tag) {
  static const uint8_t kZeroIv[12] = {};
  int n = 0;
  int tail = 0;
  require(EVP_CipherInit_ex2(enc_, nullptr, key, kZeroIv, 1, nullptr) == 1 &&
              EVP_CipherUpdate(enc_, ct, &n, pt, static_cast<int>(len)) == 1 &&
              EVP_CipherFinal_ex(enc_, ct + n, &tail) == 1 &&
              EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_AEAD_GET_TAG, kTag, tag) == 1,
          "floor: GCM seal");
}

namespace {

constexpr size_t kHeader = 12;

}  // namespace

Bytes seal_floor_blob(GcmFloor& gcm, uint32_t key_class, const KeyWrapper& class_key,
                      ByteView plaintext, Random& random) {
  Bytes out(kHeader + kWrapped + plaintext.size() + kTag);
  store_le32(out.data(), 3);
  store_le32(out.data() + 4, key_class);
  store_le32(out.data() + 8, kWrapped);
  uint8_t item_key[kKey];
  random.fill(item_key);
  class_key.wrap(item_key, out.data() + kHeader);
  gcm.seal(item_key, plaintext.data(), plaintext.size(), out.data() + kHeader + kWrapped,
           out.data() + out.size() - kTag);
  return out;
}

uint32_t floor_blob_key_class(ByteView blob) {
  return blob[4] & 0xF;
}

bool reseal_floor_blob(GcmFloor& gcm, ByteView blob, const KeyWrapper& in_key,
                       const KeyWrapper& out_key, uint8_t* plaintext, uint8_t* out) {
  if (blob.size() < kHeader + kWrapped + kTag) return false;
  const size_t n = blob.size() - kHeader - kWrapped - kTag;
  uint8_t item_key[kKey];
  if (!in_key.unwrap(blob.data() + kHeader, item_key)) return false;
  if (!gcm.open(item_key, blob.data() + kHeader + kWrapped, n, blob.data() + blob.size() - kTag,
                plaintext)) {
    return false;
  }
  for (uint8_t& b : item_key)
    b ^= 0xFF;
  std::copy(blob.data(), blob.data() + kHeader, out);
  gcm.seal(item_key, plaintext, n, out + kHeader + kWrapped, out + blob.size() - kTag);
  out_key.wrap(item_key, out + kHeader);
  return true;
}

// ---- SqliteFloor ----

namespace {

constexpr const char* kColumns =
    "rowid, cdat, mdat, labl, agrp, acct, svce, srvr, ptcl, port, path, pdmn, sync, tkid, sysb, "
    "accc, data";

std::string unique_columns(ItemClass c) {
  switch (c) {
    case ItemClass::kGenp:
      return "acct, svce, agrp, sync, tkid";
    case ItemClass::kInet:
      return "acct, srvr, ptcl, port, path, agrp, sync, tkid";
    default:
      return "labl, agrp, sync, tkid";
  }
}

std::string create_table_sql(ItemClass c) {
  return "CREATE TABLE " + std::string(name_of(c)) +
         " (rowid INTEGER PRIMARY KEY,"
         " cdat INTEGER NOT NULL DEFAULT 0, mdat INTEGER NOT NULL DEFAULT 0,"
         " labl TEXT NOT NULL DEFAULT '', agrp TEXT NOT NULL DEFAULT '',"
         " acct BLOB NOT NULL DEFAULT x'', svce BLOB NOT NULL DEFAULT x'',"
         " srvr TEXT NOT NULL DEFAULT '', ptcl INTEGER NOT NULL DEFAULT 0,"
         " port INTEGER NOT NULL DEFAULT 0, path TEXT NOT NULL DEFAULT '',"
         " pdmn TEXT NOT NULL, sync INTEGER NOT NULL DEFAULT 0, tkid TEXT NOT NULL DEFAULT '',"
         " sysb INTEGER NOT NULL DEFAULT 0, accc INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL,"
         " UNIQUE (" +
         unique_columns(c) + "));";
}

sqlite3_stmt* prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  require(
      sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) == SQLITE_OK,
      "floor: prepare");
  return s;
}

void step_done(sqlite3_stmt* s) {
  require(sqlite3_step(s) == SQLITE_DONE, "floor: step");
  sqlite3_reset(s);
}

void bind_blob(sqlite3_stmt* s, int i, ByteView v) {
  sqlite3_bind_blob(s, i, v.empty() ? "" : static_cast<const void*>(v.data()),
                    static_cast<int>(v.size()), SQLITE_STATIC);
}

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

}  // namespace

SqliteFloor::SqliteFloor() {
  // NOMUTEX, as the engine's own connections: one thread, no connection mutex.
  require(sqlite3_open_v2(":memory:", &db_,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                          nullptr) == SQLITE_OK,
          "floor: open");
  std::string schema;
  for (ItemClass c : kAllItemClasses)
    schema += create_table_sql(c);
  require(sqlite3_exec(db_, schema.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK,
          "floor: schema");
  std::string placeholders = "?1";
  for (int i = 2; i <= 17; ++i)
    placeholders += ", ?" + std::to_string(i);
  for (ItemClass c : kAllItemClasses) {
    const std::string t(name_of(c));
    const size_t k = static_cast<size_t>(c);
    insert_[k] =
        prepare(db_, "INSERT INTO " + t + " (" + kColumns + ") VALUES (" + placeholders + ")");
    select_[k] = prepare(db_, "SELECT " + std::string(kColumns) + " FROM " + t + " ORDER BY rowid");
  }
  begin_ = prepare(db_, "BEGIN IMMEDIATE");
  commit_ = prepare(db_, "COMMIT");
}

SqliteFloor::~SqliteFloor() {
  for (size_t k = 0; k < 4; ++k) {
    sqlite3_finalize(insert_[k]);
    sqlite3_finalize(select_[k]);
  }
  sqlite3_finalize(begin_);
  sqlite3_finalize(commit_);
  sqlite3_close(db_);
}

void SqliteFloor::begin() {
  step_done(begin_);
}

void SqliteFloor::commit() {
  step_done(commit_);
}

void SqliteFloor::insert(const KeychainRow& r, ByteView data) {
  sqlite3_stmt* s = insert_[static_cast<size_t>(r.item_class)];
  sqlite3_bind_null(s, 1);
  sqlite3_bind_int64(s, 2, r.cdat.unix_millis);
  sqlite3_bind_int64(s, 3, r.mdat.unix_millis);
  bind_text(s, 4, r.labl);
  bind_text(s, 5, r.agrp);
  bind_blob(s, 6, r.acct);
  bind_blob(s, 7, r.svce);
  bind_text(s, 8, r.srvr);
  sqlite3_bind_int64(s, 9, r.ptcl);
  sqlite3_bind_int64(s, 10, r.port);
  bind_text(s, 11, r.path);
  bind_text(s, 12, names_of(r.pdmn).pdmn);
  sqlite3_bind_int(s, 13, r.sync ? 1 : 0);
  bind_text(s, 14, r.tkid);
  sqlite3_bind_int64(s, 15, r.sysb);
  sqlite3_bind_int(s, 16, r.accc ? 1 : 0);
  bind_blob(s, 17, data);
  step_done(s);
}

void SqliteFloor::select_table(size_t table, void (*fn)(void*, ByteView), void* arg) {
  sqlite3_stmt* s = select_[table];
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    // Touch every column as a reader of the row must; only `data` goes on.
    for (int i : {0, 1, 2, 8, 9, 12, 14, 15})
      columns_read_ += static_cast<uint64_t>(sqlite3_column_int64(s, i));
    for (int i : {3, 4, 5, 6, 7, 10, 11, 13}) {
      columns_read_ += reinterpret_cast<uintptr_t>(sqlite3_column_blob(s, i));
      columns_read_ += static_cast<uint64_t>(sqlite3_column_bytes(s, i));
    }
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s, 16));
    fn(arg, ByteView(p, static_cast<size_t>(sqlite3_column_bytes(s, 16))));
  }
  require(rc == SQLITE_DONE, "floor: select");
  sqlite3_reset(s);
}

FloorCopy make_floor_copy(const Device& source, Random& random) {
  FloorCopy copy;
  for (size_t k = 0; k < copy.backup_class_keys.size(); ++k) {
    uint8_t key[kKey];
    random.fill(key);
    copy.backup_class_keys[k] = std::make_unique<KeyWrapper>(key);
    random.fill(key);
    copy.device_class_keys[k] = std::make_unique<KeyWrapper>(key);
  }
  GcmFloor gcm;
  for (const StoredItem& s : take(source.list(), "list")) {
    SecretBytes plaintext = take(s.item.encode(), "encode");
    const uint32_t kc = names_of(s.item.accessibility()).key_class;
    copy.blobs.push_back(
        seal_floor_blob(gcm, kc, *copy.backup_class_keys[kc], plaintext.view(), random));
    copy.rows.push_back(keychain_row_for(s.item, {}));
  }
  return copy;
}

void restore_floor_copy(const FloorCopy& copy, GcmFloor& gcm, SqliteFloor& db) {
  Bytes plaintext(4096);
  Bytes out(4096);
  db.begin();
  for (size_t i = 0; i < copy.blobs.size(); ++i) {
    const Bytes& blob = copy.blobs[i];
    const uint32_t kc = floor_blob_key_class(blob);
    if (blob.size() > out.size()) out.resize(blob.size()), plaintext.resize(blob.size());
    if (!reseal_floor_blob(gcm, blob, *copy.backup_class_keys[kc], *copy.device_class_keys[kc],
                           plaintext.data(), out.data())) {
      check(Status::DataLoss("floor blob does not open"), "restore floor");
    }
    db.insert(copy.rows[i], ByteView(out.data(), blob.size()));
  }
  db.commit();
}

int run_capped_benchmarks(int argc, char** argv, void (*register_up_to)(size_t max_items)) {
  const char* cap = std::getenv("KCB_BENCH_MAX_ITEMS");
  register_up_to(cap != nullptr ? std::stoull(cap) : 1'000'000);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace kcb::bench
