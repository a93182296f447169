// The Gemma chat format, as Gemma3's published chat template writes it:
//
//   <bos><start_of_turn>user\n{system}\n\n{message}<end_of_turn>\n<start_of_turn>model\n{reply}<end_of_turn>\n ...
//   <start_of_turn>model\n          (the generation prompt)
//
// There is no system role: a system message's text is folded into the first user turn, followed by a blank
// line. Turns alternate user/model starting with user; each message's text is trimmed of surrounding whitespace
// (the system text is not). Generation stops at <eos> (1) or <end_of_turn> (106).
import type { Tokenizer } from "./tokenizer.js";

export type ChatRole = "system" | "user" | "model" | "assistant";

export interface ChatMessage {
  /** "assistant" is accepted as another name for "model". */
  role: ChatRole;
  content: string;
}

export const GEMMA_CHAT_STOP_IDS: readonly number[] = [1, 106];

export class ChatError extends Error {
  constructor(detail: string) {
    super(`chat: ${detail}`);
    this.name = "ChatError";
  }
}

export interface ChatOptions {
  /** End with `<start_of_turn>model\n` so the model writes the next reply (default true). */
  addGenerationPrompt?: boolean;
}

/** The conversation as Gemma chat text, starting with `<bos>`. */
export function renderChat(messages: readonly ChatMessage[], options: ChatOptions = {}): string {
  if (!Array.isArray(messages) || messages.length === 0) throw new ChatError("a conversation needs at least one message");
  messages.forEach((message, i) => {
    if (typeof message !== "object" || message === null || typeof message.content !== "string") {
      throw new ChatError(`message ${i} must be an object with a string content`);
    }
    if (!["system", "user", "model", "assistant"].includes(message.role)) {
      throw new ChatError(`message ${i} has role ${JSON.stringify(message.role)} (system, user, model or assistant)`);
    }
  });
  const hasSystem = messages[0]!.role === "system";
  const prefix = hasSystem ? `${messages[0]!.content}\n\n` : "";
  const turns = hasSystem ? messages.slice(1) : messages;
  let text = "<bos>";
  turns.forEach((message, i) => {
    const role = message.role === "assistant" ? "model" : message.role;
    const expected = i % 2 === 0 ? "user" : "model";
    if (role !== expected) {
      throw new ChatError(`message ${i + (hasSystem ? 1 : 0)} is a ${message.role} turn where a ${expected} turn belongs: turns must alternate user/model, starting with user, and only the first message may be system`);
    }
    text += `<start_of_turn>${role}\n${i === 0 ? prefix : ""}${message.content.trim()}<end_of_turn>\n`;
  });
  if (options.addGenerationPrompt ?? true) text += "<start_of_turn>model\n";
  return text;
}

/** The conversation as token ids (the `<bos>` in the text becomes the tokenizer's bos id). */
export function encodeChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], options: ChatOptions = {}): number[] {
  for (const marker of ["<start_of_turn>", "<end_of_turn>"]) {
    if (tokenizer.specialId(marker) === undefined) {
      throw new ChatError(`the tokenizer has no ${marker} token, so it cannot write the Gemma chat format`);
    }
  }
  return tokenizer.encode(renderChat(messages, options), { addBos: false });
}

/** The ids that end a chat reply with this tokenizer: eos and `<end_of_turn>`. */
export function chatStopIds(tokenizer: Tokenizer): number[] {
  const endOfTurn = tokenizer.specialId("<end_of_turn>");
  return endOfTurn === undefined ? [tokenizer.eosId] : [...new Set([tokenizer.eosId, endOfTurn])];
}
