// The StableHLO versions a PJRT plugin reports, and the check of a module against them before it is compiled.
// Plugins built from XLA report `stablehlo_current_version` (the StableHLO their parser is, as [major, minor,
// patch]) and `stablehlo_minimum_version` (the oldest portable artifact they still upgrade) among their
// PJRT_Plugin_Attributes. We send text, which a plugin parses at its current version, so only `current` gates a
// module; `minimum` is kept for display. A plugin that reports no current version is assumed to read what we emit
// (docs/DECISIONS.md, "StableHLO versions").
import { type Feature, type StablehloVersion, formatVersion, versionMismatch } from "../../hlo/index.js";

export interface StablehloVersions {
  /** The plugin's StableHLO: the newest ops and attribute forms its parser reads. */
  current: StablehloVersion;
  /** The oldest StableHLO portable artifact (VHLO bytecode) the plugin upgrades; unused for text. */
  minimum: StablehloVersion | undefined;
}

export interface ReadVersions {
  versions: StablehloVersions | undefined;
  /** Why an attribute that is present could not be used (wrong type or shape). */
  problems: string[];
}

function asVersion(name: string, value: unknown, problems: string[]): StablehloVersion | undefined {
  if (value === undefined) return undefined;
  const ok =
    Array.isArray(value) && value.length === 3 && value.every((part) => typeof part === "number" && Number.isSafeInteger(part) && part >= 0);
  if (!ok) {
    problems.push(`${name} should be three non-negative int64s [major, minor, patch], got ${JSON.stringify(value)}`);
    return undefined;
  }
  return [value[0] as number, value[1] as number, value[2] as number];
}

/** The StableHLO versions among a plugin's attributes (PJRT_Plugin_Attributes, as the addon returns them). */
export function readStablehloVersions(attributes: Readonly<Record<string, unknown>>): ReadVersions {
  const problems: string[] = [];
  const current = asVersion("stablehlo_current_version", attributes.stablehlo_current_version, problems);
  const minimum = asVersion("stablehlo_minimum_version", attributes.stablehlo_minimum_version, problems);
  return { versions: current === undefined ? undefined : { current, minimum }, problems };
}

export function describeVersions(versions: StablehloVersions | undefined): string {
  if (versions === undefined) return "StableHLO version not reported";
  const minimum = versions.minimum === undefined ? "" : `, reads artifacts from ${formatVersion(versions.minimum)}`;
  return `StableHLO ${formatVersion(versions.current)}${minimum}`;
}

/** A module needs a newer StableHLO than the device's plugin has; raised before the plugin sees the text. */
export class StablehloVersionError extends Error {
  constructor(
    message: string,
    readonly needs: Feature,
    readonly plugin: StablehloVersion,
  ) {
    super(message);
    this.name = "StablehloVersionError";
  }
}

/** Throws a StablehloVersionError when `needs` is newer than the plugin's current version. Passes when the plugin
 * reports no version. */
export function checkStablehloVersion(needs: Feature, versions: StablehloVersions | undefined, device: string): void {
  if (versions === undefined) return;
  const message = versionMismatch(needs, versions.current, `the ${device} plugin`);
  if (message !== undefined) throw new StablehloVersionError(`${device} compile: ${message}`, needs, versions.current);
}
