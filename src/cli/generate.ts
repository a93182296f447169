// `grpo-xla generate`: completions of prompts (text, a file of prompts, or token ids) by the compiled sampler, on
// a preset with random weights or a Hugging Face checkpoint with an optional LoRA adapter.
import { readFile } from "node:fs/promises";
import { DEFAULT_STOP_TOKENS, Sampler } from "../../models/gemma3/sampler.js";
import { encodeChat } from "../data/chat.js";
import type { Tokenizer } from "../data/tokenizer.js";
import { type PromptInput, checkTokenRange, parsePromptsFile, parseTokenList } from "./inputs.js";
import { MODEL_OPTIONS, chooseTokenizer, loadSource, seedOption } from "./model_source.js";
import { COMMON_OPTIONS, type Command, type Io, type ParsedOptions, UsageError, integerOption, numberOption } from "./options.js";

const GENERATE_OPTIONS = {
  prompt: { type: "string", multiple: true, value: "TEXT", help: "a prompt" },
  prompts: { type: "string", value: "FILE", help: 'a file of prompts: one per line, or JSON lines of "text", {"prompt": ...} or {"messages": [...]}' },
  tokens: { type: "string", multiple: true, value: "IDS", help: "a prompt as token ids (2,105,2364,...), used as given" },
  chat: { type: "boolean", help: "wrap text prompts in the Gemma chat template as a user turn", default: "on" },
  "no-chat": { type: "boolean", help: "use text prompts as they are (bos prepended)" },
  "max-new-tokens": { type: "string", value: "N", help: "tokens drawn per completion at most", default: "64" },
  temperature: { type: "string", value: "T", help: "sampling temperature; 0 draws the most likely token (greedy)", default: "1" },
  "top-k": { type: "string", value: "K", help: "draw only among the K most likely tokens", default: "off" },
  "top-p": { type: "string", value: "P", help: "draw only among the most likely tokens whose probabilities sum to P (0 < P <= 1)", default: "1 (off)" },
  samples: { type: "string", value: "G", help: "completions per prompt", default: "1" },
  "stop-tokens": { type: "string", value: "IDS|none", help: "a completion ends after one of these ids", default: "the tokenizer's stop ids, 1,106 for Gemma" },
  "batch-size": { type: "string", value: "N", help: "prompts generated together (each with its G samples)", default: "8" },
  json: { type: "boolean", help: "print one JSON object per completion (tokens, logprobs, text, finished) instead of text" },
  timing: { type: "boolean", help: "print load and generation times and tokens per second on stderr" },
  ...MODEL_OPTIONS,
  ...COMMON_OPTIONS,
} as const;

type GenerateArgs = ParsedOptions<typeof GENERATE_OPTIONS>;

/** A prompt ready for the sampler, and how to show it. */
interface EncodedPrompt {
  ids: number[];
  /** The text typed (or the conversation's last message); undefined for token-id prompts. */
  shown: string | undefined;
}

/** A prompt as given: text, a conversation, or token ids. */
type GivenPrompt = PromptInput | { kind: "ids"; ids: number[] };

