/**
 * The one place that loads dcmjs-dimse. Its package is a UMD bundle: Node's ESM loader cannot
 * see its named exports (they only exist on module.exports), while CommonJS, bundlers and
 * vitest can. Taking the namespace and preferring its `default` works in all of them.
 */
import * as dimseNamespace from 'dcmjs-dimse';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './uids';

type Dimse = typeof dimseNamespace;
export const dimse: Dimse = ((dimseNamespace as unknown as { default?: Dimse }).default ?? dimseNamespace) as Dimse;

// Implementation identity is global in dcmjs-dimse (A-ASSOCIATE-RQ and -AC): set it once.
dimse.Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
dimse.Implementation.setImplementationVersion(IMPLEMENTATION_VERSION_NAME);
