// The rule table: one entry per primitive, checked by the compiler to be complete.
import type { PrimitiveTable } from "./types.js";
import { controlDefs } from "./control.js";
import { dotDefs } from "./dot.js";
import { elementwiseDefs } from "./elementwise.js";
import { indexingDefs } from "./indexing.js";
import { reduceDefs } from "./reduce.js";
import { shapeDefs } from "./shape.js";
import { stopGradientDefs } from "./stop_gradient.js";

let table: PrimitiveTable | undefined;

/** Built on first use, so that modules in the ops/bind import cycle are all initialised by then. */
export function primitiveTable(): PrimitiveTable {
  table ??= {
    ...elementwiseDefs,
    ...shapeDefs,
    ...reduceDefs,
    ...dotDefs,
    ...indexingDefs,
    ...controlDefs,
    ...stopGradientDefs,
  };
  return table;
}
