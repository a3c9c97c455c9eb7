/**
 * What the demo PACS holds (npm run demo, docker compose): synthetic CT and MR patients, plus one
 * ultrasound and one secondary-capture study with the patient's name and MRN burned into the
 * pixels, so a retrieval into a demo pool shows the quarantine at work and the owner's preview
 * has something to hold back.
 */
import { generateCorpus } from '../synthetic';
import { generateBurnedInStudies } from '../synthetic/burned-in';

export function demoPacsObjects(): { buffers: Buffer[]; mrns: string[]; burnedInMrns: string[] } {
  const corpus = generateCorpus({ seed: 2026, patients: 8, rows: 128, columns: 128, instancesPerSeries: 8 });
  const burned = generateBurnedInStudies({ seed: 2026 });
  return {
    buffers: [...corpus.instances, ...burned.instances].map((i) => i.buffer),
    mrns: corpus.patients.map((p) => p.patientId),
    burnedInMrns: burned.patients.map((p) => p.patientId),
  };
}
