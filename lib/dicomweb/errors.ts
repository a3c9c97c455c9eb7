/**
 * DICOMweb answers a few statuses the REST API never needs (406 Not Acceptable above all), so it
 * has its own small error type next to AppError. Messages never carry PHI: pool data is
 * de-identified, and messages name parameters and UIDs' roles, not values.
 */
export class DicomwebError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DicomwebError';
  }
}

export const notAcceptable = (message: string) => new DicomwebError(406, message);
export const badRequest = (message: string) => new DicomwebError(400, message);
export const notFoundDw = (message = 'Not found') => new DicomwebError(404, message);
