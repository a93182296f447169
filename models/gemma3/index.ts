// Gemma3: configs and presets, the parameter tree and weight table, the model, random init, the compiled sampler,
// and Hugging Face model directories.
export * from "./config.js";
export * from "./params.js";
export * from "./model.js";
export * from "./init.js";
export * from "./sampler.js";
export * from "./weights.js";
