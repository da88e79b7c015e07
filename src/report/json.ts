import type { AnalysisResult, CaptureSummary } from '../analyze.js';
import { formatEpoch } from '../capture/timestamp.js';
import type { Connection, DirectionStats } from '../track/connection.js';
import { formatEndpoint } from '../util/address.js';
import { flagNames } from './flags.js';

/**
 * The JSON contract (README "JSON output"): later versions add fields, never
 * rename or remove them. Times are epoch seconds as exact decimal strings, like
 * tshark's frame.time_epoch, since a double cannot hold epoch nanoseconds.
 */

function time(t: [number, number] | null): string | null {
  return t === null ? null : formatEpoch(t[0], t[1]);
}

function captureJson(c: CaptureSummary): Record<string, unknown> {
  const d = c.decode;
  return {
    file: c.file,
    format: c.format,
    compression: c.compression,
    linktypes: c.linktypes,
    interfaces: c.interfaces.map((i) => ({
      id: i.id,
      linkType: i.linkType,
      name: i.name,
      description: i.description,
      snapLen: i.snapLen,
      tsUnitsPerSecond: i.tsUnitsPerSecond,
      tsOffsetSeconds: i.tsOffsetSeconds,
    })),
    packets: c.packets,
    bytes: c.bytes,
    firstTime: time(c.first),
    lastTime: time(c.last),
    errors: c.errors,
    warnings: c.warnings,
    warningsDropped: c.warningsDropped,
    decode: {
      tcp: d.tcp,
      icmpErrors: d.icmpErrors,
      ipFragments: d.ipFragments,
      truncated: d.truncated,
      truncatedPayloads: d.truncatedPayloads,
      malformed: Object.fromEntries(d.malformed),
      unsupportedLinkTypes: Object.fromEntries(d.unsupportedLinkTypes),
    },
  };
}

function directionJson(d: DirectionStats): Record<string, unknown> {
  return { packets: d.packets, payloadBytes: d.payloadBytes, ipBytes: d.ipBytes, flags: flagNames(d.flags) };
}

export function connectionEndpoints(c: Connection): { client: string; server: string } {
  const a = formatEndpoint(c.version, c.addrA, c.portA);
  const b = formatEndpoint(c.version, c.addrB, c.portB);
  return c.clientIsA ? { client: a, server: b } : { client: b, server: a };
}

export function durationSeconds(c: Connection): number {
  return c.lastSec - c.firstSec + (c.lastNsec - c.firstNsec) / 1e9;
}

function connectionJson(c: Connection): Record<string, unknown> {
  return {
    id: c.id,
    ...connectionEndpoints(c),
    ipVersion: c.version,
    partial: c.partial,
    firstTime: formatEpoch(c.firstSec, c.firstNsec),
    lastTime: formatEpoch(c.lastSec, c.lastNsec),
    duration: Number(durationSeconds(c).toFixed(9)),
    firstCapture: c.firstCapture,
    firstFrame: c.firstFrame,
    lastCapture: c.lastCapture,
    lastFrame: c.lastFrame,
    fromClient: directionJson(c.fromClient),
    fromServer: directionJson(c.fromServer),
  };
}

export function toJson(r: AnalysisResult): Record<string, unknown> {
  return {
    captures: r.captures.map(captureJson),
    connections: r.connections.map(connectionJson),
    findings: [],
  };
}

export function renderJson(r: AnalysisResult): string {
  return `${JSON.stringify(toJson(r), null, 2)}\n`;
}