/** The prompts in the order given: --prompt, then --prompts FILE, then --tokens. */
async function gatherPrompts(args: GenerateArgs): Promise<GivenPrompt[]> {
  const prompts: GivenPrompt[] = [];
  for (const text of args.prompt ?? []) prompts.push({ kind: "text", text });
  if (args.prompts !== undefined) {
    let text: string;
    try {
      text = await readFile(args.prompts, "utf8");
    } catch (error) {
      throw new UsageError(`--prompts ${args.prompts}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    prompts.push(...parsePromptsFile(text, args.prompts));
  }
  (args.tokens ?? []).forEach((list, i) => prompts.push({ kind: "ids", ids: parseTokenList(list, `--tokens #${i + 1}`) }));
  if (prompts.length === 0) throw new UsageError("no prompts: give --prompt TEXT, --prompts FILE or --tokens IDS");
  return prompts;
}

function encodePrompts(prompts: readonly GivenPrompt[], tokenizer: Tokenizer | undefined, useChat: boolean, vocabSize: number): EncodedPrompt[] {
  return prompts.map((prompt, i) => {
    if (prompt.kind === "ids") {
      checkTokenRange(prompt.ids, vocabSize, `prompt ${i + 1}`);
      return { ids: prompt.ids, shown: undefined };
    }
    if (tokenizer === undefined) throw new UsageError(`no tokenizer fits a vocabulary of ${vocabSize}: give prompts with --tokens, or --tokenizer`);
    if (prompt.kind === "chat") {
      if (!useChat) throw new UsageError(`prompt ${i + 1} is a conversation ("messages"), which needs the chat template: drop --no-chat`);
      const ids = encodeChat(tokenizer, prompt.messages);
      checkTokenRange(ids, vocabSize, `prompt ${i + 1} as tokenized`);
      return { ids, shown: prompt.messages[prompt.messages.length - 1]!.content };
    }
    const ids = useChat ? encodeChat(tokenizer, [{ role: "user", content: prompt.text }]) : tokenizer.encode(prompt.text);
    checkTokenRange(ids, vocabSize, `prompt ${i + 1} as tokenized`);
    return { ids, shown: prompt.text };
  });
}

function stopTokens(raw: string | undefined, tokenizer: Tokenizer | undefined, vocabSize: number): number[] {
  if (raw === "none") return [];
  if (raw === undefined) return [...(tokenizer?.stopIds ?? DEFAULT_STOP_TOKENS)];
  const ids = parseTokenList(raw, "--stop-tokens");
  checkTokenRange(ids, vocabSize, "--stop-tokens");
  return ids;
}

/** The completion as text; ids the tokenizer does not know (a model vocabulary larger than the tokenizer's, as the
 * tiny preset's 512 ids against the character tokenizer's 203) are written <id:N>. */
function displayText(tokenizer: Tokenizer, ids: readonly number[]): string {
  let text = "";
  let run: number[] = [];
  const flush = (): void => {
    if (run.length > 0) text += tokenizer.decode(run);
    run = [];
  };
  for (const id of ids) {
    if (id < tokenizer.vocabSize) {
      run.push(id);
    } else {
      flush();
      text += `<id:${id}>`;
    }
  }
  flush();
  return text;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export const generateCommand: Command<typeof GENERATE_OPTIONS> = {
  name: "generate",
  summary: "print completions of prompts (text, a file, or token ids) from the compiled sampler",
  usage: [
    'grpo-xla generate --preset tiny --prompt "Hello" [--max-new-tokens 32] [--temperature 0]',
    "grpo-xla generate --model DIR [--adapter FILE] --prompts prompts.jsonl [--json]",
    "grpo-xla generate --model DIR --tokens 2,105,2364,... [--device cpu]",
  ],
  description: [
    "Generates up to --max-new-tokens tokens per prompt with the compiled sampler (prefill, then one decode loop",
    "on the device). Text prompts are wrapped in the Gemma chat template unless --no-chat; a completion ends at a",
    "stop token (shown in --json output, not in text). The same --seed gives the same completions.",
  ].join("\n"),
  options: GENERATE_OPTIONS,
  async run(args, io: Io) {
    if (args.chat && args["no-chat"]) throw new UsageError("give at most one of --chat and --no-chat");
    const maxNewTokens = integerOption("max-new-tokens", args["max-new-tokens"], 64, { min: 1 });
    const temperature = numberOption("temperature", args.temperature, 1, { min: 0, max: 1e6 });
    const topK = args["top-k"] === undefined ? undefined : integerOption("top-k", args["top-k"], 0, { min: 1 });
    const topP = numberOption("top-p", args["top-p"], 1, { min: 0, max: 1 });
    if (topP === 0) throw new UsageError("--top-p must be greater than 0");
    const samples = integerOption("samples", args.samples, 1, { min: 1 });
    const batchSize = integerOption("batch-size", args["batch-size"], 8, { min: 1 });
    const seed = seedOption(args.seed);
    const gathered = await gatherPrompts(args);

    const loadStart = performance.now();
    const source = await loadSource(args);
    const tokenizer = await chooseTokenizer(args, source);
    const prompts = encodePrompts(gathered, tokenizer, !args["no-chat"], source.config.vocabSize);
    const stops = stopTokens(args["stop-tokens"], tokenizer, source.config.vocabSize);
    const sampler = new Sampler(source.config, source.params, { device: source.device, seed, ...(source.lora === undefined ? {} : { lora: source.lora }) });
    const loadMs = performance.now() - loadStart;

    let generateMs = 0;
    let drawn = 0;
    const phases = { prefill: 0, decode: 0 };
    for (let start = 0; start < prompts.length; start += batchSize) {
      const batch = prompts.slice(start, start + batchSize);
      const began = performance.now();
      const result = await sampler.generate(
        batch.map((p) => p.ids),
        {
          maxNewTokens,
          samplesPerPrompt: samples,
          greedy: temperature === 0,
          ...(temperature === 0 ? {} : { temperature }),
          ...(topK === undefined ? {} : { topK }),
          ...(topP === 1 ? {} : { topP }),
          stopTokens: stops,
        },
      );
      generateMs += performance.now() - began;
      phases.prefill += result.seconds.prefill;
      phases.decode += result.seconds.decode;
      for (let row = 0; row < result.tokens.length; row++) {
        const index = start + Math.floor(row / samples);
        const prompt = prompts[index]!;
        const tokens = result.tokens[row]!;
        drawn += tokens.length;
        // The stop token ends the completion; it is not part of its text.
        const body = result.finished[row] && stops.includes(tokens[tokens.length - 1]!) ? tokens.slice(0, -1) : tokens;
        const text = tokenizer === undefined ? undefined : displayText(tokenizer, body);
        const label = samples === 1 ? `${index + 1}` : `${index + 1}.${(row % samples) + 1}`;
        if (args.json) {
          const record = {
            prompt: index,
            sample: row % samples,
            input: prompt.shown ?? null,
            prompt_tokens: prompt.ids,
            tokens,
            logprobs: result.logprobs[row],
            finished: result.finished[row],
            text: text ?? null,
          };
          await io.write(`${JSON.stringify(record)}\n`);
        } else {
          const heading = prompt.shown === undefined ? `tokens ${prompt.ids.join(",")}` : prompt.shown;
          await io.write(`[${label}] ${heading.replace(/\n/g, " ")}\n${text ?? `tokens ${body.join(",")}`}\n\n`);
        }
      }
    }
    if (args.timing) {
      io.log(
        `grpo-xla generate: ${source.description} on ${source.device.kind}: load ${seconds(loadMs)}; generate ${seconds(generateMs)} ` +
          `for ${drawn} tokens (${((drawn * 1000) / generateMs).toFixed(1)} tokens/s; prefill ${seconds(phases.prefill * 1000)}, ` +
          `decode loop ${seconds(phases.decode * 1000)}; compiles included)`,
      );
    }
  },
};
