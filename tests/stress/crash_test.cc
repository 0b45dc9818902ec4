// A child process applies random operations to a store and acknowledges each
// one on a pipe; the parent kills it with SIGKILL after a random number of
// acknowledgments, reopens the store and requires Check to find nothing.
// The kill point is chosen by counting acknowledgments, not by time.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "random_ops.h"
#include "refstore/store.h"

namespace refstore {
namespace {

constexpr char kChildFlag[] = "--crash-child=";

// The child: `arg` is "<dir>:<seed>:<first step>". Never returns.
[[noreturn]] void ChildMain(const std::string& arg) {
  size_t a = arg.rfind(':', arg.rfind(':') - 1), b = arg.rfind(':');
  std::string dir = arg.substr(0, a);
  uint64_t seed = std::stoull(arg.substr(a + 1, b - a - 1));
  int64_t step = std::stoll(arg.substr(b + 1));
  auto store = Store::Open(dir, {.prune_batch = 3});  // prunes of several batches
  if (!store.ok()) {
    std::fprintf(stderr, "child: %s\n", store.status().ToString().c_str());
    _exit(3);
  }
  stress::RandomOps ops(store->get(), seed);
  for (int i = 0; i < 1000000; ++i) {
    absl::Status s = ops.Step(step + i);
    if (!stress::RandomOps::Expected(s)) {
      std::fprintf(stderr, "child: unexpected %s\n", s.ToString().c_str());
      _exit(4);
    }
    char ack = 'a';
    if (write(STDOUT_FILENO, &ack, 1) != 1) _exit(5);
  }
  _exit(0);
}

TEST(CrashTest, KilledAtRandomMomentsTheStoreStaysConsistent) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("refstore-crash-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  std::mt19937_64 rng(seed);
  constexpr int kKills = 60;
  int64_t step = 0;
  for (int round = 0; round < kKills; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::string arg = std::string(kChildFlag) + dir.string() + ":" + std::to_string(seed + round) +
                      ":" + std::to_string(step);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl("/proc/self/exe", "crash_test", arg.c_str(), static_cast<char*>(nullptr));
      _exit(6);
    }
    close(fds[1]);
    const int acks_wanted = 1 + static_cast<int>(rng() % 150);
    int acks = 0;
    char buf;
    while (acks < acks_wanted && read(fds[0], &buf, 1) == 1) ++acks;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ASSERT_EQ(acks, acks_wanted) << "child ended early, status " << status << " (seed " << seed
                                 << ", round " << round << ")";
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    step += acks + 1;

    auto store = Store::Open(dir.string(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    auto problems = (*store)->Check();
    ASSERT_TRUE(problems.ok()) << problems.status();
    for (const auto& p : refstore::Faults(*problems)) {
      ADD_FAILURE() << "seed " << seed << " round " << round << ": " << p.category << " "
                    << p.subject << " " << p.detail;
    }
    if (!problems->empty()) break;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace refstore

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], refstore::kChildFlag, std::strlen(refstore::kChildFlag)) == 0) {
      refstore::ChildMain(argv[i] + std::strlen(refstore::kChildFlag));
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
