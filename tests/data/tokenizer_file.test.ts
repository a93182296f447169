// A user's tokenizer.json by path: a small BPE tokenizer in the Hugging Face format, written out in this file,
// encodes to the ids its merges dictate; then thousands of mutations of it go through the loader, which must
// either load or fail with a TokenizerError naming the file (no other throw, no hang).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeChat } from "../../src/data/chat.js";
import { TokenizerError, loadTokenizer, tokenizerFromJson } from "../../src/data/tokenizer.js";
import { makeRng } from "../helpers/arrays.js";

const dir = mkdtempSync(join(tmpdir(), "tokenizer-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"];
const CHARS = [..."abcdefghijklmnopqrstuvwxyz", "▁", "\n", ",", "!"];
const MERGES: [string, string][] = [
  ["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["▁", "w"], ["o", "r"], ["▁w", "or"], ["l", "d"], ["▁wor", "ld"],
];

/** A Gemma-style BPE tokenizer.json: spaces become "▁", specials are added tokens, merges build two words. */
function smallTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (const token of [...SPECIALS, ...CHARS, ...MERGES.map(([a, b]) => a + b)]) vocab[token] = Object.keys(vocab).length;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: "Replace", pattern: { String: " " }, content: "▁" },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "Fuse" }] },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", fuse_unk: true, byte_fallback: false, ignore_merges: false, vocab, merges: MERGES },
  };
}

const idOf = (token: string): number => Object.keys((smallTokenizerJson().model as { vocab: object }).vocab).indexOf(token);

describe("a user's tokenizer.json", () => {
  it("loads by path and encodes by its merges", async () => {
    const path = join(dir, "tokenizer.json");
    writeFileSync(path, JSON.stringify(smallTokenizerJson()));
    const tokenizer = await loadTokenizer(path);
    expect([tokenizer.padId, tokenizer.eosId, tokenizer.bosId]).toEqual([0, 1, 2]);
    expect(tokenizer.stopIds).toEqual([1, 5]);
    expect(tokenizer.vocabSize).toBe(SPECIALS.length + CHARS.length + MERGES.length);
    expect(tokenizer.encode("hello world!")).toEqual([2, idOf("hello"), idOf("▁world"), idOf("!")]);
    expect(tokenizer.encode("he, wd", { addBos: false })).toEqual([idOf("he"), idOf(","), idOf("▁w"), idOf("d")]);
    expect(tokenizer.decode(tokenizer.encode("hello world, hello\n", { addBos: false }))).toBe("hello world, hello\n");
    // A character outside the vocabulary becomes <unk>.
    expect(tokenizer.encode("h%", { addBos: false })).toEqual([idOf("h"), 3]);
    expect(encodeChat(tokenizer, [{ role: "user", content: "hello" }])).toEqual([
      2, 4, ...[..."user"].map(idOf), idOf("\n"), idOf("hello"), 5, idOf("\n"), 4, ...[..."model"].map(idOf), idOf("\n"),
    ]);
  });

  it("takes special tokens from a tokenizer_config.json beside it", async () => {
    const sub = join(dir, "with-config");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(sub);
    writeFileSync(join(sub, "tokenizer.json"), JSON.stringify(smallTokenizerJson()));
    writeFileSync(join(sub, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "NoSuchTokenizer", bos_token: { content: "<start_of_turn>" }, eos_token: "<end_of_turn>", pad_token: "<unk>" }));
    const tokenizer = await loadTokenizer(join(sub, "tokenizer.json"));
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.padId]).toEqual([4, 1, 3]);
    expect(tokenizer.stopIds).toEqual([1, 5]);
    writeFileSync(join(sub, "tokenizer_config.json"), JSON.stringify({ eos_token: "</s>" }));
    await expect(loadTokenizer(join(sub, "tokenizer.json"))).rejects.toThrow(/tokenizer\.json: no end-of-sequence token "<\/s>" in the vocabulary/);
    writeFileSync(join(sub, "tokenizer_config.json"), "{oops");
    await expect(loadTokenizer(join(sub, "tokenizer.json"))).rejects.toThrow(/tokenizer_config\.json: tokenizer_config\.json is not valid JSON/);
  });

  it("refuses a missing file, bad JSON and files that are not tokenizers, naming the file", async () => {
    await expect(loadTokenizer(join(dir, "none.json"))).rejects.toThrow(/none\.json: cannot read tokenizer\.json/);
    const bad = join(dir, "bad.json");
    for (const [content, message] of [
      ["{", /bad\.json: tokenizer\.json is not valid JSON/],
      ["[1]", /bad\.json: tokenizer\.json must hold a JSON object/],
      ['{"model": {"vocab": {}}}', /bad\.json: tokenizer\.json has no model with a type/],
      ['{"model": {"type": "Nope"}}', /bad\.json: cannot build a tokenizer: /],
      [JSON.stringify({ ...smallTokenizerJson(), normalizer: { type: "Replace", pattern: { Glob: " " }, content: "_" } }), /bad\.json: part of the file is not understood: Unknown pattern type/],
    ] as const) {
      writeFileSync(bad, content);
      await expect(loadTokenizer(bad)).rejects.toThrow(message);
    }
  });
});

