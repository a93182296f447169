// What users type or point at: token id lists ("2,105,2364") and prompt files (one prompt per line, or JSON lines
// with a prompt or a chat conversation). Every problem is a UsageError naming the option or file:line and the item.
import type { ChatMessage } from "../data/chat.js";
import { UsageError } from "./options.js";

/** A prompt: plain text (the chat template may be applied to it) or a whole conversation. */
export type PromptInput = { kind: "text"; text: string } | { kind: "chat"; messages: ChatMessage[] };

const MAX_SHOWN = 40;
const show = (text: string): string => JSON.stringify(text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text);

/**
 * Token ids written as "2,105,2364" (spaces allowed around the commas) or as a JSON array "[2, 105, 2364]". `where`
 * names the input in errors ("--tokens").
 */
export function parseTokenList(text: string, where: string): number[] {
  let body = text.trim();
  if (body.startsWith("[") && body.endsWith("]")) body = body.slice(1, -1).trim();
  if (body === "") throw new UsageError(`${where}: no token ids given (expected a list like 2,105,2364)`);
  return body.split(",").map((item, i) => {
    const trimmed = item.trim();
    const id = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
    if (!Number.isSafeInteger(id)) {
      throw new UsageError(`${where}: item ${i + 1} (${show(trimmed)}) is not a token id (a non-negative integer)`);
    }
    return id;
  });
}

/** Every id must index the model's vocabulary (the embedding lookup would otherwise clamp it silently). */
export function checkTokenRange(ids: readonly number[], vocabSize: number, where: string): void {
  const bad = ids.findIndex((id) => id >= vocabSize);
  if (bad >= 0) {
    throw new UsageError(`${where}: token id ${ids[bad]} at position ${bad} is outside the model's vocabulary [0, ${vocabSize})`);
  }
}

const ROLES = new Set(["system", "user", "model", "assistant"]);

function chatMessages(value: unknown, where: string): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw new UsageError(`${where}: "messages" must be a non-empty array`);
  return value.map((message: unknown, i) => {
    const { role, content } = (typeof message === "object" && message !== null ? message : {}) as Record<string, unknown>;
    if (typeof role !== "string" || !ROLES.has(role) || typeof content !== "string") {
      throw new UsageError(`${where}: messages[${i}] must be {"role": "system"|"user"|"model"|"assistant", "content": "..."}`);
    }
    return { role: role as ChatMessage["role"], content };
  });
}

/** One line of a JSON-lines prompt file. */
function jsonPrompt(line: string, where: string): PromptInput {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new UsageError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value === "string") return { kind: "text", text: value };
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (typeof record.prompt === "string") return { kind: "text", text: record.prompt };
    if (record.messages !== undefined) return { kind: "chat", messages: chatMessages(record.messages, where) };
  }
  throw new UsageError(`${where}: expected a JSON string, {"prompt": "..."} or {"messages": [...]}`);
}

/**
 * The prompts of a file: JSON lines when the file name ends in .jsonl or its first non-blank line starts with `{`
 * or `"`; otherwise one plain-text prompt per line. Blank lines are skipped in both forms.
 */
export function parsePromptsFile(text: string, source: string): PromptInput[] {
  const lines = text.split("\n").map((line) => line.replace(/\r$/, ""));
  const first = lines.find((line) => line.trim() !== "")?.trim();
  const jsonLines = source.endsWith(".jsonl") || first?.startsWith("{") === true || first?.startsWith('"') === true;
  const prompts: PromptInput[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    prompts.push(jsonLines ? jsonPrompt(line, `${source}:${i + 1}`) : { kind: "text", text: line });
  });
  if (prompts.length === 0) throw new UsageError(`${source}: no prompts in the file`);
  return prompts;
}
