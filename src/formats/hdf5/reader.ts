/**
 * HDF5 files (`.h5`, `.hdf5`): every numeric dataset is a tensor named by its path
 * (`group/sub/dataset`), and the root group's attributes are entries. Keras weight files
 * (`model.save` / `save_weights` in HDF5: a `layer_names` attribute on the root or on
 * `model_weights`, a `weight_names` attribute per layer) name each weight as Keras lists it
 * (`dense/kernel:0`). Datasets reached through several hard links are one storage (a tie).
 */
import { DiffaiError } from '../../errors.js';
import { RandomAccessFile } from '../../io/file.js';
import type { FormatReader, LeafValue, ModelDescription } from '../types.js';
import { datasetInfo, describeDataset } from './dataset.js';
import { attributes, groupMembers, HDF5_SIGNATURE, Hdf5File } from './objects.js';
import { attributeValue } from './values.js';
import { warningList } from '../warnings.js';
import { tensorList } from '../tensor-list.js';

/** Group nesting and objects visited: far beyond real weight files. */
export const MAX_DEPTH = 64;
export const MAX_OBJECTS = 1_000_000;

export const hdf5Reader: FormatReader = {
  name: 'hdf5',
  sniff(head: Uint8Array): boolean {
    return head.length >= 8 && Buffer.from(head.subarray(0, 8)).equals(HDF5_SIGNATURE);
  },
  async describe(path: string): Promise<ModelDescription> {
    const file = RandomAccessFile.open(path);
    try {
      return describeHdf5(new Hdf5File(file));
    } finally {
      file.close();
    }
  },
};

/** Calls `visit` for every object below the group at `address` (depth first, names in order). */
export function walkGroups(h: Hdf5File, address: number, visit: (path: string, address: number, isGroup: boolean) => void): void {
  const seenGroups = new Set<number>([address]);
  let objects = 0;
  const walk = (at: number, prefix: string, depth: number): void => {
    if (depth > MAX_DEPTH) h.fail(`groups nested more than ${MAX_DEPTH} deep`);
    for (const m of groupMembers(h, at)) {
      if (++objects > MAX_OBJECTS) h.fail(`more than ${MAX_OBJECTS} objects`);
      const path = prefix ? `${prefix}/${m.name}` : m.name;
      const isGroup = h.messages(m.address).some((x) => x.type === 0x11 || x.type === 0x02 || x.type === 0x06);
      visit(path, m.address, isGroup);
      if (isGroup) {
        if (seenGroups.has(m.address)) continue; // a hard link back up the tree
        seenGroups.add(m.address);
        walk(m.address, path, depth + 1);
      }
    }
  };
  walk(address, '', 0);
}

function describeHdf5(h: Hdf5File): ModelDescription {
  const path = h.file.path;
  const desc: ModelDescription = {
    path,
    format: 'hdf5',
    tensors: tensorList(path),
    leaves: Object.create(null) as Record<string, LeafValue>,
    warnings: warningList(),
  };
  for (const a of attributes(h, h.rootAddress)) {
    const v = attributeValue(h, a);
    if (v !== undefined) desc.leaves[a.name] = v;
  }
  const keras = kerasNames(h);
  const names = new Set<string>();
  walkGroups(h, h.rootAddress, (p, address, isGroup) => {
    if (isGroup) return;
    const info = datasetInfo(h, address);
    if (!info) return;
    if (info.type.kind !== 'numeric') {
      desc.warnings.push(`dataset '${p}' of ${info.type.kind === 'other' ? info.type.name : info.type.kind} elements is not compared`);
      return;
    }
    let name = keras.get(p) ?? p;
    if (names.has(name)) name = p;
    names.add(name);
    desc.tensors.push(describeDataset(h, address, name, info));
  });
  return desc;
}

/** Dataset path → the name Keras lists for it, when the file is a Keras HDF5 weight file. */
function kerasNames(h: Hdf5File): Map<string, string> {
  const out = new Map<string, string>();
  const rootMembers = groupMembers(h, h.rootAddress);
  const candidates: Array<[string, number]> = [['', h.rootAddress]];
  const mw = rootMembers.find((m) => m.name === 'model_weights');
  if (mw) candidates.push(['model_weights', mw.address]);
  for (const [prefix, address] of candidates) {
    const layers = stringList(h, address, 'layer_names');
    if (!layers) continue;
    const members = new Map(groupMembers(h, address).map((m) => [m.name, m.address]));
    for (const layer of layers) {
      const at = members.get(layer);
      if (at === undefined) continue;
      for (const w of stringList(h, at, 'weight_names') ?? []) {
        const p = [prefix, layer, w].filter(Boolean).join('/');
        out.set(p, w);
      }
    }
    break;
  }
  return out;
}

function stringList(h: Hdf5File, address: number, name: string): string[] | undefined {
  const a = attributes(h, address).find((x) => x.name === name);
  if (!a) return undefined;
  const v = attributeValue(h, a);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new DiffaiError(h.file.path, `HDF5: attribute '${name}' is not a list of strings`);
  return v as string[];
}
