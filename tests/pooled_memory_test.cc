// The pooled allocator of SQLite and OpenSSL (engine/pooled_memory.h), installed in this process
// before either library's first use, as the fuzz targets and the agreement property install it:
// every size asked for gets at least that many bytes, of its own; realloc keeps the contents; freed
// blocks are taken again instead of growing the lists; threads keep lists of their own; SQLite and
// OpenSSL work on it.
#include "engine/pooled_memory.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/setup_profile.h"

namespace kcb {
namespace {

const bool kInstalled = use_pooled_library_memory();

TEST(PooledMemory, IsInstalledBeforeEitherLibrarysFirstUse) {
  if (baseline_setup()) GTEST_SKIP() << "KCB_BASELINE_SETUP=1 keeps malloc";
  EXPECT_TRUE(kInstalled);
  EXPECT_TRUE(use_pooled_library_memory());  // a second call changes nothing
}

// Every block alive at once, each filled to its full requested size with its own pattern: a block
// smaller than asked for, or two blocks sharing bytes, shows as a changed pattern.
TEST(PooledMemory, EverySizeGetsItsOwnBytes) {
  std::vector<std::pair<uint8_t*, int>> blocks;
  for (int n = 1; n <= 9000; n += (n < 600 ? 1 : 37)) {
    auto* p = static_cast<uint8_t*>(sqlite3_malloc(n));
    ASSERT_NE(p, nullptr);
    ASSERT_GE(sqlite3_msize(p), static_cast<sqlite3_uint64>(n)) << n;
    std::memset(p, n & 0xff, static_cast<size_t>(n));
    blocks.emplace_back(p, n);
  }
  for (auto [p, n] : blocks) {
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(p[i], n & 0xff) << "size " << n << " byte " << i;
    sqlite3_free(p);
  }
}

TEST(PooledMemory, ReallocKeepsTheContentsAcrossClasses) {
  auto* p = static_cast<uint8_t*>(sqlite3_malloc(10));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 10; ++i)
    p[i] = static_cast<uint8_t>(i + 1);
  for (int n : {12, 16, 17, 300, 5000, 100000, 4097, 8192, 8193, 64, 10}) {
    p = static_cast<uint8_t*>(sqlite3_realloc(p, n));
    ASSERT_NE(p, nullptr);
    ASSERT_GE(sqlite3_msize(p), static_cast<sqlite3_uint64>(n));
    for (int i = 0; i < 10; ++i)
      ASSERT_EQ(p[i], i + 1) << "after realloc to " << n;
  }
  EXPECT_EQ(sqlite3_realloc(p, 0), nullptr);  // frees p
}

// A table of blobs of every class and past them, written and read back, in rounds of new
// connections: each round's blocks are the last round's (the lists stop growing).
size_t one_round() {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  EXPECT_EQ(
      sqlite3_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_stmt* put = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?, ?)", -1, &put, nullptr), SQLITE_OK);
  for (int k = 1; k <= 200; ++k) {
    const std::string v(static_cast<size_t>(k * 53), static_cast<char>('a' + k % 26));
    sqlite3_bind_int(put, 1, k);
    sqlite3_bind_blob(put, 2, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(put), SQLITE_DONE);
    sqlite3_reset(put);
  }
  sqlite3_finalize(put);
  sqlite3_stmt* get = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT k, v FROM t ORDER BY k", -1, &get, nullptr), SQLITE_OK);
  int rows = 0;
  while (sqlite3_step(get) == SQLITE_ROW) {
    const int k = sqlite3_column_int(get, 0);
    const std::string v(static_cast<const char*>(sqlite3_column_blob(get, 1)),
                        static_cast<size_t>(sqlite3_column_bytes(get, 1)));
    EXPECT_EQ(v, std::string(static_cast<size_t>(k * 53), static_cast<char>('a' + k % 26)));
    ++rows;
  }
  EXPECT_EQ(rows, 200);
  sqlite3_finalize(get);
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
  return pooled_blocks_idle();
}

TEST(PooledMemory, SqliteRunsOnItAndTheListsStopGrowing) {
  if (!kInstalled) GTEST_SKIP() << "not installed";
  const size_t first = one_round();
  EXPECT_GT(first, 0u);
  const size_t second = one_round();
  EXPECT_EQ(one_round(), second);
  EXPECT_LE(second, first + 16);
}

TEST(PooledMemory, ThreadsKeepListsOfTheirOwn) {
  if (!kInstalled) GTEST_SKIP() << "not installed";
  const size_t mine = pooled_blocks_idle();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([] {
      EXPECT_EQ(pooled_blocks_idle(), 0u);
      EXPECT_GT(one_round(), 0u);
    });
  }
  for (std::thread& t : threads)
    t.join();  // each thread's lists are freed as it ends
  EXPECT_EQ(pooled_blocks_idle(), mine);
}

// An OpenSSL context freed goes on the list, and the next one is that block again: a digest made
// on it is the digest.
TEST(PooledMemory, OpenSslRunsOnIt) {
  if (!kInstalled) GTEST_SKIP() << "not installed";
  std::thread([] {
    EXPECT_EQ(pooled_blocks_idle(), 0u);
    for (int round = 0; round < 3; ++round) {
      EVP_MD_CTX* ctx = EVP_MD_CTX_new();
      ASSERT_NE(ctx, nullptr);
      unsigned char digest[32];
      unsigned int n = 0;
      ASSERT_EQ(EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr), 1);
      ASSERT_EQ(EVP_DigestUpdate(ctx, "abc", 3), 1);
      ASSERT_EQ(EVP_DigestFinal_ex(ctx, digest, &n), 1);
      EVP_MD_CTX_free(ctx);
      EXPECT_EQ(n, 32u);
      EXPECT_EQ(digest[0], 0xba);  // SHA-256("abc") = ba7816bf...
      EXPECT_EQ(digest[31], 0xad);
      if (round == 0) continue;
      EXPECT_GT(pooled_blocks_idle(), 0u);
    }
  }).join();
}

}  // namespace
}  // namespace kcb
