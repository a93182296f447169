// One dispatch thread per plugin for uploads, and the thread-safe function through which every promise about
// device work settles on the JS thread. Uploads start on the dispatch thread in submission order: a plugin may
// copy the host data during the call (ours does), which must not block the JS thread; why not libuv's pool:
// consecutive calls would land on different pool threads. The dispatch thread never waits for the device: work
// that returns a pending event settles from the event's PJRT_Event_OnReady callback (a plugin thread).
// Executions and reads to host do not pass through the thread: they start on the JS thread, where they are
// ordered with each other (a read before a later execution that donates the buffer), and settle through
// when_ready().
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "napi_util.h"

namespace grpo::addon {

class DispatchQueue {
 public:
  using Completion = PromiseWorker::Completion;
  // What a task's work returns: the completion, run on the JS thread once `pending` (when set) is ready;
  // `what` starts the message of the event's error.
  struct Result {
    Completion completion;
    std::shared_ptr<Event> pending;
    std::string what;
  };

  // The queue for `plugin`, started on first use; it lives as long as the JS environment.
  static DispatchQueue& of(Napi::Env env, const Plugin* plugin);
  // Stops every queue of `env`: the task running finishes, queued ones never start (the process is exiting).
  // Idempotent; a queue asked for afterwards accepts tasks but never runs them.
  static void stop_all(Napi::Env env);

  // Runs `work` on the queue's thread; the promise resolves with its completion (run on the JS thread) or
  // rejects with its PjrtError or its pending event's error. `keep` stays referenced until then.
  Napi::Promise submit(Napi::Env env, std::function<Result()> work, const std::vector<Napi::Value>& keep = {});

  // On the JS thread: a promise that resolves with `completion` once `event` is ready, or rejects with the
  // event's error (its message starting with `what`).
  Napi::Promise when_ready(Napi::Env env, std::shared_ptr<Event> event, Completion completion, const std::string& what);

 private:
  struct Task;
  DispatchQueue(Napi::Env env, const std::string& name);
  Task* new_task(Napi::Env env);
  void run();
  void wait_then_settle(Task* task, const std::string& what);
  void post(Task* task);
  void stop();
  static void settle(napi_env env, napi_value, void* context, void* data);

  napi_threadsafe_function settle_function_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task*> tasks_;
  std::set<Task*> waiting_;  // tasks whose event is not ready yet
  bool stopping_ = false;
  bool stopped_ = false;  // JS thread only
  bool closed_ = false;   // the thread-safe function is released: nothing may be posted any more
  int pending_ = 0;       // created and not yet settled; JS thread only
  std::thread thread_;
};

}  // namespace grpo::addon
