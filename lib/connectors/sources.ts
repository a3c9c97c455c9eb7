/**
 * sourceFor(connector): the SourceConnector (lib/connectors/source.ts) of a connector, by its
 * type and retrieve method. Load the connector with its device and both pools' AE titles.
 */
import { devicePeer, type DeviceTlsFields } from '../devices/tls';
import { AppError } from '../errors';
import { DicomSource } from './dicom/source';
import { DicomwebSourceConnector } from './dicomweb/source';
import type { WebConnector } from './dicomweb/peer';
import type { SourceConnector } from './source';

export interface ConnectorForSource extends Omit<WebConnector, 'id' | 'maxAssociations'> {
  id: string;
  maxAssociations: number;
  type: 'DICOM' | 'DICOMWEB' | 'DB';
  retrieveMethod: 'CMOVE' | 'CGET' | 'WADORS';
  device: DeviceTlsFields | null;
  queryPool: { aeTitle: string };
  receivingPool: { aeTitle: string };
}

/** The include that loads what sourceFor needs. */
export const sourceInclude = { device: true, queryPool: true, receivingPool: true } as const;

export function sourceFor(c: ConnectorForSource): SourceConnector {
  if (c.type === 'DICOM') {
    if (!c.device) throw new AppError('CONFLICT', 'This connector has no PACS device');
    if (c.retrieveMethod !== 'CMOVE' && c.retrieveMethod !== 'CGET') throw new AppError('CONFLICT', 'A DICOM connector retrieves with C-MOVE or C-GET');
    return new DicomSource({
      peer: devicePeer(c.device),
      queryAe: c.queryPool.aeTitle,
      receivingAe: c.receivingPool.aeTitle,
      retrieveMethod: c.retrieveMethod,
    });
  }
  if (c.type === 'DICOMWEB') {
    if (c.retrieveMethod !== 'WADORS') throw new AppError('CONFLICT', 'A DICOMweb connector retrieves with WADO-RS');
    return new DicomwebSourceConnector(c);
  }
  throw new AppError('CONFLICT', `Connectors of type ${c.type} are not supported in this version`);
}
