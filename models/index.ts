// The model side of the public API: Gemma3 (configs, parameter tree, forward and decode, initialisation, the
// compiled sampler, Hugging Face checkpoints), LoRA, and the safetensors format.
export * as gemma3 from "./gemma3/index.js";
export * as lora from "./lora.js";
export * as safetensors from "./safetensors.js";
