/**
 * Word pools for synthetic identities. Every person, place and number here is invented.
 * Telephone numbers use the 555-01xx range reserved for fiction.
 */
export const FAMILY_NAMES = [
  'HARTWELL', 'OKAFOR', 'LINDQVIST', 'BRENNAN', 'MORIARTY', 'CALLOWAY', 'FENWICK', 'ABERNATHY',
  'WHITLOCK', 'DRUMMOND', 'PEMBERTON', 'KESTREL', 'ASHCROFT', 'GALLOWAY', 'THORNBURY', 'VANCE',
] as const;

export const GIVEN_NAMES_F = ['MARGARET', 'ELOISE', 'PRIYA', 'HANNAH', 'ROSALIND', 'IMOGEN', 'TABITHA', 'NADIA'] as const;
export const GIVEN_NAMES_M = ['THEODORE', 'AUGUSTIN', 'RAFAEL', 'EDMUND', 'LUCIAN', 'BARNABY', 'CORMAC', 'DESMOND'] as const;
export const MIDDLE_INITIALS = ['A', 'B', 'C', 'J', 'L', 'M', 'R', 'S'] as const;

/**
 * Non-ASCII identities, written with SpecificCharacterSet ISO_IR 192 (UTF-8). All characters
 * are also in Latin-1, so a PACS that answers queries in ISO_IR 100 can represent them too:
 * decoding must honour whichever character set each response declares.
 */
export const NON_ASCII_PATIENTS = [
  { family: 'Müller-Lüdenscheidt', given: 'Zoë', sex: 'F' },
  { family: 'Núñez Ibáñez', given: 'José', sex: 'M' },
  { family: 'Østergård', given: 'Søren', sex: 'M' },
  { family: 'Lefèvre', given: 'Renée', sex: 'F' },
] as const;

export const STREETS = ['Linden Street', 'Harbour Road', 'Quarry Lane', 'Orchard Avenue', 'Kingfisher Way', 'Mill Close'] as const;
export const TOWNS = [
  'Ashford Vale, OR 97999',
  'Millbrook, VT 05999',
  'Port Elgin, ME 04999',
  'Cedar Hollow, WI 53999',
] as const;

export const INSTITUTIONS = [
  { name: 'St. Aldhelm General Hospital', address: '400 Infirmary Drive, Ashford Vale, OR 97999' },
  { name: 'Riverside Memorial Medical Center', address: '12 Embankment Road, Millbrook, VT 05999' },
] as const;

export const PHYSICIANS = [
  'QUINTERO^ALMA^^DR', 'BLACKWOOD^SILAS^^DR', 'IVERSEN^MAREN^^DR', 'OYELARAN^TUNDE^^DR', 'PRESCOTT^HELENA^^DR',
] as const;

export const OPERATORS = ['TECH^JORDAN', 'TECH^ALEXIS', 'RADTECH^MORGAN', 'TECH^SASHA'] as const;

export const CT_DESCRIPTIONS = ['CT CHEST W/O CONTRAST', 'CT ABDOMEN PELVIS W CONTRAST', 'CT HEAD W/O CONTRAST'] as const;
export const MR_DESCRIPTIONS = ['MR BRAIN W/WO CONTRAST', 'MR KNEE LEFT W/O CONTRAST', 'MR LUMBAR SPINE'] as const;
export const CT_SERIES = ['AXIAL 5.0 SOFT TISSUE', 'AXIAL 1.25 LUNG', 'CORONAL MPR 3.0'] as const;
export const MR_SERIES = ['AX T1 SE', 'AX T2 FSE', 'SAG FLAIR', 'AX DWI'] as const;
