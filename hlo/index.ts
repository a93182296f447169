export * from "./types.js";
export * from "./attributes.js";
export * from "./builder.js";
export * from "./versions.js";
