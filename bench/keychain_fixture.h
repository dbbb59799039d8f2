// What the benchmarks share: realistic keychain items, in-memory devices and N-item backups built
// through the engine's public API, and the "floor" — the same per-item work done the fastest way
// we know with OpenSSL 3 and SQLite directly (ciphers fetched once, contexts reused, one prepared
// statement, one transaction). The floor measures our overhead, not OpenSSL's or SQLite's
// (shared/design/performance.md). Every benchmark prints our figure, the floor's and the ratio.
#pragma once

#include <openssl/evp.h>
#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/crypto.h"
#include "engine/keychain_store.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/device.h"
#include "kcbackup/random.h"

namespace kcb::bench {

inline constexpr uint64_t kSeed = 20240601;
inline constexpr const char* kPassword = "bench-password";

// Item i of a benchmark keychain: genp or inet, accessibility ak/ck/aku/cku (all exportable),
// unique account, ~200-byte plaintext dictionary.
NewItem bench_item(size_t i);

// The UID every benchmark device shares, so a backup restores onto a fresh device of the "same
// hardware" and ThisDeviceOnly items come back too.
Bytes bench_uid();
std::unique_ptr<Device> make_device(Random& random);
// A device holding bench_item(0..n-1).
std::unique_ptr<Device> make_populated_device(size_t n, Random& random);
// A local-encrypted backup with the tiny kFastKdf, so its keybag unlock costs microseconds.
BackupOptions bench_backup_options();

// CPU seconds consumed by the calling thread. The benchmarks time ours and the peer with it rather
// than the wall clock: on a shared machine with a load above its core count, wall time mostly
// measures how long the thread waited for a core. Everything timed here is single-threaded.
double thread_cpu_seconds();

// Aborts the benchmark with the status message: a benchmark on a broken engine measures nothing.
void check(const Status& st, const char* what);
template <typename T>
T take(Result<T> r, const char* what) {
  check(r.status(), what);
  return std::move(r).value();
}

// ---- the floor ----

inline constexpr size_t kKey = 32;
inline constexpr size_t kWrapped = 40;
inline constexpr size_t kTag = 16;

// RFC 3394 under one KEK the fastest way we know with OpenSSL 3: its own CRYPTO_128_wrap/unwrap
// (what the AES-WRAP cipher runs inside) on an AES-256-ECB context keyed once. The EVP AES-WRAP
// cipher itself costs ~2.7 us per call in provider set-up even with a reused context, four times
// the work, so it would make a floor slower than the engine.
class KeyWrapper {
 public:
  explicit KeyWrapper(const uint8_t* kek);
  ~KeyWrapper();
  KeyWrapper(const KeyWrapper&) = delete;
  KeyWrapper& operator=(const KeyWrapper&) = delete;

  bool unwrap(const uint8_t* wrapped, uint8_t* key_out) const;
  void wrap(const uint8_t* key, uint8_t* wrapped_out) const;

 private:
  EVP_CIPHER_CTX* enc_;
  EVP_CIPHER_CTX* dec_;
};

// AES-256-GCM through EVP, fetched once, one context per direction reused (a new key per item).
// It uses a 12-byte zero IV: EVP refuses the empty IV of Apple's format (the engine has to go
// through CRYPTO_gcm128 for it), and the cost per byte is the same.
class GcmFloor {
 public:
  GcmFloor();
  ~GcmFloor();
  GcmFloor(const GcmFloor&) = delete;
  GcmFloor& operator=(const GcmFloor&) = delete;

  bool open(const uint8_t* key, const uint8_t* ct, size_t n, const uint8_t* tag, uint8_t* pt);
  void seal(const uint8_t* key, const uint8_t* pt, size_t n, uint8_t* ct, uint8_t* tag);

 private:
  EVP_CIPHER* cipher_;
  EVP_CIPHER_CTX* enc_;
  EVP_CIPHER_CTX* dec_;
};

// The floor's blobs use the engine's v3 layout (version, keyclass, 40, wrapped key, ciphertext,
// tag); only the GCM IV differs (12 zero bytes instead of none).
Bytes seal_floor_blob(GcmFloor& gcm, uint32_t key_class, const KeyWrapper& class_key,
                      ByteView plaintext, Random& random);
uint32_t floor_blob_key_class(ByteView blob);
// The per-item crypto of a restore or a backup: unwrap the item key under in_key, GCM-open,
// GCM-seal under a fresh item key (the old one with its bits flipped: drawing it costs nothing
// here), wrap it under out_key. `out` must be blob.size() bytes; plaintext is scratch space of the
// same size as the ciphertext. False when the blob does not open.
bool reseal_floor_blob(GcmFloor& gcm, ByteView blob, const KeyWrapper& in_key,
                       const KeyWrapper& out_key, uint8_t* plaintext, uint8_t* out);

// An in-memory SQLite database with the engine's keychain table layout (genp, inet, cert, keys;
// the same columns and UNIQUE constraints), one prepared INSERT and SELECT per table.
class SqliteFloor {
 public:
  SqliteFloor();
  ~SqliteFloor();
  SqliteFloor(const SqliteFloor&) = delete;
  SqliteFloor& operator=(const SqliteFloor&) = delete;

  void begin();
  void commit();
  // The row's columns, `data` as given (bound without a copy).
  void insert(const KeychainRow& row, ByteView data);
  // Steps through every row of every table ordered by rowid, handing the row's data column to
  // `on_row` after reading all 17 columns as the engine does.
  template <typename F>
  void select_all(F&& on_row);

 private:
  void select_table(size_t table, void (*fn)(void*, ByteView), void* arg);
  sqlite3* db_ = nullptr;
  uint64_t columns_read_ = 0;  // keeps the column reads from being optimized away
  std::array<sqlite3_stmt*, 4> insert_{};
  std::array<sqlite3_stmt*, 4> select_{};
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
};

// The floor's copy of a device's items: the rows as the engine would store them and each item's
// plaintext sealed in a floor blob under the floor's own backup class keys; the device class keys
// are what a restore floor reseals to. Both key arrays are indexed by key class.
struct FloorCopy {
  std::vector<KeychainRow> rows;
  std::vector<Bytes> blobs;
  std::array<std::unique_ptr<KeyWrapper>, 16> backup_class_keys;
  std::array<std::unique_ptr<KeyWrapper>, 16> device_class_keys;
};
FloorCopy make_floor_copy(const Device& source, Random& random);
// The restore floor's work: every blob resealed from its backup class key to its device class key
// and inserted into `db`, in one transaction. The caller times it.
void restore_floor_copy(const FloorCopy& copy, GcmFloor& gcm, SqliteFloor& db);

// The main of a benchmark program whose item counts KCB_BENCH_MAX_ITEMS (default 1,000,000) caps,
// for a quick run: registers through `register_up_to(cap)`, runs, returns the exit code.
int run_capped_benchmarks(int argc, char** argv, void (*register_up_to)(size_t max_items));

template <typename F>
void SqliteFloor::select_all(F&& on_row) {
  for (size_t t = 0; t < 4; ++t) {
    select_table(
        t, [](void* arg, ByteView data) { (*static_cast<F*>(arg))(data); }, &on_row);
  }
}

}  // namespace kcb::bench
