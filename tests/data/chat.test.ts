// The Gemma chat format (text written out by hand from the published template) and the character tokenizer,
// whose ids are computed by hand from its documented layout.
import { describe, expect, it } from "vitest";
import { CharTokenizer } from "../../src/data/char_tokenizer.js";
import { ChatError, chatStopIds, encodeChat, renderChat } from "../../src/data/chat.js";
import { TokenizerError } from "../../src/data/tokenizer.js";

describe("chat template", () => {
  it("writes one user turn and the generation prompt", () => {
    expect(renderChat([{ role: "user", content: "Hi" }])).toBe("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
    expect(renderChat([{ role: "user", content: "Hi" }], { addGenerationPrompt: false })).toBe("<bos><start_of_turn>user\nHi<end_of_turn>\n");
  });

  it("folds the system text into the first user turn and alternates turns, trimming messages", () => {
    const text = renderChat([
      { role: "system", content: "Be brief. " },
      { role: "user", content: "  What is 2+2?\n" },
      { role: "assistant", content: "4" },
      { role: "user", content: "And 3+3?" },
      { role: "model", content: " 6 " },
    ]);
    expect(text).toBe(
      "<bos><start_of_turn>user\nBe brief. \n\nWhat is 2+2?<end_of_turn>\n" +
        "<start_of_turn>model\n4<end_of_turn>\n" +
        "<start_of_turn>user\nAnd 3+3?<end_of_turn>\n" +
        "<start_of_turn>model\n6<end_of_turn>\n" +
        "<start_of_turn>model\n",
    );
  });

  it("refuses conversations the template refuses", () => {
    expect(() => renderChat([])).toThrow(ChatError);
    expect(() => renderChat([{ role: "model", content: "x" }])).toThrow(/message 0 is a model turn where a user turn belongs/);
    expect(() => renderChat([{ role: "user", content: "a" }, { role: "user", content: "b" }])).toThrow(/message 1 is a user turn where a model turn belongs/);
    expect(() => renderChat([{ role: "system", content: "s" }, { role: "system", content: "t" }])).toThrow(/message 1 is a system turn/);
    expect(() => renderChat([{ role: "tool" as "user", content: "x" }])).toThrow(/message 0 has role "tool"/);
    expect(() => renderChat([{ role: "user", content: 5 as unknown as string }])).toThrow(/message 0 must be an object with a string content/);
  });
});

describe("character tokenizer", () => {
  const tokenizer = new CharTokenizer();
  const char = (c: string): number => c.charCodeAt(0) + 76;

  it("keeps Gemma's special ids and maps printable ASCII after them", () => {
    expect([tokenizer.padId, tokenizer.eosId, tokenizer.bosId, tokenizer.vocabSize]).toEqual([0, 1, 2, 203]);
    expect(tokenizer.stopIds).toEqual([1, 106]);
    expect(chatStopIds(tokenizer)).toEqual([1, 106]);
    expect(tokenizer.encode("Az 0~")).toEqual([2, 141, 198, 108, 124, 202]);
    expect(tokenizer.encode("a\nb", { addBos: false })).toEqual([173, 107, 174]);
    expect(tokenizer.encode("é\tx😀", { addBos: false })).toEqual([3, 3, char("x"), 3]);
  });

  it("encodes a chat to hand-computed ids", () => {
    const ids = encodeChat(tokenizer, [{ role: "system", content: "S" }, { role: "user", content: "1+1" }]);
    const text = (s: string): number[] => [...s].map((c) => (c === "\n" ? 107 : char(c)));
    expect(ids).toEqual([2, 105, ...text("user\nS\n\n1+1"), 106, 107, 105, ...text("model\n")]);
  });

  it("round-trips printable text and special markers", () => {
    const texts = ["The answer is 42.\nDone!", "<start_of_turn>user\nx<end_of_turn>", " ~{}[]<>|\\ "];
    for (const t of texts) expect(tokenizer.decode(tokenizer.encode(t, { addBos: false }))).toBe(t);
    expect(tokenizer.decode([2, 105, char("h"), 106, 50], { skipSpecial: true })).toBe("h");
    expect(tokenizer.decode([2, 50])).toBe("<bos><unused46>");
    expect(() => tokenizer.decode([203])).toThrow(TokenizerError);
  });
});
