// mutex.h: a mutex whose use clang's thread-safety analysis checks.
//
// std::mutex (pthread underneath), not absl::Mutex: ThreadSanitizer sees
// pthread locking even though Debian's Abseil is not built with it. The
// wrapper only adds the annotations (absl/base/thread_annotations.h) that let
// `clang -Wthread-safety` check that members marked ABSL_GUARDED_BY(mu) are
// touched with `mu` held, and that functions marked
// ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) / ABSL_LOCKS_EXCLUDED(mu) are called so.
//
// Example:
//   Mutex mu_;
//   int n_ ABSL_GUARDED_BY(mu_) = 0;
//   void Add() ABSL_LOCKS_EXCLUDED(mu_) { MutexLock lock(mu_); ++n_; }
#ifndef REFSTORE_UTIL_MUTEX_H_
#define REFSTORE_UTIL_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace refstore::internal {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Takes the mutex if it is free; true when it did.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }
  // Tells the analysis that the caller holds the mutex, where it cannot see it
  // (inside a lambda called while the mutex is held). Checks nothing at run
  // time: std::mutex does not know its owner.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace refstore::internal

#endif  // REFSTORE_UTIL_MUTEX_H_
