// A character-level tokenizer for the built-in tasks and from-scratch demos: a vocabulary of 203 ids that keeps
// Gemma's special ids, so the chat template, stop ids and padding are the same as with the real tokenizer and a
// tiny model trained with it needs an embedding of 203 rows instead of 262,144.
//
// Layout:
//   0 <pad>   1 <eos>   2 <bos>   3 <unk>
//   4..104    <unused0> .. <unused100> (reserved, so the turn markers keep Gemma's ids)
//   105 <start_of_turn>   106 <end_of_turn>   107 "\n"
//   108..202  printable ASCII, " " (32) to "~" (126): id = 76 + character code
// Any other character (tabs, non-ASCII) encodes to <unk>.
import { GEMMA_IDS, type EncodeOptions, type Tokenizer, TokenizerError } from "./tokenizer.js";

const FIRST_PRINTABLE = 32;
const LAST_PRINTABLE = 126;
const PRINTABLE_OFFSET = 108 - FIRST_PRINTABLE;

const SPECIAL_TEXT: readonly [string, number][] = [
  ["<pad>", GEMMA_IDS.pad],
  ["<eos>", GEMMA_IDS.eos],
  ["<bos>", GEMMA_IDS.bos],
  ["<unk>", GEMMA_IDS.unk],
  ["<start_of_turn>", GEMMA_IDS.startOfTurn],
  ["<end_of_turn>", GEMMA_IDS.endOfTurn],
];

export class CharTokenizer implements Tokenizer {
  readonly bosId = GEMMA_IDS.bos;
  readonly eosId = GEMMA_IDS.eos;
  readonly padId = GEMMA_IDS.pad;
  readonly stopIds: readonly number[] = [GEMMA_IDS.eos, GEMMA_IDS.endOfTurn];
  readonly vocabSize = LAST_PRINTABLE + PRINTABLE_OFFSET + 1;
  private readonly specialById = new Map(SPECIAL_TEXT.map(([text, id]) => [id, text]));
  private readonly specialByText = new Map(SPECIAL_TEXT);

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new TokenizerError("char tokenizer", `encode expects a string, got ${typeof text}`);
    const ids: number[] = options.addBos === false ? [] : [this.bosId];
    let i = 0;
    while (i < text.length) {
      if (text[i] === "<") {
        const special = SPECIAL_TEXT.find(([piece]) => text.startsWith(piece, i));
        if (special !== undefined) {
          ids.push(special[1]);
          i += special[0].length;
          continue;
        }
      }
      const code = text.codePointAt(i)!;
      if (code === 10) ids.push(GEMMA_IDS.newline);
      else if (code >= FIRST_PRINTABLE && code <= LAST_PRINTABLE) ids.push(code + PRINTABLE_OFFSET);
      else ids.push(GEMMA_IDS.unk);
      i += code > 0xffff ? 2 : 1;
    }
    return ids;
  }

  decode(ids: readonly number[], options: { skipSpecial?: boolean } = {}): string {
    let text = "";
    ids.forEach((id, position) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError("char tokenizer", `token id ${JSON.stringify(id)} at position ${position} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      if (id === GEMMA_IDS.newline) text += "\n";
      else if (id >= FIRST_PRINTABLE + PRINTABLE_OFFSET) text += String.fromCharCode(id - PRINTABLE_OFFSET);
      else if (!options.skipSpecial) text += this.specialById.get(id) ?? `<unused${id - 4}>`;
    });
    return text;
  }

  specialId(text: string): number | undefined {
    return this.specialByText.get(text);
  }
}
