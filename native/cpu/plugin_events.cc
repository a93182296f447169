// Events and the execution queue of our CPU PJRT plugin. Executions run on a worker thread per client, so
// their events complete there, later than the call that returned them: PJRT_Event_Await blocks,
// PJRT_Event_OnReady calls back from the worker (or at once when the event is ready already), and a failure
// travels in the event to whoever waits for it.
#include "plugin_internal.h"

namespace grpo::cpu::plugin {

// ------------------------------------------------------------------------------------------------ EventState

std::shared_ptr<EventState> EventState::completed(PJRT_Error_Code code, std::string message) {
  auto state = std::make_shared<EventState>();
  state->complete(code, std::move(message));
  return state;
}

void EventState::complete(PJRT_Error_Code code, std::string message) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ready_) return;
    code_ = code;
    message_ = std::move(message);
    ready_ = true;
    callbacks.swap(callbacks_);
  }
  done_.notify_all();
  // Outside the lock: a callback may register another one or query this event.
  for (auto& callback : callbacks) callback();
}

void EventState::on_ready(std::function<void()> callback) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!ready_) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

void EventState::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return ready_; });
}

bool EventState::is_ready() {
  std::lock_guard<std::mutex> lock(mutex_);
  return ready_;
}

PJRT_Event* new_event(std::shared_ptr<EventState> state) { return new PJRT_Event{std::move(state)}; }

PJRT_Event* new_ready_event() { return new_event(EventState::completed()); }

// ------------------------------------------------------------------------------------------------ queue

ExecutionQueue::ExecutionQueue() : thread_([this] { run(); }) {}

ExecutionQueue::~ExecutionQueue() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void ExecutionQueue::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void ExecutionQueue::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every job submitted has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();  // jobs report their own failures through their events and never throw
  }
}

namespace {

// ------------------------------------------------------------------------------------------------ slots

// The error an event carries, once it is ready (a new PJRT_Error the caller owns), or null.
PJRT_Error* error_of(const EventState& state) {
  if (state.code() == PJRT_Error_Code_OK) return nullptr;
  return make_error(state.code(), state.message());
}

PJRT_Error* Event_Destroy(PJRT_Event_Destroy_Args* args) {
  return guarded("PJRT_Event_Destroy", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Event_Destroy_Args, event), [&] {
    delete args->event;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Event_IsReady(PJRT_Event_IsReady_Args* args) {
  return guarded("PJRT_Event_IsReady", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Event_IsReady_Args, is_ready), [&] {
    if (args->event == nullptr) return make_error(PJRT_Error_Code_INVALID_ARGUMENT, "PJRT_Event_IsReady: event is null");
    args->is_ready = args->event->state->is_ready();
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Event_Error(PJRT_Event_Error_Args* args) {
  return guarded("PJRT_Event_Error", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Event_Error_Args, event), [&] {
    if (args->event == nullptr) return make_error(PJRT_Error_Code_INVALID_ARGUMENT, "PJRT_Event_Error: event is null");
    EventState& state = *args->event->state;
    if (!state.is_ready()) {
      return make_error(PJRT_Error_Code_FAILED_PRECONDITION,
                        "PJRT_Event_Error: the event is not ready yet (check PJRT_Event_IsReady first)");
    }
    return error_of(state);
  });
}

PJRT_Error* Event_Await(PJRT_Event_Await_Args* args) {
  return guarded("PJRT_Event_Await", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Event_Await_Args, event), [&] {
    if (args->event == nullptr) return make_error(PJRT_Error_Code_INVALID_ARGUMENT, "PJRT_Event_Await: event is null");
    EventState& state = *args->event->state;
    state.wait();
    return error_of(state);
  });
}

PJRT_Error* Event_OnReady(PJRT_Event_OnReady_Args* args) {
  return guarded("PJRT_Event_OnReady", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Event_OnReady_Args, user_arg), [&] {
    if (args->event == nullptr || args->callback == nullptr) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT, "PJRT_Event_OnReady: event and callback must be set");
    }
    // The state, not the PJRT_Event: the caller may destroy the event before the work completes.
    std::shared_ptr<EventState> state = args->event->state;
    PJRT_Event_OnReadyCallback callback = args->callback;
    void* user_arg = args->user_arg;
    state->on_ready([state_ptr = state.get(), callback, user_arg] { callback(error_of(*state_ptr), user_arg); });
    return static_cast<PJRT_Error*>(nullptr);
  });
}

}  // namespace

void install_event_slots(PJRT_Api& api) {
  api.PJRT_Event_Destroy = Event_Destroy;
  api.PJRT_Event_IsReady = Event_IsReady;
  api.PJRT_Event_Error = Event_Error;
  api.PJRT_Event_Await = Event_Await;
  api.PJRT_Event_OnReady = Event_OnReady;
}

}  // namespace grpo::cpu::plugin
