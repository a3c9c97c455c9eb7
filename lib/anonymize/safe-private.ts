/**
 * Private attributes kept by the Retain Safe Private option (PS3.15 E.3.10).
 *
 * Deliberately short: numeric acquisition parameters that research pipelines need (diffusion
 * b-values and gradient directions, PET SUV scaling) and that cannot carry a name or an id. Each is
 * addressed by private creator + element offset, never by physical tag, because the block a vendor
 * lands in varies between files. Anything else private is removed unless a pool override keeps it
 * with a private selector such as "(0019,[SIEMENS MR HEADER],0C)".
 */
export interface SafePrivateEntry {
  group: number;
  creator: string;
  offset: number;
  meaning: string;
}

export const SAFE_PRIVATE: readonly SafePrivateEntry[] = [
  { group: 0x0019, creator: 'SIEMENS MR HEADER', offset: 0x0a, meaning: 'Number of images in mosaic' },
  { group: 0x0019, creator: 'SIEMENS MR HEADER', offset: 0x0b, meaning: 'Slice measurement duration' },
  { group: 0x0019, creator: 'SIEMENS MR HEADER', offset: 0x0c, meaning: 'Diffusion b-value' },
  { group: 0x0019, creator: 'SIEMENS MR HEADER', offset: 0x0d, meaning: 'Diffusion directionality' },
  { group: 0x0019, creator: 'SIEMENS MR HEADER', offset: 0x0e, meaning: 'Diffusion gradient direction' },
  { group: 0x0019, creator: 'SIEMENS MR HEADER', offset: 0x27, meaning: 'Diffusion b-matrix' },
  { group: 0x0019, creator: 'GEMS_ACQU_01', offset: 0xbb, meaning: 'Diffusion direction X' },
  { group: 0x0019, creator: 'GEMS_ACQU_01', offset: 0xbc, meaning: 'Diffusion direction Y' },
  { group: 0x0019, creator: 'GEMS_ACQU_01', offset: 0xbd, meaning: 'Diffusion direction Z' },
  { group: 0x0043, creator: 'GEMS_PARM_01', offset: 0x39, meaning: 'Diffusion b-value (slop_int_6..9)' },
  { group: 0x2001, creator: 'Philips Imaging DD 001', offset: 0x03, meaning: 'Diffusion b-factor' },
  { group: 0x7053, creator: 'Philips PET Private Group', offset: 0x00, meaning: 'SUV factor' },
  { group: 0x7053, creator: 'Philips PET Private Group', offset: 0x09, meaning: 'Activity concentration scale factor' },
];

/** Key used for private lookups: group, creator (trimmed, case-insensitive), offset. */
export function privateKey(group: number, creator: string, offset: number): string {
  return `${group}|${creator.trim().toUpperCase()}|${offset}`;
}
