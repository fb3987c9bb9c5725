/**
 * The one place analysis summary lines are formatted. Every analysis's first text line is
 * `[marker ]label: key=value, key=value, …` (the documents' shape, e.g.
 * `+ convergence_analysis: status=stable, stability=0.0234, action="Continue training"`);
 * analyses build the `key=value` part with `summaryFields`, renderers print the line with
 * `summaryLine`.
 */
import { fmt } from './helpers.js';

/** A value on a summary line: a number (4 decimals, see fmt), a bare word, or a phrase printed in double quotes. */
export type SummaryValue = number | string | null | { quoted: string };

/** `key=value, key=value`: numbers through fmt (null → none), words bare, phrases quoted. */
export function summaryFields(fields: Array<[string, SummaryValue]>): string {
  return fields.map(([k, v]) => `${k}=${summaryValue(v)}`).join(', ');
}

function summaryValue(v: SummaryValue): string {
  if (v === null || typeof v === 'number') return fmt(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v.quoted);
}

/** Megabytes (10^6 bytes): one decimal (`+2.7MB`), four below 0.1 MB so small models do not read as 0; a sign when asked. */
export function megabytes(bytes: number, signed = false): string {
  const v = bytes / 1e6;
  const mb = v === 0 || Math.abs(v) >= 0.1 ? v.toFixed(1) : v.toFixed(4);
  return signed && bytes >= 0 ? `+${mb}MB` : `${mb}MB`;
}

/** The full summary line of an analysis entry (text output). */
export function summaryLine(e: { marker?: string; label: string; summary: string }): string {
  return `${e.marker ? `${e.marker} ` : ''}${e.label}: ${e.summary}`;
}

/** What an analysis returns when the files lack what it needs: `label: not applicable (reason)`, JSON `{"applicable": false, "reason": …}`. */
export interface NotApplicable extends Record<string, unknown> {
  applicable: false;
  reason: string;
}

export function notApplicable(reason: string): { summary: string; details: string[]; data: NotApplicable } {
  return { summary: `not applicable (${reason})`, details: [], data: { applicable: false, reason } };
}
