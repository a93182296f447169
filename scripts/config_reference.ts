// npm run docs:config: rewrites docs/CONFIG.md from the config schema and the recipes.
import { writeFileSync } from "node:fs";
import { configReference } from "../src/train/config_reference.js";

writeFileSync(new URL("../docs/CONFIG.md", import.meta.url), configReference());
