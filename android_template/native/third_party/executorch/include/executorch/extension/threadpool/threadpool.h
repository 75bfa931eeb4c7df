/*
 * Copyright (c) Meta Platforms, Inc. and affiliates.
 * All rights reserved.
 *
 * This source code is licensed under the BSD-style license found in the
 * LICENSE file in the root directory of this source tree.
 */

// From pytorch/executorch extension/threadpool/threadpool.h (BSD, see ../../../../LICENSE). The pip wheel ships
// libexecutorch_threadpool.so but not this header; mobilesdk vendors the declarations it calls. The only
// change: pthreadpool.h (not shipped) is replaced by the two declarations of it that this class uses.

#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include <executorch/runtime/core/function_ref.h>

// From pthreadpool.h (Maratyszcza/pthreadpool, BSD).
typedef struct pthreadpool* pthreadpool_t;
extern "C" void pthreadpool_destroy(pthreadpool_t threadpool);

namespace executorch::extension::threadpool {

class ThreadPool final {
 public:
  explicit ThreadPool(size_t thread_count = 0);
  ~ThreadPool() = default;

  // Make threadpool non copyable
  // Non-copyable: threadpool cannot be copied because it will
  // effectively require cloning of threadpool.
  // Cloning can be done by just calling create_thread_pool.
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Make threadpool non-movable.
  ThreadPool(ThreadPool&&) = delete;
  ThreadPool& operator=(ThreadPool&&) = delete;

  size_t get_thread_count() const;

  /**
   * INTERNAL: Resets the threadpool by creating a new threadpool with requested
   * # of threads. This is not a thread safe call. When calling this method,
   * threads of the threadpool might be doing some work. Some other code may
   * also be holding on to the threadpool pointer, that is no longer valid. This
   * is a private API, which will later be replaced by something that allows
   * creating of threadpool with requested size and use such a threadpool with
   * backend delegates, custom ops or optimized lib.
   */
  [[deprecated(
      "This API is experimental and may change without notice. Consider using UseNThreadsThreadPoolGuard")]]
  bool _unsafe_reset_threadpool(uint32_t num_threads);

  /**
   * INTERNAL: Destroys the threadpool. This is not a thread safe call. When
   * calling this method, threads of the threadpool might be doing some work.
   * Some other code may also be holding on to the threadpool pointer, that is
   * no longer valid.
   */
  [[deprecated("This API is experimental and may change without notice.")]]
  void _unsafe_destroy_threadpool();

  /**
   * Run, in parallel, function fn(task_id) over task_id in range [0, range).
   * This function is blocking.  All input is processed by the time it returns.
   */
  void run(runtime::FunctionRef<void(size_t)> fn, size_t range);

 private:
  friend pthreadpool_t get_pthreadpool();

 private:
  mutable std::mutex mutex_;
  std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)> threadpool_;
};

/**
 * Returns the singleton instance of ThreadPool for ATen/TH multithreading.
 */
ThreadPool* get_threadpool();

/**
 * Returns the underlying pthreadpool instance used by the implementation of
 * ThreadPool returned by `get_threadpool()`.
 */
pthreadpool_t get_pthreadpool();

}  // namespace executorch::extension::threadpool
