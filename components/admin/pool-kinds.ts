/** What the two kinds of pool are for; shared by server pages and client forms (plain data). */
export type PoolKind = 'RESEARCH' | 'INFRASTRUCTURE';

export const KIND_HELP: Record<PoolKind, { label: string; help: string }> = {
  RESEARCH: {
    label: 'Research pool',
    help: 'Holds the de-identified studies of one research project, with its members and de-identification rules.',
  },
  INFRASTRUCTURE: {
    label: 'Infrastructure pool',
    help: 'Only an AE title a connector uses towards the PACS: the query AE (sends C-FIND) or the receiving AE (C-MOVE destination). It holds no research data; one pair serves every research pool.',
  },
};
