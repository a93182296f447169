// One dispatch thread per plugin: executions and transfers run there in submission order, and their promises
// settle on the JS thread through a thread-safe function. Why not libuv's pool: consecutive calls would land on
// different pool threads, and a BLAS library called from a new thread each time loses its warm per-thread
// buffers (our CPU plugin measured 15-20% slower at 1024^2 matmuls); one thread also keeps executions FIFO.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "napi_util.h"

namespace grpo::addon {

class DispatchQueue {
 public:
  using Completion = PromiseWorker::Completion;

  // The queue for `plugin`, started on first use; it lives as long as the JS environment.
  static DispatchQueue& of(Napi::Env env, const Plugin* plugin);
  // Stops every queue of `env`: the task running finishes, queued ones never start (the process is exiting).
  // Idempotent; a queue asked for afterwards accepts tasks but never runs them.
  static void stop_all(Napi::Env env);

  // Runs `work` on the queue's thread; the promise resolves with `work`'s completion (run on the JS thread) or
  // rejects with its PjrtError, after `on_failure` ran on the JS thread. `keep` stays referenced until then.
  Napi::Promise submit(Napi::Env env, std::function<Completion()> work, std::function<void(Napi::Env)> on_failure = nullptr,
                       const std::vector<Napi::Value>& keep = {});

 private:
  struct Task;
  DispatchQueue(Napi::Env env, const std::string& name);
  void run();
  void stop();
  static void settle(napi_env env, napi_value, void* context, void* data);

  napi_threadsafe_function settle_function_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task*> tasks_;
  bool stopping_ = false;
  bool stopped_ = false;  // JS thread only
  int pending_ = 0;  // submitted and not yet settled; JS thread only
  std::thread thread_;
};

}  // namespace grpo::addon