const JUNK: unknown[] = [null, 0, -1, 1.5, 1e9, "", "x", "<unk>", [], [1, 2], {}, { type: "BPE" }, true, [["a"]], { String: 5 }, { Regex: "(" }];

function mutateValue(value: unknown, random: () => number, depth = 0): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  if (depth > 0 && random() < 0.3) return pick(JUNK);
  if (Array.isArray(value) && value.length > 0) {
    const copy = [...value];
    const i = Math.floor(random() * copy.length);
    if (random() < 0.2) copy.splice(i, 1);
    else copy[i] = mutateValue(copy[i], random, depth + 1);
    return copy;
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0) return pick(JUNK);
    const key = pick(keys);
    if (random() < 0.15) delete copy[key];
    else copy[key] = mutateValue(copy[key], random, depth + 1);
    return copy;
  }
  return pick(JUNK);
}

describe("tokenizer.json loader fuzz", () => {
  it("survives 1500 mutated tokenizers with clear errors only", async () => {
    const random = makeRng(7);
    const base = smallTokenizerJson();
    const text = JSON.stringify(base);
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < 1500; i++) {
      let parsed: unknown;
      const kind = random();
      if (kind < 0.7) {
        parsed = mutateValue(base, random);
      } else {
        // Byte-level damage: the loader's JSON step has to refuse most of these.
        const chars = [...text];
        if (kind < 0.85) chars.length = Math.floor(random() * chars.length);
        else for (let n = 0; n < 3; n++) chars[Math.floor(random() * chars.length)] = "{}[]\",:0a "[Math.floor(random() * 10)]!;
        try {
          parsed = JSON.parse(chars.join(""));
        } catch {
          outcomes.refused++;
          continue;
        }
      }
      try {
        const tokenizer = tokenizerFromJson(parsed, {}, "fuzz/tokenizer.json");
        const ids = tokenizer.encode("hello world, he\n");
        tokenizer.decode(ids);
        outcomes.loaded++;
      } catch (error) {
        if (error instanceof TokenizerError && error.message.startsWith("fuzz/tokenizer.json: ")) {
          outcomes.refused++;
          continue;
        }
        throw new Error(`mutation ${i} crashed the loader: ${String(error)}\n${JSON.stringify(parsed).slice(0, 600)}`);
      }
    }
    expect(outcomes.refused).toBeGreaterThan(300);
    expect(outcomes.loaded).toBeGreaterThan(100);
  });

  it("refuses damaged files on disk through the path loader", async () => {
    const path = join(dir, "damaged.json");
    const text = JSON.stringify(smallTokenizerJson());
    const random = makeRng(3);
    for (let i = 0; i < 50; i++) {
      writeFileSync(path, text.slice(0, Math.floor(random() * text.length)));
      await expect(loadTokenizer(path)).rejects.toThrow(TokenizerError);
    }
  });
});
