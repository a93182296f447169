// The CLI's parsers of user input: token id lists and prompt files. Known answers for each accepted form, errors
// naming the option or file:line, and thousands of mutated real inputs that give either a result or a UsageError
// (never another exception).
import { describe, expect, it } from "vitest";
import { checkTokenRange, parsePromptsFile, parseTokenList } from "../../src/cli/inputs.js";
import { UsageError, integerOption, numberOption } from "../../src/cli/options.js";
import { makeRng } from "../helpers/arrays.js";

const JSONL = [
  '"a bare string"',
  '{"prompt": "What is 2 + 3?"}',
  '{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}',
  "",
  '{"prompt": "tab\\tand \\u00e9", "answer": "ignored"}',
].join("\n");

describe("token lists", () => {
  it("accept commas with spaces and a JSON array", () => {
    expect(parseTokenList("2,105,2364", "--tokens")).toEqual([2, 105, 2364]);
    expect(parseTokenList(" 2 , 105,7 ", "--tokens")).toEqual([2, 105, 7]);
    expect(parseTokenList("[2, 105, 0]", "--tokens")).toEqual([2, 105, 0]);
  });

  it("refuse what is not a list of ids, naming the item", () => {
    expect(() => parseTokenList("", "--tokens")).toThrow(/--tokens: no token ids given/);
    expect(() => parseTokenList("2,,3", "--tokens")).toThrow(/--tokens: item 2 \(""\) is not a token id/);
    expect(() => parseTokenList("2,-1", "--tokens")).toThrow(/item 2 \("-1"\)/);
    expect(() => parseTokenList("2,1.5", "--tokens")).toThrow(/item 2 \("1.5"\)/);
    expect(() => parseTokenList("99999999999999999999", "--tokens")).toThrow(/item 1/);
    expect(() => checkTokenRange([2, 511, 512], 512, "--tokens")).toThrow(/token id 512 at position 2 is outside the model's vocabulary \[0, 512\)/);
    expect(() => checkTokenRange([2, 511], 512, "--tokens")).not.toThrow();
  });
});

describe("prompt files", () => {
  it("read one plain-text prompt per line, skipping blank lines (CRLF too)", () => {
    expect(parsePromptsFile("What is 2 + 3?\r\n\r\nName a color.\n", "p.txt")).toEqual([
      { kind: "text", text: "What is 2 + 3?" },
      { kind: "text", text: "Name a color." },
    ]);
  });

  it("read JSON lines: strings, {prompt}, {messages}", () => {
    expect(parsePromptsFile(JSONL, "p.jsonl")).toEqual([
      { kind: "text", text: "a bare string" },
      { kind: "text", text: "What is 2 + 3?" },
      { kind: "chat", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] },
      { kind: "text", text: "tab\tand \u00e9" },
    ]);
    // Detected by content as well as by name.
    expect(parsePromptsFile('{"prompt": "x"}\n', "prompts.txt")).toEqual([{ kind: "text", text: "x" }]);
  });

  it("name the file and line of a bad entry", () => {
    expect(() => parsePromptsFile('{"prompt": "x"}\n{"prompt": 3}\n', "p.jsonl")).toThrow(/^p\.jsonl:2: expected a JSON string, \{"prompt": "\.\.\."\} or \{"messages": \[\.\.\.\]\}$/);
    expect(() => parsePromptsFile('{"prompt": "x"}\n\n{oops\n', "p.jsonl")).toThrow(/^p\.jsonl:3: not valid JSON/);
    expect(() => parsePromptsFile('{"messages": [{"role": "robot", "content": "x"}]}', "p.jsonl")).toThrow(/p\.jsonl:1: messages\[0\] must be/);
    expect(() => parsePromptsFile('{"messages": []}', "p.jsonl")).toThrow(/p\.jsonl:1: "messages" must be a non-empty array/);
    expect(() => parsePromptsFile("\n  \n", "p.txt")).toThrow(/p\.txt: no prompts in the file/);
  });

  it("survive 3000 mutated files: a result or a UsageError", () => {
    const random = makeRng(17);
    const pieces = ['"', "{", "}", "[", "]", ",", ":", "\\", "\n", "\r", "null", "prompt", "messages", "role", "content", "\u0000", "\ud800", "1e999"];
    const outcomes = { parsed: 0, refused: 0 };
    for (let i = 0; i < 3000; i++) {
      const chars = [...JSONL];
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * (chars.length + 1));
        const op = random();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.8) chars.splice(at, 0, pieces[Math.floor(random() * pieces.length)]!);
        else chars.length = at;
      }
      const text = chars.join("");
      try {
        const prompts = parsePromptsFile(text, i % 2 === 0 ? "f.jsonl" : "f.txt");
        expect(prompts.length).toBeGreaterThan(0);
        outcomes.parsed++;
      } catch (error) {
        if (!(error instanceof UsageError)) throw new Error(`mutation ${i} threw ${String(error)}\n${JSON.stringify(text)}`);
        outcomes.refused++;
      }
    }
    expect(outcomes.parsed).toBeGreaterThan(300);
    expect(outcomes.refused).toBeGreaterThan(300);
  });

  it("token lists survive 3000 mutations: ids or a UsageError", () => {
    const random = makeRng(3);
    const base = "[2, 105, 2364, 107, 0]";
    const pieces = [",", " ", "-", ".", "e", "[", "]", "9", "x", "0x1", "\n", "+"];
    const outcomes = { parsed: 0, refused: 0 };
    for (let i = 0; i < 3000; i++) {
      const chars = [...base];
      for (let e = 0; e < 1 + Math.floor(random() * 3); e++) {
        const at = Math.floor(random() * (chars.length + 1));
        if (random() < 0.5) chars.splice(at, 1);
        else chars.splice(at, 0, pieces[Math.floor(random() * pieces.length)]!);
      }
      try {
        const ids = parseTokenList(chars.join(""), "--tokens");
        expect(ids.every((id) => Number.isSafeInteger(id) && id >= 0)).toBe(true);
        outcomes.parsed++;
      } catch (error) {
        if (!(error instanceof UsageError)) throw new Error(`mutation ${i} threw ${String(error)}: ${chars.join("")}`);
        outcomes.refused++;
      }
    }
    expect(outcomes.parsed).toBeGreaterThan(300);
    expect(outcomes.refused).toBeGreaterThan(300);
  });
});

describe("numeric options", () => {
  it("are checked for type and range, naming the option", () => {
    expect(integerOption("top-k", "40", 0, { min: 1 })).toBe(40);
    expect(integerOption("top-k", undefined, 7, { min: 1 })).toBe(7);
    expect(() => integerOption("top-k", "0", 0, { min: 1 })).toThrow(/--top-k must be an integer from 1 to/);
    expect(() => integerOption("top-k", "4.5", 0, { min: 1 })).toThrow(/--top-k must be an integer/);
    expect(() => integerOption("seed", "", 0, { min: 0, max: 10 })).toThrow(/--seed must be an integer from 0 to 10, got ""/);
    expect(numberOption("top-p", "0.9", 1, { min: 0, max: 1 })).toBe(0.9);
    expect(() => numberOption("top-p", "1.5", 1, { min: 0, max: 1 })).toThrow(/--top-p must be a number from 0 to 1, got "1.5"/);
    expect(() => numberOption("temperature", "abc", 1, { min: 0, max: 100 })).toThrow(/--temperature must be a number/);
  });
});
