// Errors raised while tracing: they name the op and the shapes/dtypes involved.

export class ShapeError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceError";
  }
}
