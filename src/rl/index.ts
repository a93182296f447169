// The GRPO building blocks, public as `rl`: advantages, the policy loss and its pieces, completion masks,
// per-token logprobs and entropies from logits or hidden states, text rewards, and the compiled LoRA train step.
export * from "./advantages.js";
export * from "./loss_pieces.js";
export * from "./grpo_loss.js";
export * from "./masks.js";
export * from "./rewards.js";
export {
  type ChunkMethod,
  type ChunkOptions,
  type HeadVjpOptions,
  type LogitsDtype,
  logprobsAndEntropyFromHidden,
  logprobsFromHidden,
  logprobsFromHiddenVjp,
  logprobsFromLogits,
  maskedMeanEntropy,
  tokenEntropy,
} from "../../kernels/logprobs.js";
export { maskedMean } from "../../kernels/masked.js";
export * from "./train_step.js";
export * from "./trainer_common.js";
export * from "./trainer_state.js";
export * from "./trainer_loop.js";
export * from "./grpo_trainer.js";
